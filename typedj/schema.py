"""Schema: binds table classes to a database, creates their tables, keeps the catalog."""

from __future__ import annotations

import inspect
import logging
import warnings
from collections.abc import Callable, Iterable, Iterator
from dataclasses import replace
from typing import TYPE_CHECKING, Any, TypeVar

from . import drift, legacy
from . import graph as graphs
from .backend.connection import Connection, connect
from .binding import bind, bound, register_loader, unbind, with_lineage
from .cascade import drop_tables
from .config import config
from .declare import compare, declare, job_metadata_columns, table_name_of
from .errors import (
    DeclarationError,
    DeclarationPendingWarning,
    DriftWarning,
    MissingTableError,
    TypedjError,
    warn,
)
from .heading import Heading, TableDef
from .populate.surface import AutoPopulate
from .query.expression import TableNode
from .table import Table

if TYPE_CHECKING:
    from .populate.jobs import Jobs

log = logging.getLogger("typedj")

T = TypeVar("T", bound=type)


_CATALOG_CLASSES: list[Callable[[Schema], Iterable[type[Table]]]] = []


def register_catalog_classes(make: Callable[[Schema], Iterable[type[Table]]]) -> None:
    """How ``get_table`` and iteration make classes for tables no class declares:
    ``virtual.py`` registers its builder when imported (``import typedj`` does). It builds
    on ``Schema``, so ``Schema`` takes it this way instead of importing it."""
    _CATALOG_CLASSES[:] = [make]


class _NotReady(Exception):
    def __init__(self, parent: Any):
        super().__init__(parent)
        self.parent = parent


class Schema:
    """A database on the server. Decorate table classes with it to declare them.

    ``Schema("lab")`` creates the database if needed (``create_schema=False`` to require
    that it exists) and, as each class is decorated, its table (``create_tables=False``
    to only bind classes to existing tables). A class that disagrees with its existing
    table raises ``DeclarationError``; with ``allow_drift=True`` it is bound to the table
    as it is, with a warning, so that ``diff()`` lists and ``Table.alter()`` applies the
    changes.

    A schema declared by datajoint-python 0.14 (recognized by its ``~log`` table) is read
    and extended in 0.14's layout (``layout == "0.14"``, see ``legacy.py``);
    ``layout="0.14"`` creates a new schema in that layout, for pipelines that 0.14 clients
    share.
    """

    def __init__(
        self,
        name: str,
        *,
        connection: Connection | None = None,
        create_schema: bool = True,
        create_tables: bool = True,
        allow_drift: bool = False,
        layout: str | None = None,
    ):
        self.name = name
        self.connection = connection or connect()
        self.create_tables = create_tables
        self.allow_drift = allow_drift
        self.classes: dict[str, type[Table]] = {}
        """The declared classes (parts included) by table name: a part and a table may share a class name."""
        self.declared: dict[str, TableDef] = {}
        """Each class's definition as declared (which may differ from ``tables``)."""
        self._pending: list[type[Table]] = []
        self._catalog: list[type[Table]] | None = None
        dialect = self.connection.dialect
        if not self.connection.catalog.schema_exists(name):
            if not create_schema:
                raise MissingTableError(f"schema {name!r} does not exist on {self.connection.url}")
            for sql in dialect.create_schema(name):
                self.connection.query(sql)
        self.tables: dict[str, TableDef] = {}
        self.lineage: dict[str, dict[str, str]] = {}
        self.has_lineage = False
        self.layout = "2"
        """``"2"``: DataJoint 2.x's layout; ``"0.14"``: datajoint-python 0.14's."""
        self.reload()
        if layout not in (None, "2", legacy.LAYOUT):
            raise DeclarationError(f"Schema {name!r}: layout is '2' or '0.14', not {layout!r}")
        if layout == legacy.LAYOUT and self.layout != legacy.LAYOUT:
            if any(not t.startswith("~") for t in self.tables):
                raise DeclarationError(
                    f"Schema {name!r}: its tables are in DataJoint 2.x's layout; layout='0.14' "
                    "is for new schemas and for schemas datajoint 0.14 declared"
                )
            self._create_hidden(legacy.log_table(name))
            self.layout = legacy.LAYOUT
        self.connection.schemas[name] = self
        graphs.invalidate(self.connection)

    def __repr__(self) -> str:
        waiting = "".join(f", {name} pending ({why})" for name, why in self.pending.items())
        return f"Schema({self.name!r}, {len(self.tables)} tables{waiting})"

    def reload(self) -> None:
        """Read the catalog (tables, columns, keys) and ``~lineage`` from the server again."""
        self.tables = self.connection.catalog.load_catalog(self.name)
        if legacy.detect(self.tables):
            self.tables = legacy.read_catalog(self.name, self.tables)
            self.layout = legacy.LAYOUT
        self.lineage = {}
        self.has_lineage = "~lineage" in self.tables
        if self.has_lineage:
            rows = self.connection.query(
                f"SELECT table_name, attribute_name, lineage FROM "
                f"{self.connection.dialect.table(self.name, '~lineage')}"
            ).fetchall()
            for table, attribute, lineage in rows:
                self.lineage.setdefault(table, {})[attribute] = lineage

    # -- declaring ------------------------------------------------------------------

    def __call__(self, cls: T) -> T:
        """Declare ``cls`` (and its parts) here; tables are created parents first."""
        if not (isinstance(cls, type) and issubclass(cls, Table)):
            raise DeclarationError(f"@schema decorates table classes, not {cls!r}")
        self._pending = [c for c in self._pending if c.__qualname__ != cls.__qualname__]  # a redefinition
        if "_pending_reason" in cls.__dict__:
            del cls._pending_reason  # type: ignore[attr-defined]
        self._pending.append(cls)
        self._declare_pending()
        if cls in self._pending:
            warnings.warn(
                f"{cls.__dict__.get('_pending_reason', cls.__name__ + ' waits')}: its table is created "
                "once that class is declared with a schema",
                DeclarationPendingWarning,
                stacklevel=2,
            )
        return cls

    @property
    def pending(self) -> dict[str, str]:
        """Classes decorated here whose tables wait for a referenced class, and why."""
        return {c.__name__: c.__dict__.get("_pending_reason", "waiting") for c in self._pending}

    def _declare_pending(self) -> None:
        """Declare every waiting class that can be; a class that fails leaves the queue (the
        schema keeps accepting others) and the first failure is raised after the rest ran."""
        failures: list[TypedjError] = []
        progress = True
        while progress and self._pending:
            progress = False
            for cls in list(self._pending):
                try:
                    self._declare(cls)
                except _NotReady:
                    continue
                except TypedjError as exc:
                    failures.append(exc)
                self._pending.remove(cls)
                progress = True
        if failures:
            raise failures[0]

    def _parent(self, cls: type[Table]) -> Callable[[Any], tuple[TableDef, dict[str, str]]]:
        def lookup(parent: Any) -> tuple[TableDef, dict[str, str]]:
            if isinstance(parent, str):
                raise _NotReady(parent)
            if not (isinstance(parent, type) and issubclass(parent, Table)):
                raise DeclarationError(
                    f"{cls.__name__}: Ref[...] takes a table class, not {parent!r}", table=cls.__name__
                )
            table_def = getattr(parent, "_def", None)
            if table_def is None or "_def" not in parent.__dict__:
                if parent is cls:
                    raise DeclarationError(f"{cls.__name__} cannot reference itself")
                cls._pending_reason = (  # type: ignore[attr-defined]
                    f"{cls.__name__} waits for {getattr(parent, '__name__', parent)} to be declared"
                )
                raise _NotReady(parent)
            lineage = bound(parent)._schema.lineage.get(table_def.name, {})
            return table_def, {a.name: a.lineage or lineage.get(a.name, "") for a in table_def.heading}

        return lookup

    def _declare(self, cls: type[Table]) -> None:
        try:
            known = {c.__name__: c for s in self.connection.schemas.values() for c in s.classes.values()}
            table_def, lineage = declare(cls, self.name, self._parent(cls), known)
            if self.layout == legacy.LAYOUT:
                table_def = legacy.adapt(table_def)
        except DeclarationError as exc:
            if "cannot resolve an annotation" in str(exc):
                missing = getattr(exc.__cause__, "name", None)
                cls._pending_reason = (  # type: ignore[attr-defined]
                    f"{cls.__name__} waits for {missing}, which is not defined yet" if missing else str(exc)
                )
                raise _NotReady(cls) from exc
            raise
        existing = self.tables.get(table_def.name)
        conn = self.connection
        declared, drifted = table_def, False
        if existing is not None:
            problems = compare(table_def, existing)
            if problems and (self.allow_drift or drift.tolerated()):
                warn(f"{cls.__name__} differs from {self.name}.{table_def.name} (bound to the table as "
                     "it is; see schema.diff()):\n  " + "\n  ".join(problems), DriftWarning)
                table_def, drifted = existing, True
            elif problems:
                raise DeclarationError(
                    f"{cls.__name__} does not match the existing table "
                    f"{self.name}.{table_def.name}:\n  " + "\n  ".join(problems) + "\n"
                    f"To change the table to the class: declare with tj.Schema({self.name!r}, "
                    f"allow_drift=True), review schema.diff(), then {cls.__name__}.alter(). To "
                    "use the table as it is: change the class (typedj codegen writes it). To start "
                    "over (deleting its rows): drop the table and declare again.",
                    table=table_def.name,
                )
            table_def = with_lineage(table_def, self.lineage.get(table_def.name))
        elif not self.create_tables:
            raise MissingTableError(
                f"{cls.__name__}: table {self.name}.{table_def.name} does not exist "
                "and this schema does not create tables",
                table=table_def.name,
            )
        else:
            self._create(_with_job_metadata(table_def, cls), lineage)
        self.declared[declared.name] = declared
        bind(cls, self, table_def)
        self.classes[table_def.name] = cls
        graphs.invalidate(conn)
        contents = getattr(cls, "contents", None)
        if contents is not None and getattr(cls, "_tier", None) == "Lookup" and not drifted:
            cls.insert(contents, skip_duplicates=True)  # a drifted class's go in after alter()
        for part in getattr(cls, "_parts", ()):
            self._pending.append(part)

    def _create(self, table_def: TableDef, lineage: dict[str, str]) -> None:
        conn = self.connection
        dialect = conn.dialect
        if not self.has_lineage:
            conn.query(dialect.lineage_table(self.name))
            self.has_lineage = True
        if self.layout == legacy.LAYOUT:
            for fk in table_def.foreign_keys:
                if fk.parent_table.startswith(legacy.EXTERNAL_PREFIX) and fk.parent_table not in self.tables:
                    store = fk.parent_table.removeprefix(legacy.EXTERNAL_PREFIX)
                    self._create_hidden(legacy.external_table(self.name, store))
        for sql in dialect.create_table(table_def):
            conn.query(sql)
        if self.layout == legacy.LAYOUT:
            legacy.log_event(conn, self.name, f"Declared {dialect.table(self.name, table_def.name)}")
        if lineage:
            rows = [(table_def.name, attr, origin) for attr, origin in lineage.items()]
            with conn.transaction():
                lineage_table = dialect.table(self.name, "~lineage")
                conn.query(
                    f"DELETE FROM {lineage_table} WHERE table_name = {dialect.placeholder}",
                    (table_def.name,),
                )
                conn.executemany(
                    dialect.insert(self.name, "~lineage", ["table_name", "attribute_name", "lineage"]),
                    rows,
                )
        self.lineage[table_def.name] = dict(lineage)
        self.tables[table_def.name] = table_def
        log.info("created table %s.%s", self.name, table_def.name)

    def _create_hidden(self, table_def: TableDef) -> None:
        """Create one of the schema's hidden tables (``~log``, ``~external_<store>``, ...)."""
        for sql in self.connection.dialect.create_table(table_def):
            self.connection.query(sql)
        self.tables[table_def.name] = table_def

    # -- reading --------------------------------------------------------------------

    def node(self, table: str) -> TableNode:
        """The query node of a table of this schema, whether or not a class declares it."""
        cls = self.classes.get(table)
        if cls is not None:
            return bound(cls)._node
        table_def = self.tables.get(table)
        if table_def is None:
            raise MissingTableError(f"no table {table!r} in schema {self.name!r}", table=table)
        heading = with_lineage(table_def, self.lineage.get(table)).heading
        return TableNode(self.name, table, heading, self.connection)

    def diff(self) -> list[drift.Difference]:
        """How the declared classes differ from their tables on the server (see ``drift``)."""
        return drift.diff_schema(self)

    def list_tables(self) -> list[str]:
        """User tables (hidden ``~`` tables excluded), parents first."""
        g = graphs.build(t for t in self.tables.values() if not t.name.startswith("~"))
        return [n.split(".", 1)[1] for n in graphs.ordered(g) if n.split(".", 1)[0] == self.name]

    def drop(self, *, force: bool = False) -> None:
        """Drop every table of this schema, their dependents elsewhere, and the database.

        On a terminal with ``config.safemode`` on, the tables are listed and a "yes" is
        needed first, as for ``Table.drop`` (``force=True`` skips the question); a "no"
        drops nothing.
        """
        names = [f"{self.name}.{t}" for t in self.tables if not t.startswith("~")]
        if names and not drop_tables(self.connection, names, force=force):
            return
        self.connection.catalog.drop_database(self.name)
        self.connection.schemas.pop(self.name, None)
        graphs.invalidate(self.connection)
        for cls in self.classes.values():
            unbind(cls)
        self.classes.clear()
        self.tables.clear()

    def __contains__(self, cls: object) -> bool:
        return isinstance(cls, type) and table_name_of(cls) in self.tables

    # -- the tables as classes ------------------------------------------------------

    @property
    def exists(self) -> bool:
        """Whether the database is still on the server (``drop()`` or another client removes it)."""
        return self.connection.catalog.schema_exists(self.name)

    def get_table(self, name: str) -> type[Table]:
        """The table ``name``: its class declared here, or a class made from the catalog.

        ``name`` is a class name (``"Session"``, ``"Session.Trial"`` for a part) or a table
        name (``"session"``, ``"__summary__block"``). Tables without a declared class get
        one built from the catalog, as ``tj.virtual_module`` builds them (no code runs).
        """
        for cls in self._all_classes():
            if name in (bound(cls)._def.name, cls.__qualname__.rpartition("<locals>.")[2], cls.__name__):
                return cls
        raise MissingTableError(
            f"schema {self.name!r} has no table {name!r}; it has {self.list_tables()}", table=name
        )

    def __getitem__(self, name: str) -> type[Table]:
        """``schema["Session"]``: the same as ``get_table``."""
        return self.get_table(name)

    def __iter__(self) -> Iterator[type[Table]]:
        """The classes of every table (parts included), parents first."""
        by_table = {bound(cls)._def.name: cls for cls in self._all_classes()}
        return iter([by_table[t] for t in self.list_tables() if t in by_table])

    @property
    def jobs(self) -> list[Jobs]:
        """The jobs tables of the schema's auto-populated tables, parents first."""
        return [cls.jobs for cls in self if issubclass(cls, AutoPopulate)]

    def make_classes(self, namespace: dict[str, Any] | None = None) -> dict[str, type[Table]]:
        """Put a class for every table of the schema not yet in ``namespace`` there.

        DataJoint's ``spawn_missing_classes`` for notebooks: ``schema.make_classes()``
        fills the caller's globals (parts stay nested in their masters); returns what it
        added. Code meant to last is better written once with ``typedj codegen``.
        """
        if namespace is None:
            frame = inspect.currentframe()
            namespace = frame.f_back.f_globals if frame is not None and frame.f_back is not None else {}
        added: dict[str, type[Table]] = {}
        for cls in self:
            if bound(cls)._tier != "Part" and cls.__name__ not in namespace:
                namespace[cls.__name__] = added[cls.__name__] = cls
        return added

    def _all_classes(self) -> list[type[Table]]:
        """Declared classes first, then catalog-made ones for the other tables."""
        declared = self._with_parts(self.classes.values())
        have = {bound(cls)._def.name for cls in declared}
        if not all(t in have for t in self.list_tables()):
            declared += [c for c in self._catalog_classes() if bound(c)._def.name not in have]
        return declared

    def _catalog_classes(self) -> list[type[Table]]:
        if self._catalog is None:
            if not _CATALOG_CLASSES:
                raise TypedjError("classes made from the catalog need typedj.virtual, which `import "
                                  "typedj` loads")
            self._catalog = self._with_parts(_CATALOG_CLASSES[0](self))
        return self._catalog

    @staticmethod
    def _with_parts(classes: Iterable[type[Table]]) -> list[type[Table]]:
        return [c for cls in classes for c in (cls, *bound(cls)._parts)]


def list_schemas(connection: Connection | None = None) -> list[str]:
    """The names of the schemas (databases) on the server, system databases excluded."""
    conn = connection or connect()
    return conn.catalog.list_schemas()


def _with_job_metadata(table_def: TableDef, cls: type[Table]) -> TableDef:
    """With ``config.job_metadata``, an auto-populated table is created with datajoint-python's
    hidden job columns (the class does not declare them, so either setting matches it later)."""
    if not config.job_metadata or getattr(cls, "_tier", None) not in ("Imported", "Computed"):
        return table_def
    extra = [a for a in job_metadata_columns() if a.name not in table_def.heading]
    return replace(table_def, heading=Heading((*table_def.heading.attributes, *extra)))


register_loader(lambda conn, name: Schema(name, connection=conn, create_schema=False))
