"""Restriction conditions: what may follow ``&`` and ``-``, compiled to SQL with parameters."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from .. import codecs
from ..errors import QueryError, UnknownAttributeError
from ..heading import Heading
from .compiler import Compiler, Select

if TYPE_CHECKING:
    from .expression import Node


class AndList(list[Any]):
    """Conditions that must all hold (a plain list means *any* of them)."""


class Not:
    """The negation of a condition: ``q & Not(c)`` is ``q - c``."""

    __slots__ = ("condition",)

    def __init__(self, condition: Any):
        self.condition = condition

    def __repr__(self) -> str:
        return f"Not({self.condition!r})"


def _as_node(cond: Any) -> Node | None:
    from .expression import Query, as_node

    if isinstance(cond, Query) or (isinstance(cond, type) and hasattr(cond, "_query")):
        return as_node(cond)
    return None


def _is_row(cond: Any) -> bool:
    return hasattr(type(cond), "_query") and not isinstance(cond, type)


def needs_plain(cond: Any) -> bool:
    """String conditions name attributes directly, so renamed columns must be real columns."""
    if isinstance(cond, str):
        return True
    if isinstance(cond, Not):
        return needs_plain(cond.condition)
    if isinstance(cond, list | tuple):
        return any(needs_plain(c) for c in cond)
    return False


def check_mapping(heading: Heading, mapping: Mapping[str, Any], what: str) -> None:
    unknown = [k for k in mapping if k not in heading]
    if unknown:
        raise UnknownAttributeError(
            f"restriction by {what} names {sorted(unknown)}, which are not attributes of the "
            f"query; its attributes are {heading.names}",
            attribute=unknown[0],
        )


def compile_condition(cond: Any, heading: Heading, select: Select, c: Compiler) -> tuple[str, list[Any]]:
    """SQL text and parameters of ``cond`` against ``select``'s output columns."""
    q = c.dialect.placeholder
    if cond is True:
        return "TRUE", []
    if cond is False or cond is None:
        return "FALSE", []
    if isinstance(cond, Not):
        sql, params = compile_condition(cond.condition, heading, select, c)
        return f"NOT ({sql})", params
    if isinstance(cond, str):
        return f"({c.dialect.sql_text(cond)})", []
    if isinstance(cond, AndList):
        parts = [compile_condition(x, heading, select, c) for x in cond]
        if not parts:
            return "TRUE", []
        return "(" + " AND ".join(p for p, _ in parts) + ")", [v for _, ps in parts for v in ps]
    node = _as_node(cond)
    if node is not None:
        return _semijoin(node, heading, select, c)
    if _is_row(cond):
        key = {k: cond.__dict__[k] for k in type(cond)._query().heading.primary_key if k in cond.__dict__}
        return _mapping(key, heading, select, c, q, strict=False)
    if isinstance(cond, Mapping):
        check_mapping(heading, cond, "a mapping")
        return _mapping(cond, heading, select, c, q, strict=True)
    rows = _rows_of(cond)
    if rows is not None:
        return compile_condition(rows, heading, select, c)
    if isinstance(cond, list | tuple | set | frozenset):
        return _any_of(list(cond), heading, select, c)
    raise QueryError(f"cannot restrict by {type(cond).__name__}: {cond!r}")


def _rows_of(cond: Any) -> list[dict[str, Any]] | None:
    """numpy records and pandas DataFrames restrict by any of their rows."""
    names = getattr(getattr(cond, "dtype", None), "names", None)
    if names:
        import numpy as np

        records = np.atleast_1d(cond).tolist()
        return [dict(zip(names, r, strict=True)) for r in records]
    if type(cond).__name__ == "DataFrame" and hasattr(cond, "to_dict"):
        frame = cond.reset_index() if any(n is not None for n in cond.index.names) else cond
        result: list[dict[str, Any]] = frame.to_dict("records")
        return result
    return None


def _any_of(members: list[Any], heading: Heading, select: Select, c: Compiler) -> tuple[str, list[Any]]:
    if not members:
        return "FALSE", []
    if all(isinstance(m, Mapping) for m in members):
        fast = _in_list(members, heading, select, c)
        if fast is not None:
            return fast
    parts = [compile_condition(m, heading, select, c) for m in members]
    return "(" + " OR ".join(p for p, _ in parts) + ")", [v for _, ps in parts for v in ps]


def _in_list(members: list[Mapping[str, Any]], heading: Heading, select: Select, c: Compiler) -> tuple[str, list[Any]] | None:
    """Many mappings over the same attributes: one ``(a, b) IN ((..), (..))``."""
    names = list(members[0])
    if len(members) < 2 or not names or any(list(m) != names for m in members):
        return None
    for m in members:
        check_mapping(heading, m, "a mapping")
    if any(v is None for m in members for v in m.values()):
        return None
    columns = {n: [m[n] for m in members] for n in names}
    for n in names:
        encode = codecs.encoder(heading[n], codecs.Context("", ""))
        if encode:
            columns[n] = encode(columns[n])
    one = "(" + ", ".join([c.dialect.placeholder] * len(names)) + ")"
    lhs = "(" + ", ".join(select.columns[n] for n in names) + ")"
    params = [columns[n][i] for i in range(len(members)) for n in names]
    return c.dialect.in_rows(lhs, one, len(members)), params


def _mapping(
    mapping: Mapping[str, Any], heading: Heading, select: Select, c: Compiler, q: str, *, strict: bool
) -> tuple[str, list[Any]]:
    parts: list[str] = []
    params: list[Any] = []
    for name, value in mapping.items():
        if name not in heading:
            if strict:
                raise UnknownAttributeError(f"unknown attribute {name!r}", attribute=name)
            continue
        column = select.columns[name]
        if value is None:
            parts.append(f"{column} IS NULL")
            continue
        encode = codecs.encoder(heading[name], codecs.Context("", ""))
        parts.append(f"{column} = {q}")
        params.append(encode([value])[0] if encode else value)
    if not parts:
        return "TRUE", []
    return "(" + " AND ".join(parts) + ")", params


def _semijoin(node: Node, heading: Heading, select: Select, c: Compiler) -> tuple[str, list[Any]]:
    from .expression import check_lineage

    other = node.heading
    shared = [n for n in heading.all_names if n in other]
    check_lineage(heading, other, shared, "restrict")
    inner = node.compile(c)
    if not shared:
        return f"EXISTS ({inner.sql(c.dialect)})", inner.params()
    lhs = ", ".join(select.columns[n] for n in shared)
    sub = inner.sql(c.dialect, shared) if not inner.distinct else c.wrap(inner).sql(c.dialect, shared)
    if len(shared) > 1:
        lhs = f"({lhs})"
    return f"{lhs} IN ({sub})", inner.params()


def shared_names(a: Iterable[str], b: Heading) -> list[str]:
    return [n for n in a if n in b]
