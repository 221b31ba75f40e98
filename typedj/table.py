"""Table tiers: the class-level surface of a table (its query, insert, update1, describe).

Writing rows lives in ``write.py`` (reading inputs into rows in ``rows.py``); deleting
and dropping (cascades through dependents) in ``cascade.py``.

A table class is three things at once: a declaration (its annotations), the query of its
rows (operators and fetch methods live on the metaclass, so row instances keep a clean
namespace), and the type of its rows (instances hold one row's values).
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Concatenate, Literal, ParamSpec, Self, TypeVar, overload

from typing_extensions import dataclass_transform

from . import graph as graphs
from . import write
from .binding import BINDING as _BINDING
from .binding import bound
from .cascade import drop_quick, drop_tables
from .columns import Column
from .declare import RESERVED
from .definition import definition
from .drift import alter_table
from .errors import (
    NotDeclaredError,
    Problem,
    ValidationError,
)
from .heading import Heading, TableDef
from .populate.surface import AutoPopulate
from .query.expression import Query
from .rows import Row, Target, column_value
from .types import MISSING, Link, _SqlLiteral
from .types import Attr as Attr
from .types import External as External
from .validation import Validator

if TYPE_CHECKING:
    from contextlib import AbstractContextManager

    import numpy as np

    from .backend.connection import Connection
    from .objects import StagedInsert

log = logging.getLogger("typedj")

TT = TypeVar("TT")
T = TypeVar("T")
P = ParamSpec("P")

AUTO_TIERS = frozenset({"Imported", "Computed"})




def _forward(method: Callable[Concatenate[Query[Any], P], T]) -> Callable[Concatenate[Any, P], T]:
    """``Session.name(...)`` is ``Query.name`` run on the query of the class's rows, with
    Query's signature (for checkers and ``inspect``) and docstring."""

    def forwarded(cls: Any, /, *args: P.args, **kwargs: P.kwargs) -> T:
        return method(rows_of(cls), *args, **kwargs)

    functools.update_wrapper(forwarded, method)
    forwarded.__qualname__ = f"TableMeta.{method.__name__}"
    return forwarded


def rows_of(cls: type[TT]) -> Query[TT]:
    """The query of a table class's rows (``NotDeclaredError`` before ``@schema``)."""
    node = cls.__dict__.get("_node")
    if node is None:
        raise _not_declared(cls)
    return Query(node, cls)


def _not_declared(cls: type) -> NotDeclaredError:
    reason = cls.__dict__.get("_pending_reason") or "decorate it with a Schema (@schema)"
    return NotDeclaredError(f"{cls.__name__} is not declared yet: {reason}", table=cls.__name__)


@dataclass_transform(kw_only_default=True, field_specifiers=(Attr, External, Link))
class TableMeta(type):
    """Makes table classes queries: ``Subject & {...}``, ``Subject.fetch()``, ``len(Subject)``."""

    def __new__(mcls, name: str, bases: tuple[type, ...], ns: dict[str, Any], **kw: Any) -> TableMeta:
        cls = super().__new__(mcls, name, bases, ns, **kw)
        parts = []
        for value in ns.values():
            if isinstance(value, TableMeta) and getattr(value, "_tier", None) == "Part":
                bound(value)._master = cls
                parts.append(value)
        bound(cls)._parts = tuple(parts)
        return cls

    # -- the query of the rows: Query's surface, written once there ----------------------

    if not TYPE_CHECKING:  # machinery: editors offer a class its columns and its surface

        def _query(cls):
            return rows_of(cls)

        _repr_html_ = _forward(Query._repr_html_)  # Jupyter shows a class as a preview of its rows

    # What keeps the row type (``Session & key`` is a ``Query[Session]``) is declared here
    # with ``cls: type[TT]``: checkers cannot carry Query's ``R`` through a forwarder.
    # tests/test_surface.py holds these to Query's signatures.

    def restrict(
        cls: type[TT], condition: Any, *, negate: bool = False, semantic_check: bool = True
    ) -> Query[TT]:
        return rows_of(cls).restrict(condition, negate=negate, semantic_check=semantic_check)

    def __and__(cls: type[TT], condition: Any) -> Query[TT]:
        return rows_of(cls).restrict(condition)

    def __sub__(cls: type[TT], condition: Any) -> Query[TT]:
        return rows_of(cls).restrict(condition, negate=True)

    def __iter__(cls: type[TT]) -> Iterator[TT]:
        return iter(rows_of(cls))

    @overload
    def fetch(cls: type[TT]) -> list[TT]: ...

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

    @overload
    def fetch(
        cls: type[TT], *, order_by: Any = ..., limit: int | None = ..., offset: int | None = ...
    ) -> list[TT]: ...

    def fetch(
        cls, *attributes: str, order_by: Any = None, limit: int | None = None, offset: int | None = None
    ) -> Any:
        """All rows as instances of this class, or one array per named attribute."""
        query: Any = rows_of(cls)  # the overloads cannot take a star-args forward
        return query.fetch(*attributes, order_by=order_by, limit=limit, offset=offset)

    @overload
    def fetch1(cls: type[TT]) -> TT: ...

    @overload
    def fetch1(cls, attribute: str, /) -> Any: ...

    @overload
    def fetch1(cls, attribute: str, second: str, /, *more: str) -> tuple[Any, ...]: ...

    def fetch1(cls, *attributes: str) -> Any:
        """Exactly one row as an instance of this class (or its named values)."""
        return bound(cls)._query().fetch1(*attributes)

    # The rest of Query's surface, forwarded with its exact signature: the one list.
    join = _forward(Query.join)
    extend = _forward(Query.extend)
    __mul__ = _forward(Query.__mul__)
    __rmul__ = _forward(Query.__rmul__)
    union = _forward(Query.union)
    __add__ = _forward(Query.__add__)
    __radd__ = _forward(Query.__radd__)
    proj = _forward(Query.proj)
    aggr = _forward(Query.aggr)
    __len__ = _forward(Query.__len__)
    __contains__ = _forward(Query.__contains__)
    to_dicts = _forward(Query.to_dicts)
    keys = _forward(Query.keys)
    to_pandas = _forward(Query.to_pandas)
    to_arrays = _forward(Query.to_arrays)
    to_arrow = _forward(Query.to_arrow)
    to_polars = _forward(Query.to_polars)
    head = _forward(Query.head)
    tail = _forward(Query.tail)
    delete = _forward(Query.delete)
    delete_quick = _forward(Query.delete_quick)

    def __bool__(cls) -> bool:
        return True  # a class is there even when its query has no rows

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
        table_def: TableDef = bound(cls)._def
        return table_def.heading

    @property
    def primary_key(cls) -> list[str]:
        return cls.heading.primary_key

    @property
    def table_name(cls) -> str:
        return str(bound(cls)._def.name)

    @property
    def full_table_name(cls) -> str:
        return f"{bound(cls)._def.schema}.{bound(cls)._def.name}"

    @property
    def sql(cls) -> str:
        return bound(cls)._query().sql

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

    def drop(cls, *, force: bool = False) -> list[str]:
        """Drop the table and every table that depends on it; returns the tables dropped.

        On a terminal with ``config.safemode`` on, lists them and asks first
        (``force=True`` does not ask; a "no" drops nothing and returns ``[]``).
        """
        conn: Connection = bound(cls)._schema.connection
        return drop_tables(conn, [cls.full_table_name], force=force)

    def drop_quick(cls) -> list[str]:
        """Drop this table alone, without asking; ``IntegrityError`` naming the tables that
        depend on it if there are any."""
        conn: Connection = bound(cls)._schema.connection
        return drop_quick(conn, cls.full_table_name)

    def alter(cls, *, prompt: bool = True, force: bool = False, dry_run: bool = False) -> list[str]:
        """Change the table to match the class: secondary attributes, indexes, comment.

        Prints the differences and the ``ALTER TABLE`` statement; ``dry_run=True`` stops
        there. Otherwise it asks for confirmation (``prompt=True``), refusing when there
        is no terminal unless ``force=True``. Primary key and reference changes are
        refused with an explanation. Returns the statements applied (or planned).
        """
        return alter_table(cls, prompt=prompt, force=force, dry_run=dry_run)


def _related(cls: type, relation: str) -> list[type[Table] | str]:
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
        refs = bound(cls)._refs
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
        return rows_of(type(self)).restrict(condition)

    def __sub__(self, condition: Any) -> Query[Self]:
        return rows_of(type(self)).restrict(condition, negate=True)

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

    if not TYPE_CHECKING:  # machinery: editors offer rows their columns only
        _tier = "Lookup"

    if TYPE_CHECKING:  # to checkers, ``type[Lookup]`` stands for any table: any attributes

        def __init__(self, **values: Any) -> None: ...


class Manual(Table):
    """Data entered by people or ingestion scripts."""

    if not TYPE_CHECKING:  # machinery: editors offer rows their columns only
        _tier = "Manual"

    if TYPE_CHECKING:  # to checkers, ``type[Manual]`` stands for any table: any attributes

        def __init__(self, **values: Any) -> None: ...


class Imported(AutoPopulate, Table):
    """Rows computed by ``make`` from data outside the database."""

    if not TYPE_CHECKING:  # machinery: editors offer rows their columns only
        _tier = "Imported"

    if TYPE_CHECKING:  # to checkers, ``type[Imported]`` stands for any table: any attributes

        def __init__(self, **values: Any) -> None: ...


class Computed(AutoPopulate, Table):
    """Rows computed by ``make`` from other tables."""

    if not TYPE_CHECKING:  # machinery: editors offer rows their columns only
        _tier = "Computed"

    if TYPE_CHECKING:  # to checkers, ``type[Computed]`` stands for any table: any attributes

        def __init__(self, **values: Any) -> None: ...


class Part(Table):
    """Detail rows of a master row, nested in the master's class, inserted with it."""

    if not TYPE_CHECKING:  # machinery: editors offer rows their columns only
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
        v = Validator(cls.__name__, bound(cls)._def.heading,
                      nul=bound(cls)._schema.connection.dialect.supports_nul_in_text)
        bound(cls)._validator = v
    return v


def target(cls: type[Table]) -> Target:
    """What writing rows needs to know of ``cls``, now (an auto-populated table accepts
    direct inserts while its ``make`` runs)."""
    master = bound(cls)._master
    auto = bound(cls)._tier in AUTO_TIERS or (master is not None and bound(master)._tier in AUTO_TIERS)
    return Target(
        name=cls.__name__,
        table_def=bound(cls)._def,
        refs=bound(cls)._refs,
        connection=bound(cls)._schema.connection,
        validator=validator(cls),
        tier=bound(cls)._tier,
        direct_insert_refused=auto and not (master or cls).__dict__.get("_allow_insert", 0),
    )


# -- describe -------------------------------------------------------------------------


def describe(cls: type[Table]) -> str:
    """DataJoint's definition text of a table, as datajoint-python would print it."""
    return definition(bound(cls)._def)


__all__ = ["RESERVED", "Computed", "Imported", "Lookup", "Manual", "Part", "Table"]
