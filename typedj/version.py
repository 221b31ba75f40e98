"""The installed typedj's version, read once from the package metadata (pyproject.toml),
in a module of its own so that code recording it needs nothing else of the package."""

from importlib import metadata

try:
    __version__ = metadata.version("typedj")
except metadata.PackageNotFoundError:  # run from a source tree that is not installed
    __version__ = "0+unknown"
