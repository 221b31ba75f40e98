"""Markers for defaults: none given (``MISSING``), or one the server computes.

A leaf module: the heading, the dialects and the declaration vocabulary all need them.
"""

from __future__ import annotations

from typing import Any


class _Missing:
    """The absence of a default (``None`` is a real default: SQL NULL)."""

    _instance: _Missing | None = None

    def __new__(cls) -> _Missing:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "MISSING"

    def __bool__(self) -> bool:
        return False


MISSING: Any = _Missing()


class _SqlLiteral(str):
    """A default the server computes (unquoted in DDL)."""

    __slots__ = ()


CURRENT_TIMESTAMP = _SqlLiteral("CURRENT_TIMESTAMP")
"""Default for ``datetime`` attributes: the server's time at insert."""
