"""Errors of the object stores."""

from __future__ import annotations

from ..errors import TypedjError


class StoreError(TypedjError):
    """An object store is misconfigured or unreachable, or an object is missing or corrupt."""


class MissingObjectError(StoreError):
    """A referenced object is not in its store."""


class CorruptObjectError(StoreError):
    """An object's content does not match the checksum recorded with its reference."""
