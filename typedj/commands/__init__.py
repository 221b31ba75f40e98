"""Subcommands of the ``typedj`` command that are not part of another module."""
