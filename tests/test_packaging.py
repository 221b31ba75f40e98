"""The package's metadata: one version, the MIT license, the optional extras."""

from __future__ import annotations

import tomllib
from importlib import metadata
from pathlib import Path

import typedj as tj

ROOT = Path(__file__).resolve().parent.parent
PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]


def test_the_version_is_written_once_in_pyproject_and_read_from_the_metadata() -> None:
    assert tj.__version__ == metadata.version("typedj") == PROJECT["version"]


def test_the_license_file_is_mit_as_the_metadata_says() -> None:
    text = (ROOT / "LICENSE").read_text()
    assert text.startswith("MIT License\n")
    assert "Permission is hereby granted, free of charge" in text
    assert PROJECT["license"] == {"text": "MIT"}
    assert "License :: OSI Approved :: MIT License" in PROJECT["classifiers"]
    assert "Typing :: Typed" in PROJECT["classifiers"] and (ROOT / "typedj" / "py.typed").is_file()
