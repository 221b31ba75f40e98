"""Immutable query expressions: a table class is the query of its rows.

Nodes compute their heading when built, so a wrong attribute name fails where it is
written, not when the query runs. ``Query`` wraps a node with the operators and the
result methods.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Generic, Literal, TypeVar, overload

from ..columns import names as _column_names
from ..errors import QueryError, UnknownAttributeError
from ..heading import Attribute, Heading
from . import algebra, sqltext
from .compiler import Compiler, Select
from .condition import Top, check_condition, compile_condition, compile_top, needs_plain

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

    from ..backend.connection import Connection

R = TypeVar("R")

UNKNOWN_LINEAGE = "?"
"""Lineage of attributes of schemas that have no ``~lineage`` table: never checked."""

_COUNT_STAR = re.compile(r"\bcount\s*\(\s*\*\s*\)", re.IGNORECASE)


class Node:
    """A query expression. ``heading`` is the result's attributes (the key first)."""

    heading: Heading

    def compile(self, c: Compiler) -> Select:
        raise NotImplementedError

    @property
    def connection(self) -> Connection:
        raise NotImplementedError

    def describe(self) -> str:
        raise NotImplementedError


@dataclass(frozen=True, eq=False)
class TableNode(Node):
    schema: str
    table: str
    heading: Heading
    conn: Any

    def compile(self, c: Compiler) -> Select:
        return c.table(self.schema, self.table, self.heading.all_names, self.heading.all_names)

    @property
    def connection(self) -> Connection:
        conn: Connection = self.conn
        return conn

    def describe(self) -> str:
        return f"{self.schema}.{self.table}"


@dataclass(frozen=True, eq=False)
class Restrict(Node):
    child: Node
    condition: Any
    negate: bool
    heading: Heading

    def compile(self, c: Compiler) -> Select:
        inner = self.child.compile(c)
        if isinstance(self.condition, Top) and not self.negate:
            return compile_top(self.condition, self.heading, inner, c)
        select = c.open(inner, need_plain=needs_plain(self.condition))
        sql, params = compile_condition(self.condition, self.heading, select, c)
        select.add_condition(f"NOT ({sql})" if self.negate else sql, params)
        return select

    @property
    def connection(self) -> Connection:
        return self.child.connection

    def describe(self) -> str:
        return f"({self.child.describe()} {'-' if self.negate else '&'} {self.condition!r})"


@dataclass(frozen=True, eq=False)
class Join(Node):
    left: Node
    right: Node
    heading: Heading
    outer: bool = False

    def compile(self, c: Compiler) -> Select:
        return c.join(self.left.compile(c), self.right.compile(c), outer=self.outer)

    @property
    def connection(self) -> Connection:
        return self.left.connection

    def describe(self) -> str:
        return f"({self.left.describe()} * {self.right.describe()})"


Column = tuple[str, str, bool]
"""``(output name, source attribute or SQL expression, is expression)``."""


def _select_columns(inner: Select, columns: Sequence[Column], c: Compiler) -> dict[str, str]:
    return {
        name: (f"({c.dialect.sql_text(source)})" if is_expr else inner.columns[source])
        for name, source, is_expr in columns
    }


@dataclass(frozen=True, eq=False)
class Project(Node):
    child: Node
    columns: tuple[Column, ...]
    heading: Heading

    def compile(self, c: Compiler) -> Select:
        inner = self.child.compile(c)
        has_expr = any(is_expr for _, _, is_expr in self.columns)
        wrap = inner.closed or (has_expr and not inner.is_plain(c.dialect))
        inner = c.wrap(inner) if wrap else inner.copy()
        inner.columns = _select_columns(inner, self.columns, c)
        return inner

    @property
    def connection(self) -> Connection:
        return self.child.connection

    def describe(self) -> str:
        return f"{self.child.describe()}.proj({', '.join(n for n, _, _ in self.columns)})"


@dataclass(frozen=True, eq=False)
class Aggregate(Node):
    """``left.aggr(group, ...)``: one row per row of ``left`` (or per distinct value of a ``U``)."""

    left: Node | None
    """None for a universal set: then ``group_by`` names the grouping attributes of ``group``."""
    group: Node
    group_by: tuple[str, ...]
    columns: tuple[Column, ...]
    heading: Heading
    keep_all: bool

    def compile(self, c: Compiler) -> Select:
        exprs = [source for _, source, is_expr in self.columns if is_expr]
        count_star = self.left is not None and self.keep_all and any(_COUNT_STAR.search(e) for e in exprs)
        counted = ""
        if self.left is None:
            select = c.open(self.group.compile(c), need_plain=True)
        else:
            left = self.left.compile(c)
            group = self.group.compile(c)
            if count_star:
                group, counted = _with_match_column(group, self.left.heading, self.group.heading, c)
            select = c.join(left, group, outer=self.keep_all)
        columns = self.columns
        if counted:
            columns = tuple(
                (n, _COUNT_STAR.sub(f"count({counted})", s) if is_expr else s, is_expr)
                for n, s, is_expr in columns
            )
        by = [select.columns[n] for n in self.group_by]
        select.columns = _select_columns(select, columns, c)
        if by:
            select.group_by = by
        else:
            select.group_by = []
            select.compound = True  # one row of totals: a closed statement
        return select

    @property
    def connection(self) -> Connection:
        return self.group.connection

    def describe(self) -> str:
        left = self.left.describe() if self.left is not None else f"U{self.group_by}"
        return f"{left}.aggr({self.group.describe()}, {', '.join(n for n, _, e in self.columns if e)})"


def _with_match_column(group: Select, left: Heading, heading: Heading, c: Compiler) -> tuple[Select, str]:
    """A column of ``group`` that is NULL exactly when a left row found no match.

    ``count(*)`` over a left join counts the unmatched row too; counting a key column
    of the group that the left side does not share gives 0 instead.
    """
    for name in heading.primary_key:
        if name not in left:
            return group, _backquoted(name)
    marked = c.open(group)
    marked.columns = {**marked.columns, "_tj_match": "1"}
    return c.wrap(marked), _backquoted("_tj_match")


def _backquoted(name: str) -> str:
    """A name inside user-written SQL, which is in DataJoint's spelling (``dialect.sql_text``)."""
    return "`" + name.replace("`", "``") + "`"


@dataclass(frozen=True, eq=False)
class Union(Node):
    """``a + b``: entities of either; each side's secondary attributes NULL where it lacks one."""

    left: Node
    right: Node
    heading: Heading

    def compile(self, c: Compiler) -> Select:
        key = self.heading.primary_key
        names = self.heading.all_names
        left_names, right_names = set(self.left.heading.all_names), set(self.right.heading.all_names)
        q = c.dialect.quote
        if set(names) == set(key):
            first = self.left.compile(c)
            second = self.right.compile(c)
            sql = f"{first.sql(c.dialect, key)} UNION {second.sql(c.dialect, key)}"
            params = first.params() + second.params()
        else:
            right_only = [n for n in names if n in right_names and n not in left_names]
            left_only = [n for n in names if n in left_names and n not in right_names]
            right_part = Project(
                self.right,
                tuple((n, n, False) for n in [*key, *right_only]),
                self.right.heading.select([*key, *right_only]),
            )
            first = self.left.compile(c)
            if right_only:
                first = c.join(first, right_part.compile(c), outer=True)
            left_keys = Project(self.left, tuple((k, k, False) for k in key), self.left.heading.select(key))
            rest = Restrict(self.right, Query(left_keys), True, self.right.heading)
            second = c.open(rest.compile(c))
            second.columns = {**second.columns, **{n: "NULL" for n in left_only}}
            sql = f"{first.sql(c.dialect, names)} UNION ALL {second.sql(c.dialect, names)}"
            params = first.params() + second.params()
        return Select(
            columns={n: q(n) for n in names},
            available=set(names),
            compound=True,
            raw_sql=sql,
            raw_params=params,
        )

    @property
    def connection(self) -> Connection:
        return self.left.connection

    def describe(self) -> str:
        return f"({self.left.describe()} + {self.right.describe()})"


@dataclass(frozen=True, eq=False)
class Distinct(Node):
    """``U("a", "b") & q``: the distinct values of some attributes of ``q``."""

    child: Node
    heading: Heading

    def compile(self, c: Compiler) -> Select:
        inner = self.child.compile(c)
        inner = c.wrap(inner) if inner.closed else inner.copy()
        inner.columns = {n: inner.columns[n] for n in self.heading.all_names}
        inner.distinct = True
        return inner

    @property
    def connection(self) -> Connection:
        return self.child.connection

    def describe(self) -> str:
        return f"(U{tuple(self.heading.primary_key)} & {self.child.describe()})"


@dataclass(frozen=True, eq=False)
class Rekey(Node):
    """The same rows with a different primary key (``q * U("a")`` promotes ``a``)."""

    child: Node
    heading: Heading

    def compile(self, c: Compiler) -> Select:
        return self.child.compile(c)

    @property
    def connection(self) -> Connection:
        return self.child.connection

    def describe(self) -> str:
        return self.child.describe()


def as_node(value: Any) -> Node:
    """The node of a query, or of a table class (the query of its rows)."""
    if isinstance(value, Query):
        return value._node
    query = getattr(value, "_query", None)
    if isinstance(value, type) and query is not None:
        node: Node = query()._node
        return node
    raise QueryError(f"expected a query or a table class, got {type(value).__name__}")


def _row_class(value: Any) -> type | None:
    if isinstance(value, Query):
        return value._row_class
    if isinstance(value, type) and getattr(value, "_query", None) is not None:
        return value
    return None


def check_lineage(a: Heading, b: Heading, shared: Sequence[str], operation: str) -> None:
    """Shared attribute names must come from the same origin (DataJoint's semantic match)."""
    for name in shared:
        la, lb = a[name].lineage, b[name].lineage
        if UNKNOWN_LINEAGE in (la, lb):
            continue
        if la is None or la != lb:
            raise QueryError(
                f"cannot {operation} on attribute {name!r}: it comes from "
                f"{la or 'a secondary attribute (no lineage)'} on one side and "
                f"{lb or 'a secondary attribute (no lineage)'} on the other; rename one side "
                f"with .proj({name}_2={name!r}) (or project it away) so the names differ",
                attribute=name,
            )


def join_heading(a: Heading, b: Heading, *, outer: bool = False) -> Heading:
    """The heading of ``a * b`` (``outer``: ``a.extend(b)``), by ``algebra.join``."""
    return Heading.of(
        replace(attr, in_key=in_key, nullable=attr.nullable or null)
        for attr, in_key, null in algebra.join(a, b, outer=outer)
    )


def _hidden(attr: Attribute) -> bool:
    return attr.is_hidden


def _unknown(operation: str, names: Sequence[str], heading: Heading) -> UnknownAttributeError:
    return UnknownAttributeError(
        f"{operation}: {sorted(names)} are not attributes of the query; it has {heading.names}",
        attribute=sorted(names)[0],
    )


def _named_columns(heading: Heading, named: dict[str, Any], operation: str) -> list[tuple[Column, Attribute]]:
    """``new="old"`` renames and ``new="<SQL>"`` computed attributes."""
    out: list[tuple[Column, Attribute]] = []
    for new, source in named.items():
        if not algebra.IDENTIFIER.match(new):
            raise QueryError(f"{operation}: {new!r} is not a valid attribute name")
        if not isinstance(source, str):
            raise QueryError(
                f"{operation}: {new}= must be an attribute name or a SQL expression, got {source!r}"
            )
        text = source.strip()
        meaning = algebra.source(text, heading.all_names)
        if meaning == "rename":
            old = heading[text]
            out.append(((new, old.name, False), replace(old, name=new)))
        elif meaning == "unknown":
            raise UnknownAttributeError(
                f"{operation}: {new}={source!r} names {text!r}, which is not an attribute of the "
                f"query; it has {heading.names}",
                attribute=text,
            )
        else:
            bad = sqltext.unknown(text, heading.all_names)
            if bad:
                raise UnknownAttributeError(
                    f"{operation}: {new}={source!r} names {bad}, which are not attributes of the "
                    f"query; it has {heading.names}",
                    attribute=bad[0],
                )
            out.append(
                (
                    (new, source, True),
                    Attribute(
                        name=new,
                        type_name="expression",
                        sql_type="",
                        core=False,
                        nullable=True,
                        expression=source,
                        python_type=Decimal if _reads_decimals(heading, text) else None,
                    ),
                )
            )
    return out


def _reads_decimals(heading: Heading, expression: str) -> bool:
    """Whether a computed attribute reads a decimal attribute: only then is its value a
    ``Decimal``. Elsewhere MySQL's exact results (``avg`` and ``sum`` of integers) come back
    as ``float`` and ``int``, as on SQLite, so numeric columns stay numeric in DataFrames."""
    words = re.findall(r"[A-Za-z_]\w*", expression)
    return any(word in heading and heading[word].kind == "decimal" for word in words)


class Query(Generic[R]):
    """A query: combine with ``&``, ``-``, ``*``, ``+``, ``proj``, ``aggr``; read with ``fetch`` etc."""

    __slots__ = ("_node", "_row_class")

    def __init__(self, node: Node, row_class: type | None = None):
        self._node = node
        self._row_class = row_class

    # -- description ---------------------------------------------------------------

    @property
    def heading(self) -> Heading:
        """The query's attributes: names, types, keys, lineage."""
        return self._node.heading

    @property
    def primary_key(self) -> list[str]:
        """The names of the query's primary-key attributes."""
        return self._node.heading.primary_key

    @property
    def connection(self) -> Connection:
        """The connection the query runs on."""
        return self._node.connection

    def compile(self) -> tuple[str, list[Any]]:
        """The SELECT statement and its parameters."""
        c = Compiler(self.connection.dialect)
        select = self._node.compile(c)
        names = self._output_names(select)
        return select.sql(c.dialect, names), select.params()

    def _output_names(self, select: Select) -> list[str]:
        return [n for n in self.heading.all_names if n in select.columns]

    @property
    def sql(self) -> str:
        """The SQL text this query runs (parameters shown as placeholders)."""
        return self.compile()[0]

    def __repr__(self) -> str:
        from .fetch import preview

        return preview(self)

    def _repr_html_(self) -> str:
        from .fetch import preview_html

        return preview_html(self)

    # -- operators -----------------------------------------------------------------

    def restrict(self, condition: Any, *, negate: bool = False, semantic_check: bool = True) -> Query[R]:
        """Rows that match ``condition`` (``negate=True``: rows that do not).

        A query used as the condition must share its namesake attributes' lineage; with
        ``semantic_check=False`` they are matched by name alone.
        """
        from .universal import U

        if isinstance(condition, U):
            missing = [n for n in condition.attributes if n not in self.heading]
            if missing:
                raise _unknown("restriction by U", missing, self.heading)
            return Query(self._node, self._row_class) if not negate else self & False
        check_condition(condition, self.heading, semantic_check=semantic_check)
        return Query(Restrict(self._node, condition, negate, self._node.heading), self._row_class)

    def __and__(self, condition: Any) -> Query[R]:
        return self.restrict(condition)

    def __sub__(self, condition: Any) -> Query[R]:
        return self.restrict(condition, negate=True)

    def join(self, other: Any, *, left: bool = False, semantic_check: bool = True) -> Query[dict[str, Any]]:
        """Natural join on the shared attributes; ``left=True`` keeps rows without a match.

        Shared attributes must share their lineage (come from the same table); with
        ``semantic_check=False`` the join matches them by name alone, as SQL's NATURAL JOIN
        and datajoint-python's ``semantic_check=False`` do.
        """
        from .universal import U

        if isinstance(other, U):
            return other.promote(self)
        right = as_node(other)
        shared = [n for n in self.heading.all_names if n in right.heading]
        if semantic_check:
            check_lineage(self.heading, right.heading, shared, "join")
        if left:
            missing = algebra.missing_key(right.heading, self.heading)
            if missing:
                raise QueryError(
                    f"a left join needs the left operand to determine the right one; the left "
                    f"operand lacks the right's key attributes {missing}"
                )
        return Query(Join(self._node, right, join_heading(self.heading, right.heading, outer=left), left))

    def extend(self, other: Any, *, semantic_check: bool = True) -> Query[dict[str, Any]]:
        """Every row of this query, with ``other``'s attributes added where a row matches
        (NULL elsewhere): datajoint-python 2.x's ``extend``, a left join that needs this
        query to determine ``other`` (to have its primary key)."""
        return self.join(other, left=True, semantic_check=semantic_check)

    def __mul__(self, other: Any) -> Query[dict[str, Any]]:
        return self.join(other)

    def __rmul__(self, other: Any) -> Query[dict[str, Any]]:
        return Query(as_node(other)).join(self)

    def union(self, other: Any) -> Query[Any]:
        """Entities of either operand (same primary key); see ``__add__``."""
        right = as_node(other)
        a, b = self.heading, right.heading
        if not algebra.same_key(a, b):
            raise QueryError(
                f"union needs operands with the same primary key; the left has {a.primary_key}, "
                f"the right has {b.primary_key}"
            )
        attrs = [replace(x, nullable=x.nullable or null) for x, null in algebra.union(a, b)]
        row_class = (
            self._row_class if self._row_class is not None and self._row_class is _row_class(other) else None
        )
        return Query(Union(self._node, right, Heading.of(attrs)), row_class)

    def __add__(self, other: Any) -> Query[Any]:
        """Union: entities of either operand; secondary attributes of both, NULL where one lacks it."""
        return self.union(other)

    def __radd__(self, other: Any) -> Query[Any]:
        return Query(as_node(other), _row_class(other)).union(self)

    def proj(self, *attributes: Any, **named: Any) -> Query[dict[str, Any]]:
        """Keep the primary key and the named attributes; ``new="old"`` renames, ``new="a+b"`` computes.

        ``...`` keeps every secondary attribute and ``"-name"`` drops one. Class-level
        columns (``Session.session_date``) stand for their names.
        """
        attributes = tuple(_column_names(attributes))
        named = dict(zip(named, _column_names(named.values()), strict=True))
        heading = self.heading
        bad = [a for a in attributes if not (a is Ellipsis or isinstance(a, str))]
        if bad:
            raise QueryError(f"proj: expected attribute names, got {bad!r}")
        excluded = {a[1:] for a in attributes if isinstance(a, str) and a.startswith("-")}
        wanted = [a for a in attributes if isinstance(a, str) and not a.startswith("-")]
        unknown = [a for a in [*wanted, *excluded] if a not in heading]
        if unknown:
            raise _unknown("proj", unknown, heading)
        if excluded & set(heading.primary_key):
            raise QueryError(f"proj: the primary key {heading.primary_key} cannot be dropped")
        renamed_from = {s.strip() for s in named.values() if isinstance(s, str) and s.strip() in heading}
        attrs = algebra.projected(heading, wanted, excluded, keep_all=Ellipsis in attributes,
                                  renamed_from=renamed_from, hidden=_hidden)
        columns: list[Column] = [(a.name, a.name, False) for a in attrs]
        for column, attr in _named_columns(heading, named, "proj"):
            columns.append(column)
            attrs.append(attr)
        names = [n for n, _, _ in columns]
        if algebra.repeated(names):
            raise QueryError(f"proj: an attribute name appears twice in {names}")
        return Query(Project(self._node, tuple(columns), Heading.of(attrs)))

    def aggr(
        self,
        /,
        group: Any,
        *attributes: Any,
        keep_all_rows: bool = True,
        exclude_nonmatching: bool | None = None,
        semantic_check: bool = True,
        **named: Any,
    ) -> Query[dict[str, Any]]:
        """One row per row of this query, with ``named`` SQL aggregates over its matching rows of ``group``.

        Rows without a match are kept (``count(*)`` is then 0; other aggregates NULL)
        unless ``keep_all_rows=False`` (or DataJoint's ``exclude_nonmatching=True``).
        ``attributes`` (or ``...``) keep secondary attributes of this query.
        ``semantic_check=False`` matches the group's namesakes by name alone.
        """
        if exclude_nonmatching is not None:
            keep_all_rows = not exclude_nonmatching
        attributes = tuple(_column_names(attributes))
        named = dict(zip(named, _column_names(named.values()), strict=True))
        other = as_node(group)
        heading = self.heading
        missing = algebra.missing_key(heading, other.heading)
        if missing:
            raise QueryError(
                f"aggr: the group must contain the primary key of the query it aggregates into; "
                f"it lacks {missing}"
            )
        if semantic_check:
            shared = [n for n in heading.all_names if n in other.heading]
            check_lineage(heading, other.heading, shared, "aggregate")
        bad = [a for a in attributes if not (a is Ellipsis or (isinstance(a, str) and a in heading))]
        if bad:
            raise _unknown("aggr", [str(b) for b in bad], heading)
        wanted = [a for a in attributes if isinstance(a, str)]
        kept = [a.name for a in algebra.aggregated(heading, wanted, keep_all=Ellipsis in attributes,
                                                   hidden=_hidden)]
        if not named:
            raise QueryError("aggr: name at least one computed attribute, e.g. n='count(*)'")
        combined = join_heading(heading, other.heading)
        columns: list[Column] = [(n, n, False) for n in kept]
        attrs = [heading[n] for n in kept]
        for column, attr in _named_columns(combined, named, "aggr"):
            if column[0] in kept:
                raise QueryError(f"aggr: {column[0]!r} is already an attribute of the result")
            columns.append(column)
            attrs.append(replace(attr, in_key=False))
        renamed = [s for _, s, is_expr in columns[len(kept) :] if not is_expr and s in heading]
        group_by = tuple(dict.fromkeys([*kept, *renamed]))  # a renamed attribute of this query is grouped too
        return Query(Aggregate(self._node, other, group_by, tuple(columns), Heading.of(attrs), keep_all_rows))

    # -- results -------------------------------------------------------------------

    def __len__(self) -> int:
        from .fetch import count

        return count(self)

    def __bool__(self) -> bool:
        from .fetch import exists

        return exists(self)

    def __iter__(self) -> Iterator[R]:
        from .fetch import iterate

        return iterate(self)

    def __contains__(self, item: Any) -> bool:
        return bool(self & item)

    @overload
    def fetch(self) -> list[R]: ...

    @overload
    def fetch(  # type: ignore[overload-overlap]  # "KEY" is a str, answered first
        self, attribute: Literal["KEY"], /, *, order_by: Any = ..., limit: int | None = ...,
        offset: int | None = ...,
    ) -> list[dict[str, Any]]: ...

    @overload
    def fetch(
        self, attribute: str, /, *, order_by: Any = ..., limit: int | None = ..., offset: int | None = ...
    ) -> np.ndarray: ...

    @overload
    def fetch(
        self,
        attribute: str,
        second: str,
        /,
        *more: str,
        order_by: Any = ...,
        limit: int | None = ...,
        offset: int | None = ...,
    ) -> tuple[np.ndarray, ...]: ...

    @overload
    def fetch(self, *, order_by: Any = ..., limit: int | None = ..., offset: int | None = ...) -> list[R]: ...

    def fetch(
        self, *attributes: str, order_by: Any = None, limit: int | None = None, offset: int | None = None
    ) -> Any:
        """Rows as typed instances (or dicts), or one numpy array per named attribute."""
        from .fetch import fetch

        return fetch(self, tuple(_column_names(attributes)), order_by=order_by, limit=limit, offset=offset)

    @overload
    def fetch1(self) -> R: ...

    @overload
    def fetch1(self, attribute: str, /) -> Any: ...

    @overload
    def fetch1(self, attribute: str, second: str, /, *more: str) -> tuple[Any, ...]: ...

    def fetch1(self, *attributes: str) -> Any:
        """Exactly one row (or its named values); an error says how many were found."""
        from .fetch import fetch1

        return fetch1(self, tuple(_column_names(attributes)))

    def to_dicts(
        self, *, order_by: Any = None, limit: int | None = None, offset: int | None = None
    ) -> list[dict[str, Any]]:
        """Rows as dicts of Python values."""
        from .fetch import to_dicts

        return to_dicts(self, order_by=order_by, limit=limit, offset=offset)

    def keys(
        self, *, order_by: Any = None, limit: int | None = None, offset: int | None = None
    ) -> list[dict[str, Any]]:
        """The primary key of each row, as dicts."""
        from .fetch import keys

        return keys(self, order_by=order_by, limit=limit, offset=offset)

    def to_pandas(
        self, *, order_by: Any = None, limit: int | None = None, offset: int | None = None
    ) -> pd.DataFrame:
        """A DataFrame indexed by the primary key."""
        from .fetch import to_pandas

        return to_pandas(self, order_by=order_by, limit=limit, offset=offset)

    def to_arrays(
        self, *attributes: str | Column, include_key: bool = False, order_by: Any = None,
        limit: int | None = None, offset: int | None = None,
    ) -> Any:
        """Without names, a numpy structured array, one field per attribute; with names, one
        array per name (a tuple for several), as datajoint-python 2.x.

        ``include_key=True`` (with names) puts the rows' primary keys, a list of dicts in
        the same order as the arrays, first: ``keys, x = q.to_arrays("x", include_key=True)``.
        """
        from .fetch import named_arrays, to_arrays

        names = tuple(_column_names(attributes))
        if names:
            return named_arrays(self, names, include_key, order_by=order_by, limit=limit, offset=offset)
        if include_key:
            raise QueryError("to_arrays(include_key=True) needs attribute names: without them the "
                             "structured array holds the key already")
        return to_arrays(self, order_by=order_by, limit=limit, offset=offset)

    def to_arrow(self, *, order_by: Any = None, limit: int | None = None, offset: int | None = None) -> Any:
        """A ``pyarrow.Table`` (requires pyarrow)."""
        from .fetch import to_arrow

        return to_arrow(self, order_by=order_by, limit=limit, offset=offset)

    def to_polars(self, *, order_by: Any = None, limit: int | None = None, offset: int | None = None) -> Any:
        """A ``polars.DataFrame`` (requires polars)."""
        from .fetch import to_polars

        return to_polars(self, order_by=order_by, limit=limit, offset=offset)

    def head(self, n: int = 25) -> list[dict[str, Any]]:
        """The first ``n`` rows by primary key, as dicts."""
        return self.to_dicts(order_by="KEY", limit=n)

    def tail(self, n: int = 25) -> list[dict[str, Any]]:
        """The last ``n`` rows by primary key, as dicts, in primary key order."""
        return self.to_dicts(order_by="KEY DESC", limit=n)[::-1]

    def delete(self, *, part_integrity: str = "enforce", dry_run: bool = False,
               force: bool = False) -> dict[str, int]:
        """Delete these rows of a table and every dependent row (one transaction).

        Returns the rows deleted per table. On a terminal with ``config.safemode`` on,
        the counts are shown and a "yes" is needed first (``force=True`` does not ask;
        scripts and CI, without a terminal, are never asked).
        """
        from ..cascade import delete

        return delete(self, part_integrity=part_integrity, dry_run=dry_run, force=force)

    def delete_quick(self) -> int:
        """Delete these rows from their table alone: no cascade, no question.

        Returns the rows deleted; rows still referred to by dependent rows make it raise
        ``IntegrityError`` naming the table, with nothing deleted.
        """
        from ..cascade import delete_quick

        return delete_quick(self)
