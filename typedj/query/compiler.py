"""From expression nodes to one SELECT statement, with as few subqueries as correctness allows.

Each node compiles to a ``Select``; a parent either extends its child's ``Select`` or,
when that would change the meaning (renamed or computed columns, grouping, limits,
hidden columns that a natural join would match), wraps it as a subquery. Aliases are
numbered in traversal order, so the same query always gives the same text.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

from ..backend.dialect import Dialect


@dataclass
class Select:
    """A SELECT under construction. ``columns`` maps each output name to its SQL."""

    items: list[str] = field(default_factory=list)
    joins: list[str] = field(default_factory=list)
    columns: dict[str, str] = field(default_factory=dict)
    available: set[str] = field(default_factory=set)
    where: list[str] = field(default_factory=list)
    from_params: list[Any] = field(default_factory=list)
    where_params: list[Any] = field(default_factory=list)
    group_by: list[str] = field(default_factory=list)
    having: list[str] = field(default_factory=list)
    having_params: list[Any] = field(default_factory=list)
    order_by: list[str] = field(default_factory=list)
    limit: int | None = None
    offset: int | None = None
    distinct: bool = False
    compound: bool = False
    """Set when the statement cannot take more clauses (a UNION)."""
    raw_sql: str | None = None
    raw_params: list[Any] = field(default_factory=list)

    @property
    def closed(self) -> bool:
        """True when adding WHERE/JOIN would change what the clauses already there mean."""
        return bool(
            self.group_by
            or self.having
            or self.limit is not None
            or self.offset is not None
            or self.distinct
            or self.compound
            or self.raw_sql is not None
        )

    @property
    def grouped(self) -> bool:
        """An aggregation that can still take conditions, as HAVING clauses."""
        return bool(self.group_by) and not (
            self.limit is not None
            or self.offset is not None
            or self.distinct
            or self.compound
            or self.raw_sql is not None
        )

    def add_condition(self, sql: str, params: list[Any]) -> None:
        """AND a condition: to WHERE, or to HAVING once rows are grouped."""
        if self.group_by:
            self.having.append(sql)
            self.having_params.extend(params)
        else:
            self.where.append(sql)
            self.where_params.extend(params)

    def is_plain(self, dialect: Dialect) -> bool:
        """Every output column is the source column of the same name."""
        return all(dialect.is_quoted(sql, name) for name, sql in self.columns.items())

    @property
    def hidden(self) -> set[str]:
        """Columns present in FROM but not in the output: a natural join would still match them."""
        return self.available - set(self.columns)

    def copy(self) -> Select:
        return replace(
            self,
            items=list(self.items),
            joins=list(self.joins),
            columns=dict(self.columns),
            available=set(self.available),
            where=list(self.where),
            from_params=list(self.from_params),
            where_params=list(self.where_params),
            group_by=list(self.group_by),
            having=list(self.having),
            having_params=list(self.having_params),
            order_by=list(self.order_by),
        )

    def params(self) -> list[Any]:
        if self.raw_sql is not None:
            return list(self.raw_params)
        return self.from_params + self.where_params + self.having_params

    def sql(self, dialect: Dialect, columns: list[str] | None = None) -> str:
        if self.raw_sql is not None:
            if columns is None or columns == list(self.columns):
                return self.raw_sql
            cols = ", ".join(dialect.quote(n) for n in columns) or "1"
            return f"SELECT {cols} FROM ({self.raw_sql}) AS {dialect.quote('_u')}"
        names = list(self.columns) if columns is None else columns
        cols = (
            ", ".join(
                self.columns[n]
                if dialect.is_quoted(self.columns[n], n)
                else f"{self.columns[n]} AS {dialect.quote(n)}"
                for n in names
            )
            or "1"
        )
        parts = [f"SELECT {'DISTINCT ' if self.distinct else ''}{cols}"]
        if self.items:
            source = self.items[0]
            for join, item in zip(self.joins, self.items[1:], strict=True):
                source += f" {join} {item}"
            parts.append(f"FROM {source}")
        if self.where:
            parts.append("WHERE " + " AND ".join(self.where))
        if self.group_by:
            parts.append("GROUP BY " + ", ".join(self.group_by))
        if self.having:
            parts.append("HAVING " + " AND ".join(self.having))
        if self.order_by:
            parts.append("ORDER BY " + ", ".join(self.order_by))
        if self.limit is not None:
            parts.append(f"LIMIT {int(self.limit)}")
            if self.offset:
                parts.append(f"OFFSET {int(self.offset)}")
        elif self.offset:
            parts.append(f"LIMIT {2**63 - 1} OFFSET {int(self.offset)}")
        return " ".join(parts)


class Compiler:
    """Numbers aliases in traversal order; one per compiled statement."""

    def __init__(self, dialect: Dialect):
        self.dialect = dialect
        self._aliases = 0

    def alias(self) -> str:
        name = f"_s{self._aliases}"
        self._aliases += 1
        return self.dialect.quote(name)

    def table(self, schema: str, table: str, columns: list[str], all_columns: list[str]) -> Select:
        q = self.dialect.quote
        return Select(
            items=[f"{self.dialect.table(schema, table)} AS {self.alias()}"],
            columns={c: q(c) for c in columns},
            available=set(all_columns),
        )

    def wrap(self, inner: Select) -> Select:
        """``inner`` as a subquery whose output columns become plain columns."""
        q = self.dialect.quote
        sql = inner.sql(self.dialect)
        return Select(
            items=[f"({sql}) AS {self.alias()}"],
            columns={c: q(c) for c in inner.columns},
            available=set(inner.columns),
            from_params=inner.params(),
        )

    def open(self, inner: Select, *, need_plain: bool = False) -> Select:
        """A copy of ``inner`` that accepts more conditions, wrapping it if needed.

        ``need_plain`` (conditions written as SQL text) also requires that every column
        in FROM is an output column, so the text cannot reach a renamed or projected-away
        column.
        """
        plain = inner.is_plain(self.dialect) and not inner.hidden
        if (need_plain and not plain) or (inner.closed and not inner.grouped):
            return self.wrap(inner)
        return inner.copy()

    def join(self, left: Select, right: Select, *, outer: bool = False) -> Select:
        """Natural join; each side is wrapped when its hidden columns would be matched."""
        if left.closed or not left.is_plain(self.dialect) or left.hidden & right.available:
            left = self.wrap(left)
        if (
            right.closed
            or not right.is_plain(self.dialect)
            or right.hidden & left.available
            or (outer and (right.where or len(right.items) > 1))
        ):
            right = self.wrap(right)
        out = left.copy()
        out.items += right.items
        out.joins += ["NATURAL LEFT JOIN" if outer else "NATURAL JOIN", *right.joins]
        for name, sql in right.columns.items():
            out.columns.setdefault(name, sql)
        out.available |= right.available
        out.from_params += right.from_params
        out.where += right.where
        out.where_params += right.where_params
        return out
