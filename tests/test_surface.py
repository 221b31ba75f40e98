"""A table class is the query of its rows: its class-level surface is ``Query``'s (issue 14.2).

``TableMeta`` forwards Query's methods from one list; the few it declares itself (to keep
the row type: ``Session & key`` is a ``Query[Session]``) must keep Query's signatures and
overloads, with ``TT`` (the class's row type) for Query's ``R``. These tests make the two
fail to drift: a method added to Query and not to tables, or changed on one side only.
"""

from __future__ import annotations

import inspect
import re
import typing
from typing import Any

import pytest

from typedj.query.expression import Query
from typedj.table import TableMeta

OPERATORS = ("__and__", "__sub__", "__mul__", "__rmul__", "__add__", "__radd__", "__len__", "__bool__",
             "__iter__", "__contains__", "_repr_html_")
QUERY_ONLY = {"compile": "a table class runs its query through its connection, not a compiler of its own",
              "connection": "a table class has its schema's connection (cls._schema.connection)"}


def _query(name: str) -> Any:
    """Query's own member ``name``, wherever in its bases it is defined."""
    return inspect.getattr_static(Query, name)


def _surface() -> list[str]:
    public = [n for klass in Query.__mro__ if klass.__module__.startswith("typedj.")
              for n in vars(klass) if not n.startswith("_")]
    return sorted({*public, *OPERATORS} - set(QUERY_ONLY))


SURFACE = _surface()


def _forwarded(name: str) -> bool:
    return hasattr(vars(TableMeta)[name], "__wrapped__")


def _shape(sig: inspect.Signature) -> tuple[list[tuple[str, Any, Any, str]], str]:
    """Parameters after self/cls and the return annotation, with ``TT`` read as ``R``."""
    def text(annotation: Any) -> str:
        return re.sub(r"\bTT\b", "R", str(annotation))

    params = [(p.name, p.kind, p.default, text(p.annotation)) for p in list(sig.parameters.values())[1:]]
    return params, text(sig.return_annotation)


def test_every_query_method_is_on_table_classes() -> None:
    missing = [n for n in SURFACE if n not in vars(TableMeta)]
    assert missing == [], f"add these to TableMeta's list of forwarded methods: {missing}"
    assert "join" in SURFACE and "__mul__" in SURFACE and "fetch" in SURFACE  # the list is not empty


def test_forwarded_methods_are_querys_own() -> None:
    forwarded = [n for n in SURFACE if _forwarded(n)]
    assert {"join", "proj", "aggr", "to_dicts", "head", "tail", "delete", "__mul__"} <= set(forwarded)
    for name in forwarded:
        method = vars(TableMeta)[name]
        assert method.__wrapped__ is _query(name), name
        assert inspect.signature(method) == inspect.signature(_query(name)), name
        assert method.__doc__ == _query(name).__doc__, name


@pytest.mark.parametrize("name", [n for n in SURFACE if not _forwarded(n)])
def test_declared_methods_keep_querys_signature(name: str) -> None:
    ours, theirs = vars(TableMeta)[name], _query(name)
    if isinstance(theirs, property):
        assert isinstance(ours, property), name
        ours, theirs = ours.fget, theirs.fget
    assert _shape(inspect.signature(ours)) == _shape(inspect.signature(theirs))
    overloads = [_shape(inspect.signature(f)) for f in typing.get_overloads(ours)]
    assert overloads == [_shape(inspect.signature(f)) for f in typing.get_overloads(theirs)]


def test_the_shape_sees_a_difference() -> None:
    """The comparison above fails on a renamed parameter, a default or a return type."""
    P = inspect.Parameter

    def sig(first: str, name: str, default: Any, returns: str) -> inspect.Signature:
        return inspect.Signature(
            [P(first, P.POSITIONAL_OR_KEYWORD), P(name, P.POSITIONAL_OR_KEYWORD, annotation="int"),
             P("limit", P.KEYWORD_ONLY, default=default, annotation="int | None")],
            return_annotation=returns,
        )

    query = _shape(sig("self", "x", None, "list[R]"))
    assert query == _shape(sig("cls", "x", None, "list[TT]"))
    assert query != _shape(sig("cls", "x", 5, "list[TT]"))
    assert query != _shape(sig("cls", "y", None, "list[TT]"))
    assert query != _shape(sig("cls", "x", None, "list[R] | None"))
