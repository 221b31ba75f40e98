"""How restriction conditions combine, below the modules that build or compile them:
``AndList`` (all of them), a plain list (any of them), ``Not`` (the negation)."""

from __future__ import annotations

from typing import Any


class AndList(list[Any]):
    """Conditions that must all hold (a plain list means *any* of them)."""


class Not:
    """The negation of a condition: ``q & Not(c)`` is ``q - c``."""

    __slots__ = ("condition",)

    def __init__(self, condition: Any):
        self.condition = condition

    def __repr__(self) -> str:
        return f"Not({self.condition!r})"
