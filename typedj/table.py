"""Table tiers: the class-level surface of a table (its query, insert, update1, describe).

Writing rows lives in ``write.py`` (reading inputs into rows in ``rows.py``); deleting
and dropping (cascades through dependents) in ``cascade.py``.

A table class is three things at once: a declaration (its annotations), the query of its
rows (operators and fetch methods live on the metaclass, so row instances keep a clean
namespace), and the type of its rows (instances hold one row's values).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Literal, ParamSpec, Self, TypeVar, overload

from typing_extensions import dataclass_transform

from . import write
from .cascade import delete, delete_quick, drop_quick, drop_tables
from .columns import Column
from .declare import RESERVED, read_fields
from .errors import (
    NotDeclaredError,
    Problem,
    ValidationError,
)
from .heading import Heading, TableDef
from .populate.autopopulate import AutoPopulate
from .query.expression import Query, TableNode
from .rows import Row, Target, column_value
from .types import MISSING, Link, Ref, _SqlLiteral
from .types import Attr as Attr
from .types import External as External
from .validation import Validator

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

    def restrict(cls: type[TT], condition: Any, *, negate: bool = False,
                 semantic_check: bool = True) -> Query[TT]:
        return TableMeta._query(cls).restrict(condition, negate=negate, semantic_check=semantic_check)

    def join(cls, other: Any, *, left: bool = False, semantic_check: bool = True) -> Query[dict[str, Any]]:
        """Natural join on the shared attributes (see ``Query.join``)."""
        return cls._query().join(other, left=left, semantic_check=semantic_check)

    def extend(cls, other: Any, *, semantic_check: bool = True) -> Query[dict[str, Any]]:
        """Every row, with ``other``'s attributes where they match (see ``Query.extend``)."""
        return cls._query().extend(other, semantic_check=semantic_check)

    def aggr(cls, group: Any, *attributes: Any, keep_all_rows: bool = True,
             exclude_nonmatching: bool | None = None, semantic_check: bool = True,
             **named: Any) -> Query[dict[str, Any]]:
        """Aggregates over the matching rows of ``group``, one row per row of this table."""
        return cls._query().aggr(group, *attributes, keep_all_rows=keep_all_rows,
                                 exclude_nonmatching=exclude_nonmatching,
                                 semantic_check=semantic_check, **named)

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


class Table(Row, metaclass=TableMeta):
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
                self.__dict__[name] = column_value(refs[name], name, value) if name in refs else value
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
        return write.insert(
            target(cls), rows, skip_duplicates=skip_duplicates, ignore_extra_fields=ignore_extra_fields,
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
        problems = write.validate_rows(target(cls), rows, ignore_extra_fields=ignore_extra_fields)
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
            write.insert(target(cls), [kwargs])
            return
        if args:
            raise TypeError("insert1 takes one row")
        write.insert(target(cls), [row], **kwargs)

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
        write.update1(target(cls), dict(row.__dict__ if isinstance(row, Table) else row))


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


# -- writing rows ---------------------------------------------------------------------


def validator(cls: type[Table]) -> Validator:
    v = cls.__dict__.get("_validator")
    if v is None:
        v = Validator(cls.__name__, cls._def.heading)
        cls._validator = v
    return v


def target(cls: type[Table]) -> Target:
    """What writing rows needs to know of ``cls``, now (an auto-populated table accepts
    direct inserts while its ``make`` runs)."""
    master = cls._master
    auto = cls._tier in AUTO_TIERS or (master is not None and master._tier in AUTO_TIERS)
    return Target(
        name=cls.__name__,
        table_def=cls._def,
        refs=cls._refs,
        connection=cls._schema.connection,
        validator=validator(cls),
        tier=cls._tier,
        direct_insert_refused=auto and not (master or cls).__dict__.get("_allow_insert", 0),
    )


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
