"""The expression tree: each node knows its heading (computed when the query is built) and
compiles itself to a ``Select``. Built by ``Query`` (``expression.py``) and ``U``."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..heading import Heading
from .compiler import Compiler, Select
from .condition import Top, compile_condition, compile_top, needs_plain
from .operand import Node, Operand

if TYPE_CHECKING:
    from ..backend.connection import Connection

_COUNT_STAR = re.compile(r"\bcount\s*\(\s*\*\s*\)", re.IGNORECASE)


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
        casts = {n: t for n in names if n in left_names and n in right_names
                 and (t := c.dialect.union_type(self.left.heading[n], self.right.heading[n]))}
        if set(names) == set(key):
            first = _cast(c, self.left.compile(c), casts)
            second = _cast(c, self.right.compile(c), casts)
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
            rest = Restrict(self.right, Operand(left_keys), True, self.right.heading)
            first = _cast(c, first, casts)
            second = _cast(c, c.open(rest.compile(c)), casts)
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


def _cast(c: Compiler, select: Select, casts: dict[str, str]) -> Select:
    """``select`` with the columns named in ``casts`` cast to the type given there."""
    if not casts:
        return select
    out = c.open(select)
    out.columns = {n: f"CAST({e} AS {casts[n]})" if n in casts else e for n, e in out.columns.items()}
    return out


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
