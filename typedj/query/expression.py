"""Immutable query expressions: a table class is the query of its rows.

Nodes compute their heading when built, so a wrong attribute name fails where it is
written, not when the query runs. ``Query`` wraps a node with the operators and the
result methods.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, Generic, TypeVar, overload

from ..errors import QueryError, UnknownAttributeError
from ..heading import Attribute, Heading
from .compiler import Compiler, Select
from .condition import compile_condition, needs_plain

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

    from ..backend.connection import Connection

R = TypeVar("R")

UNKNOWN_LINEAGE = "?"
"""Lineage of attributes of schemas that have no ``~lineage`` table: never checked."""

_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


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
        select = c.open(self.child.compile(c), need_plain=needs_plain(self.condition))
        sql, params = compile_condition(self.condition, self.heading, select, c)
        select.where.append(f"NOT ({sql})" if self.negate else sql)
        select.where_params.extend(params)
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


@dataclass(frozen=True, eq=False)
class Project(Node):
    child: Node
    columns: tuple[tuple[str, str, bool], ...]
    """``(output name, source attribute or SQL expression, is expression)``."""
    heading: Heading

    def compile(self, c: Compiler) -> Select:
        inner = self.child.compile(c)
        has_expr = any(is_expr for _, _, is_expr in self.columns)
        if inner.closed or (has_expr and not inner.plain):
            inner = c.wrap(inner)
        else:
            inner = inner.copy()
        inner.columns = {
            name: (f"({c.dialect.sql_text(source)})" if is_expr else inner.columns[source])
            for name, source, is_expr in self.columns
        }
        return inner

    @property
    def connection(self) -> Connection:
        return self.child.connection

    def describe(self) -> str:
        return f"{self.child.describe()}.proj({', '.join(n for n, _, _ in self.columns)})"


def as_node(value: Any) -> Node:
    """The node of a query, or of a table class (the query of its rows)."""
    if isinstance(value, Query):
        return value._node
    query = getattr(value, "_query", None)
    if isinstance(value, type) and query is not None:
        node: Node = query()._node
        return node
    raise QueryError(f"expected a query or a table class, got {type(value).__name__}")


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


def join_heading(a: Heading, b: Heading) -> Heading:
    """DataJoint's key rule: a key that determines the other's keeps it; else their union."""
    a_key, b_key = set(a.primary_key), set(b.primary_key)
    if b_key <= set(a.all_names) and not (a_key <= set(b.all_names)):
        key = a_key  # A's key determines B's
    elif a_key <= set(b.all_names) and not (b_key <= set(a.all_names)):
        key = b_key
    elif a_key <= set(b.all_names) and b_key <= set(a.all_names):
        key = a_key
    else:
        key = a_key | b_key
    attrs: dict[str, Attribute] = {}
    for attr in [*a, *b]:
        if attr.name not in attrs:
            attrs[attr.name] = replace(attr, in_key=attr.name in key)
    return Heading.of(attrs.values())


class Query(Generic[R]):
    """A query: combine with ``&``, ``-``, ``*``, ``proj``; read with ``fetch`` and friends."""

    __slots__ = ("_node", "_row_class")

    def __init__(self, node: Node, row_class: type | None = None):
        self._node = node
        self._row_class = row_class

    # -- description ---------------------------------------------------------------

    @property
    def heading(self) -> Heading:
        return self._node.heading

    @property
    def primary_key(self) -> list[str]:
        return self._node.heading.primary_key

    @property
    def connection(self) -> Connection:
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

    def restrict(self, condition: Any, *, negate: bool = False) -> Query[R]:
        return Query(Restrict(self._node, condition, negate, self._node.heading), self._row_class)

    def __and__(self, condition: Any) -> Query[R]:
        return self.restrict(condition)

    def __sub__(self, condition: Any) -> Query[R]:
        return self.restrict(condition, negate=True)

    def join(self, other: Any, *, left: bool = False) -> Query[dict[str, Any]]:
        right = as_node(other)
        shared = [n for n in self.heading.all_names if n in right.heading]
        check_lineage(self.heading, right.heading, shared, "join")
        return Query(Join(self._node, right, join_heading(self.heading, right.heading), left))

    def __mul__(self, other: Any) -> Query[dict[str, Any]]:
        return self.join(other)

    def __rmul__(self, other: Any) -> Query[dict[str, Any]]:
        return Query(as_node(other)).join(self)

    def proj(self, *attributes: Any, **named: str) -> Query[dict[str, Any]]:
        """Keep the primary key and the named attributes; ``new="old"`` renames, ``new="a+b"`` computes."""
        heading = self.heading
        keep_all = any(a is Ellipsis for a in attributes)
        excluded = {a[1:] for a in attributes if isinstance(a, str) and a.startswith("-")}
        wanted = [a for a in attributes if isinstance(a, str) and not a.startswith("-")]
        keep_all = keep_all or bool(excluded and not wanted)
        unknown = [a for a in [*wanted, *excluded] if a not in heading]
        if unknown:
            raise UnknownAttributeError(
                f"proj: {sorted(unknown)} are not attributes of the query; it has {heading.names}",
                attribute=unknown[0],
            )
        bad = [a for a in attributes if not (a is Ellipsis or isinstance(a, str))]
        if bad:
            raise QueryError(f"proj: expected attribute names, got {bad!r}")
        if excluded & set(heading.primary_key):
            raise QueryError(f"proj: the primary key {heading.primary_key} cannot be dropped")
        renamed_from = {src for src in named.values() if src in heading}
        columns: list[tuple[str, str, bool]] = []
        attrs: list[Attribute] = []
        for attr in heading:
            if attr.name in renamed_from and attr.name not in wanted:
                continue
            if attr.in_key or attr.name in wanted or (
                keep_all and not attr.is_hidden and attr.name not in excluded
            ):
                columns.append((attr.name, attr.name, False))
                attrs.append(attr)
        for new, source in named.items():
            if not _IDENTIFIER.match(new):
                raise QueryError(f"proj: {new!r} is not a valid attribute name")
            if _IDENTIFIER.match(source.strip()) and source.strip() in heading:
                old = heading[source.strip()]
                columns.append((new, old.name, False))
                attrs.append(replace(old, name=new))
            elif _IDENTIFIER.match(source.strip()):
                raise UnknownAttributeError(
                    f"proj: {new}={source!r} renames {source!r}, which is not an attribute of the "
                    f"query; it has {heading.names}",
                    attribute=source.strip(),
                )
            else:
                columns.append((new, source, True))
                attrs.append(Attribute(name=new, type_name="expression", sql_type="", core=False))
        names = [n for n, _, _ in columns]
        if len(set(names)) != len(names):
            raise QueryError(f"proj: an attribute name appears twice in {names}")
        return Query(Project(self._node, tuple(columns), Heading.of(attrs)))

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
    def fetch(self, attribute: str, /, *, order_by: Any = ..., limit: int | None = ...) -> np.ndarray: ...

    @overload
    def fetch(self, attribute: str, second: str, /, *more: str, order_by: Any = ..., limit: int | None = ...) -> tuple[np.ndarray, ...]: ...

    def fetch(self, *attributes: str, order_by: Any = None, limit: int | None = None, offset: int | None = None) -> Any:
        """Rows as typed instances (or dicts), or one numpy array per named attribute."""
        from .fetch import fetch

        return fetch(self, attributes, order_by=order_by, limit=limit, offset=offset)

    @overload
    def fetch1(self) -> R: ...

    @overload
    def fetch1(self, attribute: str, /) -> Any: ...

    @overload
    def fetch1(self, attribute: str, second: str, /, *more: str) -> tuple[Any, ...]: ...

    def fetch1(self, *attributes: str) -> Any:
        """Exactly one row (or its named values); an error says how many were found."""
        from .fetch import fetch1

        return fetch1(self, attributes)

    def to_dicts(self, *, order_by: Any = None, limit: int | None = None, offset: int | None = None) -> list[dict[str, Any]]:
        from .fetch import to_dicts

        return to_dicts(self, order_by=order_by, limit=limit, offset=offset)

    def keys(self, *, order_by: Any = None, limit: int | None = None, offset: int | None = None) -> list[dict[str, Any]]:
        """The primary key of each row, as dicts."""
        from .fetch import keys

        return keys(self, order_by=order_by, limit=limit, offset=offset)

    def to_pandas(self, *, order_by: Any = None, limit: int | None = None, offset: int | None = None) -> pd.DataFrame:
        from .fetch import to_pandas

        return to_pandas(self, order_by=order_by, limit=limit, offset=offset)

    def to_arrays(self, *, order_by: Any = None, limit: int | None = None, offset: int | None = None) -> np.ndarray:
        from .fetch import to_arrays

        return to_arrays(self, order_by=order_by, limit=limit, offset=offset)

    def head(self, n: int = 25) -> list[dict[str, Any]]:
        return self.to_dicts(order_by="KEY", limit=n)

    def delete(self, *, part_integrity: str = "enforce", dry_run: bool = False) -> dict[str, int]:
        """Delete these rows of a table and every dependent row (one transaction)."""
        from ..table import delete

        return delete(self, part_integrity=part_integrity, dry_run=dry_run)
