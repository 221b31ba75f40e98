"""``Query``: the operators that build expressions and the methods that read results.

Each operator computes the result's heading (by the rules of ``algebra.py``) when the
query is built, so a wrong attribute name fails where it is written, not when the query
runs. The expression tree is in ``nodes.py``; reading results is ``fetch.py``'s job.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, replace
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Generic, Literal, TypeVar, overload

from ..columns import names as _column_names
from ..errors import QueryError, TypedjError, UnknownAttributeError
from ..heading import Attribute, Heading
from . import algebra, fetch, sqltext
from .condition import check_condition
from .nodes import Aggregate, Column, Join, Project, Restrict, Union
from .nodes import TableNode as TableNode
from .operand import UNKNOWN_LINEAGE as UNKNOWN_LINEAGE
from .operand import Node as Node
from .operand import Operand, UniversalBase, check_lineage, row_class
from .operand import as_node as as_node

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

R = TypeVar("R")


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


@dataclass(frozen=True)
class Deletion:
    """How rows are deleted: by the cascade through dependent tables (``cascade.py``). It
    builds on queries, so it registers itself here when imported (``import typedj`` does)
    instead of queries importing it."""

    delete: Callable[..., dict[str, int]]
    delete_quick: Callable[[Query[Any]], int]


_DELETION: list[Deletion] = []


def register_deletion(deletion: Deletion) -> None:
    _DELETION[:] = [deletion]


def _deletion() -> Deletion:
    if not _DELETION:
        raise TypedjError("deleting rows needs typedj.cascade, which `import typedj` loads")
    return _DELETION[0]


class Query(Operand, Generic[R]):
    """A query: combine with ``&``, ``-``, ``*``, ``+``, ``proj``, ``aggr``; read with ``fetch`` etc."""

    __slots__ = ()

    def __repr__(self) -> str:
        return fetch.preview(self)

    def _repr_html_(self) -> str:
        return fetch.preview_html(self)

    # -- operators -----------------------------------------------------------------

    def restrict(self, condition: Any, *, negate: bool = False, semantic_check: bool = True) -> Query[R]:
        """Rows that match ``condition`` (``negate=True``: rows that do not).

        A query used as the condition must share its namesake attributes' lineage; with
        ``semantic_check=False`` they are matched by name alone.
        """
        if isinstance(condition, UniversalBase):
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
        if isinstance(other, UniversalBase):
            promoted: Query[dict[str, Any]] = other.promote(self)
            return promoted
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
        same = self._row_class is not None and self._row_class is row_class(other)
        return Query(Union(self._node, right, Heading.of(attrs)), self._row_class if same else None)

    def __add__(self, other: Any) -> Query[Any]:
        """Union: entities of either operand; secondary attributes of both, NULL where one lacks it."""
        return self.union(other)

    def __radd__(self, other: Any) -> Query[Any]:
        return Query(as_node(other), row_class(other)).union(self)

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
        return fetch.count(self)

    def __bool__(self) -> bool:
        return fetch.exists(self)

    def __iter__(self) -> Iterator[R]:
        return fetch.iterate(self)

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
        names = tuple(_column_names(attributes))
        return fetch.fetch(self, names, order_by=order_by, limit=limit, offset=offset)

    @overload
    def fetch1(self) -> R: ...

    @overload
    def fetch1(self, attribute: str, /) -> Any: ...

    @overload
    def fetch1(self, attribute: str, second: str, /, *more: str) -> tuple[Any, ...]: ...

    def fetch1(self, *attributes: str) -> Any:
        """Exactly one row (or its named values); an error says how many were found."""
        return fetch.fetch1(self, tuple(_column_names(attributes)))

    def to_dicts(
        self, *, order_by: Any = None, limit: int | None = None, offset: int | None = None
    ) -> list[dict[str, Any]]:
        """Rows as dicts of Python values."""
        return fetch.to_dicts(self, order_by=order_by, limit=limit, offset=offset)

    def keys(
        self, *, order_by: Any = None, limit: int | None = None, offset: int | None = None
    ) -> list[dict[str, Any]]:
        """The primary key of each row, as dicts."""
        return fetch.keys(self, order_by=order_by, limit=limit, offset=offset)

    def to_pandas(
        self, *, order_by: Any = None, limit: int | None = None, offset: int | None = None
    ) -> pd.DataFrame:
        """A DataFrame indexed by the primary key."""
        return fetch.to_pandas(self, order_by=order_by, limit=limit, offset=offset)

    def to_arrays(
        self, *attributes: str | Column, include_key: bool = False, order_by: Any = None,
        limit: int | None = None, offset: int | None = None,
    ) -> Any:
        """Without names, a numpy structured array, one field per attribute; with names, one
        array per name (a tuple for several), as datajoint-python 2.x.

        ``include_key=True`` (with names) puts the rows' primary keys, a list of dicts in
        the same order as the arrays, first: ``keys, x = q.to_arrays("x", include_key=True)``.
        """
        names = tuple(_column_names(attributes))
        if names:
            return fetch.named_arrays(self, names, include_key, order_by=order_by, limit=limit, offset=offset)
        if include_key:
            raise QueryError("to_arrays(include_key=True) needs attribute names: without them the "
                             "structured array holds the key already")
        return fetch.to_arrays(self, order_by=order_by, limit=limit, offset=offset)

    def to_arrow(self, *, order_by: Any = None, limit: int | None = None, offset: int | None = None) -> Any:
        """A ``pyarrow.Table`` (requires pyarrow)."""
        return fetch.to_arrow(self, order_by=order_by, limit=limit, offset=offset)

    def to_polars(self, *, order_by: Any = None, limit: int | None = None, offset: int | None = None) -> Any:
        """A ``polars.DataFrame`` (requires polars)."""
        return fetch.to_polars(self, order_by=order_by, limit=limit, offset=offset)

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
        return _deletion().delete(self, part_integrity=part_integrity, dry_run=dry_run, force=force)

    def delete_quick(self) -> int:
        """Delete these rows from their table alone: no cascade, no question.

        Returns the rows deleted; rows still referred to by dependent rows make it raise
        ``IntegrityError`` naming the table, with nothing deleted.
        """
        return _deletion().delete_quick(self)
