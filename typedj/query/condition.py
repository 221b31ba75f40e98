"""Restriction conditions: what may follow ``&`` and ``-``, compiled to SQL with parameters."""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any
from uuid import UUID

from .. import codecs
from ..columns import Column, Comparison, Order
from ..errors import QueryError, UnknownAttributeError
from ..heading import Attribute, Heading
from . import sqltext
from .compiler import Compiler, Select
from .logic import AndList as AndList
from .logic import Not as Not
from .operand import Node, Operand, as_node, check_lineage


class Top:
    """The first ``limit`` rows in ``order_by`` order (after skipping ``offset``).

    ``q & Top(5, order_by="score DESC")`` is a query like any other: further
    restrictions apply to those five rows. ``order_by`` is ``"KEY"`` (the primary key),
    an attribute name with an optional ``DESC``/``ASC``, or a list of them; the primary
    key breaks ties so the choice is deterministic. ``limit=None`` keeps every row
    after ``offset``.
    """

    __slots__ = ("limit", "offset", "order_by")

    def __init__(self, limit: int | None = 1, order_by: Any = "KEY", offset: int = 0):
        if limit is not None and (not isinstance(limit, int) or limit < 0):
            raise QueryError(f"Top: limit must be a non-negative integer or None, got {limit!r}")
        if not isinstance(offset, int) or offset < 0:
            raise QueryError(f"Top: offset must be a non-negative integer, got {offset!r}")
        self.limit = limit
        self.offset = offset
        self.order_by: tuple[str, ...] = tuple(map(str, _order_items(order_by)))

    def __repr__(self) -> str:
        return f"Top({self.limit}, order_by={list(self.order_by)}, offset={self.offset})"


def order_terms(order_by: Any, heading: Heading, quote: Any, *, operation: str = "order_by",
                term: Any = None) -> list[str]:
    """``"KEY"``, ``"name"``, ``"name DESC"``, or a list of them, as ORDER BY terms
    (``term``: the dialect's ``order_term``, which places NULLs as MySQL does)."""
    if order_by is None:
        return []
    items = _order_items(order_by)
    terms: list[str] = []
    for item in items:
        parts = str(item).split()
        if not parts:
            continue
        name, direction = parts[0], (parts[1].upper() if len(parts) > 1 else "")
        if direction not in {"", "ASC", "DESC"} or len(parts) > 2:
            raise QueryError(f"{operation}: cannot read {item!r}; use 'name', 'name DESC' or 'KEY'")
        names = heading.primary_key if name == "KEY" else [name]
        for n in names:
            if n not in heading:
                raise UnknownAttributeError(
                    f"{operation}: {n!r} is not an attribute of the query; it has {heading.names}",
                    attribute=n,
                )
            plain = quote(n) + (f" {direction}" if direction else "")
            terms.append(term(quote(n), direction) if term else plain)
    return terms


def _order_items(order_by: Any) -> list[Any]:
    """One term (a name, ``"name DESC"``, a column, ``column.desc()``) or a sequence of them."""
    if isinstance(order_by, str | Column | Order):
        return [order_by]
    return list(order_by)


def _top_order(top: Top, heading: Heading, quote: Any, term: Any = None) -> list[str]:
    terms = order_terms(list(top.order_by), heading, quote, operation="Top", term=term)
    named = {t.split()[0] for t in terms}
    return terms + [quote(k) for k in heading.primary_key if quote(k) not in named]


def compile_top(top: Top, heading: Heading, inner: Select, c: Compiler) -> Select:
    """``inner`` with ORDER BY and LIMIT: its first rows, as a closed statement."""
    select = c.wrap(inner) if (inner.closed and not inner.grouped) or inner.order_by else inner.copy()
    select.order_by = _top_order(top, heading, c.dialect.quote, c.dialect.order_term)
    select.limit = top.limit
    select.offset = top.offset or None
    if select.limit is None and select.offset is None:
        select.limit = 2**63 - 1  # still closed: later conditions must not reach inside
    return select


def _top_condition(top: Top, heading: Heading, scope: Select, c: Compiler) -> tuple[str, list[Any]]:
    """Top as a condition (inside ``Not`` or an AND-list): key IN the first rows of ``scope``."""
    first = compile_top(top, heading, scope, c)
    key = heading.primary_key
    if not key:
        return f"EXISTS ({first.sql(c.dialect)})", first.params()
    inner = first.sql(c.dialect, key)
    sub = f"SELECT * FROM ({inner}) AS {c.alias()}"
    lhs = ", ".join(scope.columns[n] for n in key)
    return (f"({lhs}) IN ({sub})" if len(key) > 1 else f"{lhs} IN ({sub})"), first.params()


def _as_node(cond: Any) -> Node | None:
    if isinstance(cond, Operand) or (isinstance(cond, type) and hasattr(cond, "_query")):
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
    """Every key is an attribute, and every value could be one of that attribute's values."""
    unknown = [k for k in mapping if k not in heading]
    if unknown:
        raise UnknownAttributeError(
            f"restriction by {what} names {sorted(unknown)}, which are not attributes of the "
            f"query; its attributes are {heading.names}",
            attribute=unknown[0],
        )
    for name, value in mapping.items():
        attr = heading[name]
        if not _fits(attr, _native(value)):
            raise QueryError(
                f"restriction by {what}: {name!r} is {attr.type_name}, and {value!r} "
                f"({type(value).__name__}) can never equal one of its values",
                attribute=name,
            )


def _parses(parse: Any, value: Any) -> bool:
    try:
        parse(value)
    except (ValueError, TypeError, ArithmeticError):
        return False
    return True


def _fits(attr: Attribute, value: Any) -> bool:
    """Whether ``value`` can be compared with ``attr``: the runtime twin of the plugin's check.

    Text is accepted where the server converts it (dates, decimals, UUIDs), as it is
    in DataJoint; numbers are not accepted as text.
    """
    if value is None or not attr.sql_type:  # a computed attribute: its type is the server's
        return True
    kind = attr.kind
    if kind == "int":
        return isinstance(value, int) or (isinstance(value, float) and value.is_integer())
    if kind in {"float", "bool"}:
        return isinstance(value, int | float)
    if kind == "decimal":
        numeric = isinstance(value, int | float | Decimal)
        return numeric or (isinstance(value, str) and _parses(Decimal, value))
    if kind == "str":
        return isinstance(value, str)
    if kind == "enum":
        return isinstance(value, str) and value in attr.type.members
    if kind == "date":
        return isinstance(value, date) or (isinstance(value, str) and _parses(date.fromisoformat, value))
    if kind == "datetime":
        return isinstance(value, date) or (isinstance(value, str) and _parses(datetime.fromisoformat, value))
    if kind == "time":
        clock = isinstance(value, time | timedelta)
        return clock or (isinstance(value, str) and _parses(time.fromisoformat, value))
    if kind == "uuid":
        return isinstance(value, UUID) or (isinstance(value, str) and _parses(UUID, value))
    return True


def check_condition(cond: Any, heading: Heading, *, semantic_check: bool = True) -> None:
    """Names and lineages are checked when the restriction is written, not when it runs.

    ``semantic_check=False`` lets a query restrict by another whose namesakes come from
    elsewhere, matching them by name alone (datajoint-python's ``semantic_check=False``).
    """
    if _is_row(cond):
        return  # a row, or the key make() receives, restricts by the attributes it shares
    if isinstance(cond, Comparison):
        if cond.column.name not in heading:
            raise UnknownAttributeError(
                f"restriction: {cond.column!r} is not an attribute of the query; it has {heading.names}",
                attribute=cond.column.name,
            )
    elif isinstance(cond, Mapping):
        check_mapping(heading, cond, "a mapping")
    elif isinstance(cond, Top):
        order_terms(list(cond.order_by), heading, str, operation="Top")
    elif isinstance(cond, str):
        bad = sqltext.unknown(cond, heading.all_names)
        if bad:
            raise UnknownAttributeError(
                f"restriction {cond!r}: {bad} are not attributes of the query; it has {heading.names}",
                attribute=bad[0],
            )
    elif isinstance(cond, Not):
        check_condition(cond.condition, heading, semantic_check=semantic_check)
    elif isinstance(cond, list | tuple):
        for member in cond:
            check_condition(member, heading, semantic_check=semantic_check)
    elif semantic_check and (node := _as_node(cond)) is not None:
        check_lineage(heading, node.heading, [n for n in heading.all_names if n in node.heading], "restrict")


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
    if isinstance(cond, Top):
        return _top_condition(cond, heading, select, c)
    if isinstance(cond, Comparison):
        return _comparison(cond, heading, select, c)
    if isinstance(cond, AndList):
        return _all_of(cond, heading, select, c)
    node = _as_node(cond)
    if node is not None:
        return _semijoin(node, heading, select, c)
    if _is_row(cond):
        key = {k: cond.__dict__[k] for k in type(cond)._query().heading.primary_key if k in cond.__dict__}
        return _mapping(key, heading, select, c, q, strict=False)
    if isinstance(cond, Mapping):
        check_mapping(heading, cond, "a mapping")
        return _mapping(cond, heading, select, c, q, strict=True)
    rows = _rows_of(cond, heading)
    if rows is not None:
        return _any_of(rows, heading, select, c)
    if isinstance(cond, list | tuple | set | frozenset):
        members = [{m.column.name: m.value} if isinstance(m, Comparison) and m.op == "==" else m
                   for m in cond]
        return _any_of(members, heading, select, c)
    raise QueryError(f"cannot restrict by {type(cond).__name__}: {cond!r}")


def _comparison(cond: Comparison, heading: Heading, select: Select, c: Compiler) -> tuple[str, list[Any]]:
    """As the mapping ``{name: value}`` for ``==`` (and a list of them for ``in_``)."""
    name = cond.column.name
    check_condition(cond, heading)
    if cond.op == "==":
        return _mapping({name: cond.value}, heading, select, c, c.dialect.placeholder, strict=True)
    if cond.op == "in":
        return _any_of([{name: v} for v in cond.value], heading, select, c)
    value = _native(cond.value)
    column = select.columns[name]
    if value is None and cond.op == "!=":
        return f"({column} IS NOT NULL)", []
    encode = codecs.encoder(heading[name], codecs.Context("", ""))
    param = encode([value])[0] if encode else value
    return f"({column} {cond.sql_operator} {c.dialect.placeholder})", [param]


def _all_of(conds: AndList, heading: Heading, select: Select, c: Compiler) -> tuple[str, list[Any]]:
    """Each member sees the rows the members before it left (which matters only for ``Top``)."""
    if not conds:
        return "TRUE", []
    scope = select.copy()
    parts: list[str] = []
    params: list[Any] = []
    for member in conds:
        sql, ps = compile_condition(member, heading, scope, c)
        scope.add_condition(sql, ps)
        parts.append(sql)
        params.extend(ps)
    return "(" + " AND ".join(parts) + ")", params


def _rows_of(cond: Any, heading: Heading) -> list[dict[str, Any]] | None:
    """numpy records and pandas DataFrames restrict by any of their rows.

    Only the columns the query has are compared (a fetched frame often carries
    more); a table of rows that shares no column with the query is an error.
    """
    names = getattr(getattr(cond, "dtype", None), "names", None)
    if names:
        import numpy as np

        columns = list(names)
        records = [dict(zip(columns, r, strict=True)) for r in np.atleast_1d(cond).tolist()]
    elif type(cond).__name__ == "DataFrame" and hasattr(cond, "to_dict"):
        frame = cond.reset_index() if any(n is not None for n in cond.index.names) else cond
        columns = [str(n) for n in frame.columns]
        records = frame.to_dict("records")
    else:
        return None
    shared = [n for n in columns if n in heading]
    if not shared:
        raise UnknownAttributeError(
            f"restriction by a table of rows: none of its columns {columns} is an attribute of "
            f"the query; its attributes are {heading.names}",
            attribute=columns[0] if columns else None,
        )
    return [{n: _native(r[n]) for n in shared} for r in records]


def _native(value: Any) -> Any:
    """numpy scalars as Python values; NaN (stored as NULL, pandas' missing value) as None."""
    item = getattr(value, "item", None)
    if item is not None and not hasattr(value, "__len__"):
        value = item()
    if isinstance(value, float) and math.isnan(value):
        return None
    return value


def _any_of(members: list[Any], heading: Heading, select: Select, c: Compiler) -> tuple[str, list[Any]]:
    if not members:
        return "FALSE", []
    if all(isinstance(m, Mapping) for m in members):
        fast = _in_list(members, heading, select, c)
        if fast is not None:
            return fast
    parts = [compile_condition(m, heading, select, c) for m in members]
    return "(" + " OR ".join(p for p, _ in parts) + ")", [v for _, ps in parts for v in ps]


def _in_list(
    members: list[Mapping[str, Any]], heading: Heading, select: Select, c: Compiler
) -> tuple[str, list[Any]] | None:
    """Many mappings over the same attributes: one ``(a, b) IN ((..), (..))``."""
    names = list(members[0])
    if len(members) < 2 or not names or any(list(m) != names for m in members):
        return None
    for m in members:
        check_mapping(heading, m, "a mapping")
    columns = {n: [_native(m[n]) for m in members] for n in names}
    if any(v is None for values in columns.values() for v in values):
        return None
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
        value = _native(value)
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
    shared = [n for n in heading.all_names if n in node.heading]
    inner = node.compile(c)
    if not shared:
        return f"EXISTS ({inner.sql(c.dialect)})", inner.params()
    lhs = ", ".join(select.columns[n] for n in shared)
    if inner.limit is not None or inner.offset is not None or inner.distinct:
        inner = c.wrap(inner)  # MySQL refuses LIMIT directly inside IN (...)
    sub = inner.sql(c.dialect, shared)
    if len(shared) > 1:
        lhs = f"({lhs})"
    return f"{lhs} IN ({sub})", inner.params()
