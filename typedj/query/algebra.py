"""The heading rules of the query algebra: which attributes a join, union, projection or
aggregation keeps, which of them form the primary key, what a ``new="text"`` argument means.

One set of rules for the runtime (``query/expression.py``, on ``heading.Attribute``) and
the mypy plugin (``mypy_plugin``, on its static attributes): it imports nothing of typedj,
so mypy can load it, and works on anything with a ``name`` and an ``in_key``. Each side
turns the answers into its own attributes (the runtime marks a column nullable, the
plugin makes its type optional) and its own errors.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection, Iterable, Sequence
from typing import Protocol, TypeVar


class Attr(Protocol):
    @property
    def name(self) -> str: ...

    @property
    def in_key(self) -> bool: ...


A = TypeVar("A", bound=Attr)

IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
SQL_WORDS = frozenset({
    "null", "true", "false", "current_date", "current_time", "current_timestamp", "current_user",
    "localtime", "localtimestamp", "utc_date", "utc_time", "utc_timestamp",
})
"""Bare words that are SQL values, not attribute names, in ``new="<SQL>"``."""


def _never(attr: Attr) -> bool:
    return False


def join_key(a: Iterable[Attr], b: Iterable[Attr], *, outer: bool = False) -> set[str]:
    """DataJoint's key rule: a key that determines the other's keeps it; else their union.

    A left join requires ``a`` to determine ``b``, so ``a``'s key identifies its rows; when
    both determine each other, ``a`` wins.
    """
    a, b = list(a), list(b)
    a_key = {x.name for x in a if x.in_key}
    b_key = {x.name for x in b if x.in_key}
    if outer or b_key <= {x.name for x in a}:
        return a_key
    if a_key <= {x.name for x in b}:
        return b_key
    return a_key | b_key


def join(a: Iterable[A], b: Iterable[A], *, outer: bool = False) -> list[tuple[A, bool, bool]]:
    """``a * b`` (``outer``: ``a.extend(b)``): each attribute once, ``a``'s first, as
    ``(attribute, in key, NULL where unmatched)``."""
    a, b = list(a), list(b)
    key = join_key(a, b, outer=outer)
    a_names = {x.name for x in a}
    seen: set[str] = set()
    out: list[tuple[A, bool, bool]] = []
    for attr in [*a, *b]:
        if attr.name not in seen:
            seen.add(attr.name)
            out.append((attr, attr.name in key, outer and attr.name not in a_names))
    return out


def same_key(a: Iterable[Attr], b: Iterable[Attr]) -> bool:
    """Whether a union's operands share their primary key (its precondition)."""
    return {x.name for x in a if x.in_key} == {x.name for x in b if x.in_key}


def union(a: Iterable[A], b: Iterable[A]) -> list[tuple[A, bool]]:
    """``a + b``: ``a``'s attributes then ``b``'s others, as ``(attribute, NULL where one side
    lacks it)``: a secondary attribute of one side only is NULL in the other side's rows."""
    a, b = list(a), list(b)
    a_names, b_names = {x.name for x in a}, {x.name for x in b}
    out = [(x, not x.in_key and x.name not in b_names) for x in a]
    return out + [(x, True) for x in b if x.name not in a_names]


def projected(
    heading: Iterable[A],
    wanted: Collection[str],
    excluded: Collection[str],
    *,
    keep_all: bool,
    renamed_from: Collection[str] = (),
    hidden: Callable[[A], bool] = _never,
) -> list[A]:
    """The attributes ``proj`` keeps: the key, the ``wanted``, and with ``...`` (or when it
    only drops ``-name``s) every visible one not ``excluded``; an attribute renamed to a new
    name goes unless it is also wanted under its own."""
    keep_all = keep_all or bool(excluded and not wanted)
    return [
        a for a in heading
        if not (a.name in renamed_from and a.name not in wanted)
        and (a.in_key or a.name in wanted or (keep_all and not hidden(a) and a.name not in excluded))
    ]


def aggregated(
    heading: Iterable[A], wanted: Collection[str], *, keep_all: bool, hidden: Callable[[A], bool] = _never
) -> list[A]:
    """The attributes of the aggregated query that ``aggr`` keeps: its key, the ``wanted``
    secondary ones, or with ``...`` every visible one. The computed ones follow, outside the key."""
    return [a for a in heading if a.in_key or (not hidden(a) and (a.name in wanted or keep_all))]


def missing_key(heading: Iterable[Attr], other: Iterable[Attr]) -> list[str]:
    """The key attributes of ``heading`` that ``other`` lacks: a left join and ``aggr`` need none."""
    names = {x.name for x in other}
    return [x.name for x in heading if x.in_key and x.name not in names]


def promoted(heading: Iterable[A], names: Collection[str]) -> list[tuple[A, bool]]:
    """``q * U(names)``: the same attributes, ``names`` added to the key, as ``(attribute, in key)``."""
    return [(a, a.in_key or a.name in names) for a in heading]


def repeated(names: Sequence[str]) -> list[str]:
    """Names that appear more than once in a result (an error on both sides)."""
    return sorted({n for n in names if names.count(n) > 1})


def source(text: str, names: Collection[str]) -> str:
    """What ``new="text"`` is: ``"rename"`` of an attribute, ``"unknown"`` (an identifier that
    is neither an attribute nor a SQL word), or ``"expression"`` (SQL, whose names are
    checked with ``sqltext.unknown``)."""
    text = text.strip()
    if IDENTIFIER.match(text):
        if text in names:
            return "rename"
        if text.lower() not in SQL_WORDS:
            return "unknown"
    return "expression"
