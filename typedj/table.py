"""Table tiers and the operations that add and change rows: insert, update1, describe.

Deleting and dropping (cascades through dependents) live in ``cascade.py``.

A table class is three things at once: a declaration (its annotations), the query of its
rows (operators and fetch methods live on the metaclass, so row instances keep a clean
namespace), and the type of its rows (instances hold one row's values).
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from itertools import islice
from operator import itemgetter
from pathlib import Path, PurePath
from typing import TYPE_CHECKING, Any, Literal, ParamSpec, Self, TypeVar, overload

from typing_extensions import dataclass_transform

from . import codecs
from .backend.connection import retrying
from .cascade import delete, delete_quick, drop_quick, drop_tables
from .columns import Column
from .declare import RESERVED, read_fields
from .errors import (
    DuplicateError,
    IntegrityError,
    NotDeclaredError,
    Problem,
    QueryError,
    TypedjError,
    UnknownAttributeError,
    ValidationError,
)
from .heading import Heading, TableDef
from .parents import missing_parents
from .populate.autopopulate import AutoPopulate
from .query.expression import Query, TableNode
from .types import MISSING, Link, Ref, _SqlLiteral
from .types import Attr as Attr
from .types import External as External
from .validation import Validator, oversized

if TYPE_CHECKING:
    from contextlib import AbstractContextManager

    import numpy as np
    import pandas as pd

    from .backend.connection import Connection
    from .objects import StagedInsert
    from .schema import Schema

log = logging.getLogger("typedj")

TT = TypeVar("TT")
P = ParamSpec("P")

AUTO_TIERS = frozenset({"Imported", "Computed"})


_BINDING = frozenset({"_def", "_node", "_schema"})
"""What ``@schema`` gives a class: reading one on an undeclared class says so."""


def _not_declared(cls: type) -> NotDeclaredError:
    reason = cls.__dict__.get("_pending_reason") or "decorate it with a Schema (@schema)"
    return NotDeclaredError(f"{cls.__name__} is not declared yet: {reason}", table=cls.__name__)


@dataclass_transform(kw_only_default=True, field_specifiers=(Attr, External, Link))
class TableMeta(type):
    """Makes table classes queries: ``Subject & {...}``, ``Subject.fetch()``, ``len(Subject)``."""

    if TYPE_CHECKING:  # declared here, not on Table: a row's attributes are only its columns
        _tier: str | None
        _def: TableDef
        _schema: Schema
        _node: TableNode
        _refs: dict[str, dict[str, str]]
        _master: type[Table] | None
        _parts: tuple[type[Table], ...]
        _validator: Validator | None
        _allow_insert: int

    def __new__(mcls, name: str, bases: tuple[type, ...], ns: dict[str, Any], **kw: Any) -> TableMeta:
        cls = super().__new__(mcls, name, bases, ns, **kw)
        parts = []
        for value in ns.values():
            if isinstance(value, TableMeta) and getattr(value, "_tier", None) == "Part":
                value._master = cls  # type: ignore[assignment]  # a table class
                parts.append(value)
        cls._parts = tuple(parts)  # type: ignore[arg-type]  # table classes
        return cls

    # -- the query of the rows ---------------------------------------------------------

    def _query(cls: type[TT]) -> Query[TT]:
        node = cls.__dict__.get("_node")
        if node is None:
            raise _not_declared(cls)
        return Query(node, cls)

    def __and__(cls: type[TT], condition: Any) -> Query[TT]:
        return TableMeta._query(cls).restrict(condition)

    def __sub__(cls: type[TT], condition: Any) -> Query[TT]:
        return TableMeta._query(cls).restrict(condition, negate=True)

    def __mul__(cls, other: Any) -> Query[dict[str, Any]]:
        return cls._query().join(other)

    def __rmul__(cls, other: Any) -> Query[dict[str, Any]]:
        return Query(Query.__rmul__(cls._query(), other)._node)

    def __len__(cls) -> int:
        return len(cls._query())

    def __iter__(cls: type[TT]) -> Iterator[TT]:
        return iter(TableMeta._query(cls))

    def __contains__(cls, item: Any) -> bool:
        return item in cls._query()

    def __bool__(cls) -> bool:
        return True

    if not TYPE_CHECKING:  # to checkers, only declared attributes are class attributes

        def __getattr__(cls, name: str) -> Any:
            """An inherited attribute (``Session.subject_id``) is a column at class level too.
            On a class ``@schema`` has not declared, its binding (``_def``...) and the
            properties that need it (``heading``) raise ``NotDeclaredError``."""
            table_def = cls.__dict__.get("_def")
            if table_def is None and (name in _BINDING or name in vars(TableMeta)):
                raise _not_declared(cls)
            if table_def is not None and not name.startswith("_") and name in table_def.heading:
                return Column(name, cls.__name__)
            raise AttributeError(
                f"type object {cls.__name__!r} has no attribute {name!r}", name=name, obj=cls
            )

    @property
    def heading(cls) -> Heading:
        """The attributes: names, types, keys, comments."""
        table_def: TableDef = cls._def
        return table_def.heading

    @property
    def primary_key(cls) -> list[str]:
        return cls.heading.primary_key

    @property
    def table_name(cls) -> str:
        return str(cls._def.name)

    @property
    def full_table_name(cls) -> str:
        return f"{cls._def.schema}.{cls._def.name}"

    @property
    def sql(cls) -> str:
        return cls._query().sql

    def proj(cls, *attributes: Any, **named: Any) -> Query[dict[str, Any]]:
        return cls._query().proj(*attributes, **named)

    def restrict(cls: type[TT], condition: Any, *, negate: bool = False) -> Query[TT]:
        return TableMeta._query(cls).restrict(condition, negate=negate)

    def join(cls, other: Any, *, left: bool = False, semantic_check: bool = True) -> Query[dict[str, Any]]:
        """Natural join on the shared attributes (see ``Query.join``)."""
        return cls._query().join(other, left=left, semantic_check=semantic_check)

    def extend(cls, other: Any, *, semantic_check: bool = True) -> Query[dict[str, Any]]:
        """Every row, with ``other``'s attributes where they match (see ``Query.extend``)."""
        return cls._query().extend(other, semantic_check=semantic_check)

    def aggr(cls, group: Any, *attributes: Any, keep_all_rows: bool = True,
             exclude_nonmatching: bool | None = None, **named: Any) -> Query[dict[str, Any]]:
        """Aggregates over the matching rows of ``group``, one row per row of this table."""
        return cls._query().aggr(group, *attributes, keep_all_rows=keep_all_rows,
                                 exclude_nonmatching=exclude_nonmatching, **named)

    def __add__(cls, other: Any) -> Query[Any]:
        query: Query[Any] = cls._query()
        return query.union(other)

    def __radd__(cls, other: Any) -> Query[Any]:
        return Query.__radd__(cls._query(), other)

    def to_arrow(cls, **options: Any) -> Any:
        return cls._query().to_arrow(**options)

    def to_polars(cls, **options: Any) -> Any:
        return cls._query().to_polars(**options)

    def _repr_html_(cls) -> str:
        """Jupyter shows a table class as a preview of its rows."""
        return cls._query()._repr_html_()

    @overload
    def fetch(
        cls: type[TT], *, order_by: Any = ..., limit: int | None = ..., offset: int | None = ...
    ) -> list[TT]: ...

    @overload
    def fetch(  # type: ignore[overload-overlap]  # "KEY" is a str, answered first
        cls, attribute: Literal["KEY"], /, *, order_by: Any = ..., limit: int | None = ...,
        offset: int | None = ...,
    ) -> list[dict[str, Any]]: ...

    @overload
    def fetch(
        cls, attribute: str, /, *, order_by: Any = ..., limit: int | None = ..., offset: int | None = ...
    ) -> np.ndarray: ...

    @overload
    def fetch(
        cls, attribute: str, second: str, /, *more: str, order_by: Any = ..., limit: int | None = ...,
        offset: int | None = ...,
    ) -> tuple[np.ndarray, ...]: ...

    def fetch(
        cls, *attributes: str, order_by: Any = None, limit: int | None = None, offset: int | None = None
    ) -> Any:
        """All rows as instances of this class, or one array per named attribute."""
        query: Any = cls._query()  # the overloads cannot take a star-args forward
        return query.fetch(*attributes, order_by=order_by, limit=limit, offset=offset)

    @overload
    def fetch1(cls: type[TT]) -> TT: ...

    @overload
    def fetch1(cls, attribute: str, /) -> Any: ...

    @overload
    def fetch1(cls, attribute: str, second: str, /, *more: str) -> tuple[Any, ...]: ...

    def fetch1(cls, *attributes: str) -> Any:
        return cls._query().fetch1(*attributes)

    def to_dicts(cls, **options: Any) -> list[dict[str, Any]]:
        return cls._query().to_dicts(**options)

    def keys(cls, **options: Any) -> list[dict[str, Any]]:
        return cls._query().keys(**options)

    def to_pandas(cls, **options: Any) -> pd.DataFrame:
        return cls._query().to_pandas(**options)

    def to_arrays(cls, *attributes: Any, include_key: bool = False, **options: Any) -> Any:
        """See ``Query.to_arrays``: a structured array, or one array per named attribute."""
        return cls._query().to_arrays(*attributes, include_key=include_key, **options)

    def head(cls, n: int = 25) -> list[dict[str, Any]]:
        """The first ``n`` rows by primary key, as dicts."""
        return cls._query().head(n)

    def tail(cls, n: int = 25) -> list[dict[str, Any]]:
        """The last ``n`` rows by primary key, as dicts, in primary key order."""
        return cls._query().tail(n)

    def parents(cls) -> list[type[Table] | str]:
        """The tables this one refers to: their classes, or full names of tables without one."""
        return _related(cls, "parents")

    def children(cls) -> list[type[Table] | str]:
        """The tables that refer to this one: classes, or full names of tables without one."""
        return _related(cls, "children")

    def ancestors(cls) -> list[type[Table] | str]:
        """This table and every table it depends on, parents first (classes or full names)."""
        return _related(cls, "ancestors")

    def descendants(cls) -> list[type[Table] | str]:
        """This table and every table that depends on it, parents first (classes or full names)."""
        return _related(cls, "descendants")

    def parts(cls) -> list[type[Table] | str]:
        """The part tables of this master (classes, or full names of parts without one)."""
        return _related(cls, "parts")

    def describe(cls) -> str:
        """The table's definition in DataJoint's syntax."""
        return describe(cls)  # type: ignore[arg-type]

    def delete(cls, *, part_integrity: str = "enforce", dry_run: bool = False,
               force: bool = False) -> dict[str, int]:
        """Delete every row, and every dependent row downstream (see ``Query.delete``)."""
        return delete(cls._query(), part_integrity=part_integrity, dry_run=dry_run, force=force)

    def delete_quick(cls) -> int:
        """Delete every row of this table alone, without cascading or asking (see ``Query.delete_quick``)."""
        return delete_quick(cls._query())

    def drop(cls, *, force: bool = False) -> list[str]:
        """Drop the table and every table that depends on it; returns the tables dropped.

        On a terminal with ``config.safemode`` on, lists them and asks first
        (``force=True`` does not ask; a "no" drops nothing and returns ``[]``).
        """
        conn: Connection = cls._schema.connection
        return drop_tables(conn, [cls.full_table_name], force=force)

    def drop_quick(cls) -> list[str]:
        """Drop this table alone, without asking; ``IntegrityError`` naming the tables that
        depend on it if there are any."""
        conn: Connection = cls._schema.connection
        return drop_quick(conn, cls.full_table_name)

    def alter(cls, *, prompt: bool = True, force: bool = False, dry_run: bool = False) -> list[str]:
        """Change the table to match the class: secondary attributes, indexes, comment.

        Prints the differences and the ``ALTER TABLE`` statement; ``dry_run=True`` stops
        there. Otherwise it asks for confirmation (``prompt=True``), refusing when there
        is no terminal unless ``force=True``. Primary key and reference changes are
        refused with an explanation. Returns the statements applied (or planned).
        """
        from .drift import alter_table

        return alter_table(cls, prompt=prompt, force=force, dry_run=dry_run)  # type: ignore[arg-type]


def _related(cls: type, relation: str) -> list[type[Table] | str]:
    from . import graph as graphs

    conn: Connection = cls._schema.connection  # type: ignore[attr-defined]
    names = graphs.related(graphs.for_connection(conn), cls.full_table_name, relation)  # type: ignore[attr-defined]
    return [_class_of(conn, name) for name in names]


def _class_of(conn: Connection, full_name: str) -> type[Table] | str:
    """The class bound to a table on ``conn``, or its full name when no class is."""
    schema_name, table = full_name.split(".", 1)
    schema = conn.schemas.get(schema_name)
    if schema is not None:
        for top in schema.classes.values():
            for candidate in (top, *top.__dict__.get("_parts", ())):
                table_def = candidate.__dict__.get("_def")
                if table_def is not None and table_def.name == table:
                    return candidate  # type: ignore[no-any-return]
    return full_name


class Table(metaclass=TableMeta):
    """Base of the tiers. Subclass a tier (``Manual``, ``Lookup``, ...), not this."""

    if not TYPE_CHECKING:  # the machinery lives on the class, typed on the metaclass (below)
        _tier = None
        _refs = {}
        _master = None
        _parts = ()
        _validator = None
        _allow_insert = 0

    def __init__(self, **values: Any) -> None:
        cls = type(self)
        table_def = cls.__dict__.get("_def")
        if table_def is None:
            raise _not_declared(cls)
        heading: Heading = table_def.heading
        refs = cls._refs
        for name, value in values.items():
            if name in heading:
                self.__dict__[name] = _column_value(refs[name], name, value) if name in refs else value
            elif name in refs:
                setattr(self, name, value)
            else:
                raise TypeError(f"{cls.__name__}() got an unexpected attribute {name!r}")
        missing = []
        for attr in heading:
            if attr.name in self.__dict__ or attr.is_hidden:
                continue
            if attr.auto_increment or isinstance(attr.default, _SqlLiteral):
                continue
            if attr.default is not MISSING or attr.nullable:
                self.__dict__[attr.name] = None if attr.default is MISSING else attr.default
            else:
                missing.append(attr.name)
        if missing:
            raise TypeError(f"{cls.__name__}() is missing required attribute(s) {missing}")

    def __repr__(self) -> str:
        values = ", ".join(f"{k}={v!r}" for k, v in self.__dict__.items() if not k.startswith("_"))
        return f"{type(self).__name__}({values})"

    def __eq__(self, other: object) -> bool:
        if type(other) is not type(self):
            return NotImplemented
        return _comparable(self.__dict__) == _comparable(other.__dict__)

    __hash__ = None  # type: ignore[assignment]

    if not TYPE_CHECKING:  # hidden from checkers, so that a misspelled row attribute is an error

        def __getattr__(self, name: str) -> Any:
            raise AttributeError(f"{type(self).__name__} row has no attribute {name!r}")

    def __and__(self, condition: Any) -> Query[Self]:
        """In ``make``, ``self & key`` is the table restricted, as in DataJoint."""
        return TableMeta._query(type(self)).restrict(condition)

    def __sub__(self, condition: Any) -> Query[Self]:
        return TableMeta._query(type(self)).restrict(condition, negate=True)

    # -- binding -----------------------------------------------------------------

    @classmethod
    def _bind(cls, schema: Schema, table_def: TableDef) -> None:
        cls._schema = schema
        cls._def = table_def
        cls._node = TableNode(schema.name, table_def.name, table_def.heading, schema.connection)
        cls._validator = None
        for f in read_fields(cls):
            raw = cls.__dict__.get(f.name, MISSING)
            if isinstance(raw, Column):
                raw = raw.default
            columns = cls._refs.get(f.name, {})
            if f.ref is not None and f.name not in columns.values():
                setattr(cls, f.name, Ref(f.name, columns))
            else:  # a column, or a reference named like its one column (which it then is)
                setattr(cls, f.name, Column(f.name, cls.__name__, raw))

    @classmethod
    def _unbind(cls) -> None:
        for name in ("_def", "_node", "_schema"):
            if name in cls.__dict__:
                delattr(cls, name)

    # -- inserting ---------------------------------------------------------------

    @classmethod
    def insert(
        cls,
        rows: Iterable[Any],
        *,
        skip_duplicates: bool = False,
        ignore_extra_fields: bool = False,
        replace: bool = False,
        allow_direct_insert: bool | None = None,
        chunk_size: int | None = None,
    ) -> int:
        """Insert rows: instances, mappings or tuples in any iterable, a pandas DataFrame,
        a numpy record array, an Arrow table or stream (pyarrow, polars, anything with
        ``__arrow_c_stream__`` or ``to_arrow``), or a ``pathlib.Path`` to a CSV file.

        Every row is validated first; one error lists every problem of every row, and
        nothing is written unless all rows are valid. The batch is one transaction.
        ``chunk_size=N`` reads, validates and sends N rows at a time, so a huge input (an
        iterator, a CSV file, an Arrow stream) needs memory for N rows only; the whole
        insert is still one transaction, all or nothing. Returns the number of rows given.
        """
        return insert(
            cls, rows, skip_duplicates=skip_duplicates, ignore_extra_fields=ignore_extra_fields,
            replace=replace, allow_direct_insert=allow_direct_insert, chunk_size=chunk_size,
        )

    @classmethod
    def validate(cls, rows: Iterable[Any], *, ignore_extra_fields: bool = False,
                 raise_errors: bool = False) -> list[Problem]:
        """Check rows as ``insert`` would, without inserting anything.

        Returns every problem of every row (row shape, unknown or missing attributes,
        types, lengths, ranges, nulls), empty when all rows are valid; with
        ``raise_errors=True`` a non-empty report is raised as ``ValidationError``. What
        only the server knows (duplicate keys, missing parent rows) is not checked.
        """
        problems = validate_rows(cls, rows, ignore_extra_fields=ignore_extra_fields)
        if problems and raise_errors:
            raise ValidationError(cls.__name__, problems)
        return problems

    @overload
    @classmethod
    def insert1(
        cls,
        row: Table | Mapping[str, Any] | Sequence[Any],  # not Self: ``self.insert1(Row(...))`` in make
        /,
        *,
        skip_duplicates: bool = False,
        ignore_extra_fields: bool = False,
        replace: bool = False,
        allow_direct_insert: bool | None = None,
    ) -> None: ...

    @overload
    @classmethod
    def insert1(cls: Callable[P, TT], /, *args: P.args, **kwargs: P.kwargs) -> None: ...

    @classmethod
    def insert1(cls, row: Any = MISSING, /, *args: Any, **kwargs: Any) -> None:
        """Insert one row: a mapping or instance, or the attributes as keyword arguments."""
        if row is MISSING:
            insert(cls, [kwargs])
            return
        if args:
            raise TypeError("insert1 takes one row")
        insert(cls, [row], **kwargs)

    @classmethod
    def staged_insert1(cls) -> AbstractContextManager[StagedInsert]:
        """Insert one row whose ``Object`` attributes are written straight into their store.

        ``with Table.staged_insert1() as staged:`` set ``staged.rec[...]`` (the primary key
        first), write through ``staged.store(attr, ".zarr")`` (a mapping, e.g. for Zarr)
        or ``staged.open(attr, ".h5")``; the row is inserted when the block ends. If the
        block or the insert fails, the objects written are removed and no row is left.
        """
        from .objects import staged_insert1

        return staged_insert1(cls)

    @classmethod
    def update1(cls, row: Mapping[str, Any] | Table) -> None:
        """Correct secondary attributes of one existing row, found by its primary key.

        Only for Manual and Lookup tables: the results of ``make`` are changed by
        deleting and populating again.
        """
        update1(cls, row)


class Lookup(Table):
    """Parameters and fixed vocabularies; ``contents`` are inserted at declaration."""

    _tier = "Lookup"

    if TYPE_CHECKING:  # to checkers, ``type[Lookup]`` stands for any table: any attributes

        def __init__(self, **values: Any) -> None: ...


class Manual(Table):
    """Data entered by people or ingestion scripts."""

    _tier = "Manual"

    if TYPE_CHECKING:  # to checkers, ``type[Manual]`` stands for any table: any attributes

        def __init__(self, **values: Any) -> None: ...


class Imported(AutoPopulate, Table):
    """Rows computed by ``make`` from data outside the database."""

    _tier = "Imported"

    if TYPE_CHECKING:  # to checkers, ``type[Imported]`` stands for any table: any attributes

        def __init__(self, **values: Any) -> None: ...


class Computed(AutoPopulate, Table):
    """Rows computed by ``make`` from other tables."""

    _tier = "Computed"

    if TYPE_CHECKING:  # to checkers, ``type[Computed]`` stands for any table: any attributes

        def __init__(self, **values: Any) -> None: ...


class Part(Table):
    """Detail rows of a master row, nested in the master's class, inserted with it."""

    _tier = "Part"

    if TYPE_CHECKING:  # to checkers, ``type[Part]`` stands for any table: any attributes

        def __init__(self, **values: Any) -> None: ...


def _comparable(values: dict[str, Any]) -> dict[str, Any]:
    import numpy as np

    return {k: (v.tolist() if isinstance(v, np.ndarray) else v) for k, v in values.items()}


# -- insert ---------------------------------------------------------------------------


def _row_dict(cls: type[Table], row: Any, index: int, names: list[str]) -> dict[str, Any]:
    if type(row) is dict:  # the common case first: an ABC isinstance costs more than the check
        refs = cls._refs
        if not refs or not any(ref in row for ref in refs):
            return row  # not copied: the steps before validation replace rows, never change them
        out = row.copy()
    elif isinstance(row, Table):
        return {k: v for k, v in row.__dict__.items()}
    elif isinstance(row, Mapping):
        out = dict(row)
    elif hasattr(row, "dtype") and getattr(row.dtype, "names", None):
        out = dict(zip(row.dtype.names, row.tolist(), strict=True))
    elif isinstance(row, Sequence) and not isinstance(row, str | bytes):
        if len(row) != len(names):
            raise QueryError(
                f"{cls.__name__}: row {index} has {len(row)} values; a positional row needs "
                f"{len(names)} ({names})"
            )
        return dict(zip(names, row, strict=True))
    else:
        raise TypeError(f"{cls.__name__}: row {index} is a {type(row).__name__}, not a row")
    for ref, columns in cls._refs.items():
        if ref in out and ref in cls._def.heading:  # a reference named like its one column
            out[ref] = _column_value(columns, ref, out[ref])
        elif ref in out:
            value = out.pop(ref)
            if isinstance(value, Table):
                value = value.__dict__
            if isinstance(value, Mapping):
                for parent, local in columns.items():
                    out[local] = value.get(parent, value.get(local))
            elif len(columns) == 1:
                out[next(iter(columns.values()))] = value
            else:
                raise QueryError(f"{cls.__name__}: row {index}: {ref!r} needs a mapping of {list(columns)}")
    return out


def _column_value(columns: Mapping[str, str], name: str, value: Any) -> Any:
    """The column ``name`` of a reference named like it, from a parent row or key, or the bare value."""
    if isinstance(value, Table):
        value = value.__dict__
    if isinstance(value, Mapping):
        parent = next(p for p, local in columns.items() if local == name)
        return value.get(parent, value.get(name))
    return value


def _as_rows(rows: Any) -> list[Any]:
    return rows if isinstance(rows, list) else list(_row_source(rows))


def _row_source(rows: Any) -> Iterable[Any]:
    """The rows of any input, recognised by what it can do rather than by its class:
    Arrow streams (pyarrow, polars, ...), pandas frames, record arrays, a CSV path,
    or any iterable of rows (read lazily, so ``chunk_size`` bounds memory)."""
    if isinstance(rows, PurePath):
        if rows.suffix.lower() != ".csv":
            raise TypeError(f"insert reads a path only as a CSV file (.csv), not {rows.name!r}")
        return _csv_rows(Path(rows))
    if hasattr(rows, "to_dict") and hasattr(rows, "index") and hasattr(rows, "columns"):
        frame = rows.reset_index() if any(n is not None for n in rows.index.names) else rows
        records: list[Any] = frame.to_dict("records")
        return records
    if hasattr(rows, "__arrow_c_stream__") or hasattr(rows, "to_arrow") or hasattr(rows, "to_batches"):
        return _arrow_rows(rows)
    names = getattr(getattr(rows, "dtype", None), "names", None)
    if names:
        return (dict(zip(names, r, strict=True)) for r in rows.tolist())
    if isinstance(rows, Mapping | Table | str | bytes):
        raise TypeError("insert takes a collection of rows; use insert1 for one row")
    return rows  # type: ignore[no-any-return]


def _csv_rows(path: Path) -> Iterator[dict[str, Any]]:
    """Rows of a CSV file with a header line; an empty cell is an omitted value (its default)."""
    import csv

    with path.open(newline="", encoding="utf-8") as f:
        for row in csv.DictReader(f):
            yield {k: v for k, v in row.items() if v != ""}


def _arrow_rows(table: Any) -> Iterator[dict[str, Any]]:
    """Rows of an Arrow table or stream, one record batch at a time."""
    from .optional import require

    pa = require("pyarrow", extra="arrow", feature="inserting an Arrow table")
    if hasattr(table, "to_batches"):
        batches: Iterable[Any] = table.to_batches()
    elif hasattr(table, "__arrow_c_stream__"):
        batches = pa.RecordBatchReader.from_stream(table)
    else:
        batches = table.to_arrow().to_batches()
    for batch in batches:
        yield from batch.to_pylist()


_COERCED_KINDS = frozenset({"int", "float", "str", "bool", "decimal"})
"""Kinds whose validation turns numpy scalars into Python values by itself."""


def _normalize_scalars(rows: list[dict[str, Any]], heading: Heading) -> None:
    names = [a.name for a in heading if a.kind not in _COERCED_KINDS]
    if not names:
        return
    import numpy as np

    for i, row in enumerate(rows):
        for k in names:
            v = row.get(k)
            if isinstance(v, np.generic):
                row = rows[i] = {**row, k: v.item()}  # a copy: the row may be the caller's


def validator(cls: type[Table]) -> Validator:
    v = cls.__dict__.get("_validator")
    if v is None:
        v = Validator(cls.__name__, cls._def.heading)
        cls._validator = v
    return v


def validate_rows(
    cls: type[Table], rows: Iterable[Any], *, ignore_extra_fields: bool = False
) -> list[Problem]:
    """Every problem ``insert`` would find in ``rows``, by row; nothing is written."""
    heading = cls._def.heading
    names = heading.names
    problems: list[Problem] = []
    data: list[dict[str, Any]] = []
    positions: list[int] = []
    for i, r in enumerate(_as_rows(rows)):
        try:
            row = _row_dict(cls, r, i, names)
        except (QueryError, TypeError) as exc:
            problems.append(Problem(row=i, attribute=None, message=str(exc).split(": ", 1)[-1]))
            continue
        data.append({k: v for k, v in row.items() if k in heading} if ignore_extra_fields else row)
        positions.append(i)
    _normalize_scalars(data, heading)
    try:
        validator(cls).validate(data)
    except ValidationError as exc:
        problems += [dataclasses.replace(p, row=positions[p.row]) for p in exc.problems]
    return sorted(problems, key=lambda p: (p.row, p.attribute or ""))


def insert(
    cls: type[Table],
    rows: Iterable[Any],
    *,
    skip_duplicates: bool = False,
    ignore_extra_fields: bool = False,
    replace: bool = False,
    allow_direct_insert: bool | None = None,
    chunk_size: int | None = None,
) -> int:
    options: dict[str, Any] = dict(skip_duplicates=skip_duplicates, ignore_extra_fields=ignore_extra_fields,
                                   replace=replace, allow_direct_insert=allow_direct_insert)
    if chunk_size is None:
        return _insert_batch(cls, _as_rows(rows), **options)
    if chunk_size < 1:
        raise ValueError("chunk_size is a positive number of rows")
    source = iter(_row_source(rows))
    total = 0
    with cls._schema.connection.transaction():
        while chunk := list(islice(source, chunk_size)):
            try:
                total += _insert_batch(cls, chunk, **options)
            except ValidationError as exc:
                shifted = [dataclasses.replace(p, row=p.row + total) for p in exc.problems]
                raise ValidationError(cls.__name__, shifted) from exc
    return total


def _insert_batch(
    cls: type[Table],
    rows: list[Any],
    *,
    skip_duplicates: bool,
    ignore_extra_fields: bool,
    replace: bool,
    allow_direct_insert: bool | None,
) -> int:
    tier = cls._tier
    master = cls._master
    if (tier in AUTO_TIERS or (master is not None and master._tier in AUTO_TIERS)) and not (
        allow_direct_insert or (master or cls).__dict__.get("_allow_insert", 0)
    ):
        raise TypedjError(
            f"{cls.__name__} is auto-populated: rows are inserted by its make() through "
            "populate(); pass allow_direct_insert=True to insert directly",
            table=cls.__name__,
        )
    table_def = cls._def
    heading = table_def.heading
    names = heading.names
    data = [_row_dict(cls, r, i, names) for i, r in enumerate(rows)]
    if not data:
        return 0
    if ignore_extra_fields:
        data = [{k: v for k, v in d.items() if k in heading} for d in data]
    _normalize_scalars(data, heading)
    valid = validator(cls).validate(data)
    groups: dict[tuple[str, ...], list[dict[str, Any]]] = {}
    if set(map(len, valid)) == {len(names)}:  # every row gives every attribute: one statement
        groups[tuple(names)] = valid
    else:
        for row in valid:  # rows that omit different defaults need different statements
            groups.setdefault(tuple(row), []).append(row)
    conn = cls._schema.connection
    ctx = codecs.Context(table_def.schema, table_def.name, conn)
    limit = conn.catalog.size_limit()
    too_big: list[Problem] = []
    statements = []
    for present, members in groups.items():
        columns = tuple(n for n in heading.all_names if n in present)
        group_ctx = ctx
        if any(heading[c].kind in codecs.KEYED for c in columns):
            group_ctx = dataclasses.replace(
                ctx, keys=tuple({k: m[k] for k in heading.primary_key if k in m} for m in members))
        encoders = [(i, codecs.encoder(heading[c], group_ctx)) for i, c in enumerate(columns)]
        if len(columns) > 1:
            params: list[Any] = list(map(itemgetter(*columns), members))
        else:  # one column, or none: every attribute takes its default
            params = [tuple(m[c] for c in columns) for m in members]
        if any(encode for _, encode in encoders):
            matrix = list(zip(*params, strict=True))
            for i, encode in encoders:
                if encode is not None:
                    matrix[i] = tuple(encode(list(matrix[i])))
            params = list(zip(*matrix, strict=True))
        if limit is not None:
            positions = None if len(groups) == 1 else [_position(valid, m) for m in members]
            too_big += oversized(columns, params, limit, positions)
        sql = conn.dialect.insert(
            table_def.schema, table_def.name, columns, skip_duplicates=skip_duplicates, replace=replace
        )
        statements.append((sql, params))
    if too_big:
        raise ValidationError(cls.__name__, sorted(too_big, key=lambda p: p.row))
    def write() -> None:
        with conn.transaction():
            for sql, params in statements:
                conn.executemany(sql, params)

    try:
        if conn.in_transaction:
            write()  # a deadlock rolled back the caller's whole transaction: theirs to repeat
        else:
            retrying(write)
    except IntegrityError as exc:
        duplicate = isinstance(exc, DuplicateError)
        missing = [] if duplicate else missing_parents(conn, table_def, valid, _encode_column(heading, ctx))
        if missing:
            raise IntegrityError(
                f"{cls.__name__}: refers to missing parent rows:\n  " + "\n  ".join(missing),
                table=table_def.name, sql=exc.sql, server_message=exc.server_message, code=exc.code,
            ) from exc
        hint = "; pass skip_duplicates=True to skip rows already present" if duplicate else ""
        exc.args = (f"{cls.__name__}: {exc}{hint}", *exc.args[1:])
        exc.table = exc.table or table_def.name
        raise
    return len(valid)


def _encode_column(heading: Heading, ctx: codecs.Context) -> Callable[[str, list[Any]], list[Any]]:
    def encode(name: str, values: list[Any]) -> list[Any]:
        fn = codecs.encoder(heading[name], ctx)
        return list(fn(values)) if fn is not None else values

    return encode


def _position(rows: list[dict[str, Any]], row: dict[str, Any]) -> int:
    return next(i for i, r in enumerate(rows) if r is row)


def update1(cls: type[Table], row: Mapping[str, Any] | Table) -> None:
    table_def = cls._def
    if cls._tier in AUTO_TIERS or cls._tier == "Part":
        raise TypedjError(
            f"{cls.__name__}: update1 is for Manual and Lookup tables; delete and populate "
            "again to change computed results",
            table=table_def.name,
        )
    values = dict(row.__dict__ if isinstance(row, Table) else row)
    heading = table_def.heading
    unknown = [k for k in values if k not in heading]
    if unknown:
        raise UnknownAttributeError(
            f"{cls.__name__}.update1: {unknown} are not attributes; it has {heading.names}",
            table=table_def.name, attribute=unknown[0],
        )
    key = {k: values[k] for k in heading.primary_key if k in values}
    missing = [k for k in heading.primary_key if k not in values and not k.startswith("_")]
    if missing:
        raise TypedjError(f"{cls.__name__}.update1: the row must give its primary key; missing {missing}",
                          table=table_def.name, attribute=missing[0])
    changes = {k: v for k, v in values.items() if k not in heading.primary_key}
    if not changes:
        raise TypedjError(f"{cls.__name__}.update1: nothing to update", table=table_def.name)
    conn = cls._schema.connection
    with conn.transaction():
        current = (cls & key).to_dicts()
        if len(current) != 1:
            raise TypedjError(
                f"{cls.__name__}.update1: no row with key {key}; update1 changes an existing row",
                table=table_def.name,
            )
        merged = {**current[0], **changes}
        merged = {k: v for k, v in merged.items() if not (v is None and heading[k].has_default)}
        valid = validator(cls).validate([merged])[0]
        ctx = codecs.Context(table_def.schema, table_def.name, conn)
        columns = list(changes)
        params = []
        for c in columns:
            encode = codecs.encoder(heading[c], ctx)
            value = valid.get(c)
            params.append(encode([value])[0] if encode and value is not None else value)
        key_params = []
        for k in heading.primary_key:
            encode = codecs.encoder(heading[k], ctx)
            key_params.append(encode([key[k]])[0] if encode else key[k])
        try:
            conn.query(conn.dialect.update(table_def.schema, table_def.name, columns, heading.primary_key),
                       params + key_params)
        except IntegrityError as exc:
            missing = missing_parents(conn, table_def, [valid], _encode_column(heading, ctx))
            if not missing:
                raise
            raise IntegrityError(
                f"{cls.__name__}.update1: refers to a missing parent row: " + missing[0].split(": ", 1)[1],
                table=table_def.name, sql=exc.sql, server_message=exc.server_message, code=exc.code,
            ) from exc


# -- describe -------------------------------------------------------------------------


def _class_name(table: str) -> str:
    return "".join(p.capitalize() for p in table.split("__")[-1].lstrip("_#").split("_"))


def describe(cls: type[Table]) -> str:
    """DataJoint's definition text of a table, as datajoint-python would print it."""
    return definition(cls._def)


def definition(table_def: TableDef) -> str:
    """DataJoint's definition text of a table read from the catalog (no class needed)."""
    lines = [f"# {table_def.comment}"] if table_def.comment else []
    fk_of = {col: fk for fk in reversed(table_def.foreign_keys) for col in fk.attr_map}
    done: set[int] = set()
    for in_key in (True, False):
        if not in_key and table_def.heading.secondary:  # as DataJoint: no divider before nothing
            lines.append("---")
        for attr in table_def.heading:
            if attr.in_key != in_key or attr.is_hidden:
                continue
            fk = fk_of.get(attr.name)
            if fk is None:
                lines.append(attr.definition_line())
                continue
            if id(fk) in done:
                continue
            done.add(id(fk))
            target = _class_name(fk.parent_table)  # DataJoint names the master too, not "master"
            if (fk.parent_table.count("__") and not fk.parent_table.startswith("__")) or (
                fk.parent_table.startswith("__") and fk.parent_table[2:].count("__")
            ) or (fk.parent_table.startswith("#") and "__" in fk.parent_table):
                head = fk.parent_table.rsplit("__", 1)[0]
                target = f"{_class_name(head)}.{target}"
            if fk.parent_schema != table_def.schema:
                target = f"{fk.parent_schema}.{target}"
            options = [o for o, on in (("nullable", fk.nullable), ("unique", fk.unique)) if on]
            opts = f"[{', '.join(options)}] " if options else ""
            renames = {local: parent for local, parent in fk.attr_map.items() if local != parent}
            proj = ""
            if renames:
                proj = ".proj(" + ",".join(f'{k}="{v}"' for k, v in renames.items()) + ")"
            lines.append(f"-> {opts}{target}{proj}")
    for index in table_def.indexes:
        lines.append(f"{'UNIQUE ' if index.unique else ''}INDEX ({', '.join(index.attributes)})")
    return "\n".join(lines) + "\n"


__all__ = ["RESERVED", "Computed", "Imported", "Lookup", "Manual", "Part", "Table"]
