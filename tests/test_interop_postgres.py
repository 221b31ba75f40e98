"""datajoint-python 2.3.5 and typedj on one PostgreSQL server: each reads and writes what the other made.

One pipeline is declared by datajoint-python on a PostgreSQL server the tests start
(pytest-postgresql, Debian's postgresql binaries): a Lookup with contents, a Manual table
with enum/date/decimal/uuid/json/bool/varchar/datetime/nullable attributes and indexes, two
renamed references to one parent, a Computed table with a Part and an in-table blob filled
by a jobs-reserved ``populate``, a table without a primary key and a uuid-keyed table.
What it writes is the contract: :data:`LAYOUT` is the catalog it leaves (tables, columns,
types, defaults, comments, constraints, indexes, enum types, ``~lineage`` and the
``~~spikes`` jobs table), recorded from datajoint-python 2.3.5 and compared entry by entry.
Where datajoint-python 2.3.5 is broken on PostgreSQL the tests pin the breakage (so a fixed
release shows up here) and typedj is held to the documented layout instead; docs/interop.md
lists them.
"""

from __future__ import annotations

import glob
import importlib
import os
import platform
import subprocess
import sys
import textwrap
import time
import uuid
import warnings
from collections import Counter
from collections.abc import Iterator
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any, Literal
from urllib.parse import unquote, urlsplit

import numpy as np
import pytest

import typedj as tj
from typedj import Attr, Blob, Computed, Index, Key, Link, Lookup, Manual, Part, Ref

psycopg = pytest.importorskip("psycopg", reason="psycopg 3 (the PostgreSQL driver) is not installed")
psycopg2 = pytest.importorskip("psycopg2", reason="psycopg2 (datajoint-python's driver) is not installed")
with warnings.catch_warnings():
    warnings.simplefilter("ignore")  # "no datajoint.json found"
    dj = pytest.importorskip("datajoint", reason="datajoint-python (the reference peer) is not installed")

if not (os.environ.get("TYPEDJ_TEST_POSTGRES_URL") or glob.glob("/usr/lib/postgresql/*/bin/pg_ctl")):
    pytest.skip("no PostgreSQL server: its binaries are not installed", allow_module_level=True)


# -- the server (tests/conftest.py's ``postgres_url``) and the two clients ----------------------------


def server(url: str) -> dict[str, Any]:
    """The connection parameters in ``url``, as psycopg takes them."""
    u = urlsplit(url)
    return {"host": u.hostname, "port": u.port, "user": unquote(u.username or ""),
            "password": unquote(u.password or ""), "dbname": u.path.strip("/") or "postgres"}


@pytest.fixture(scope="module")
def raw(postgres_url: str) -> Iterator[Any]:
    """A plain psycopg connection in autocommit mode, for reading the catalog as it is."""
    with psycopg.connect(**server(postgres_url), autocommit=True) as connection:
        yield connection


@pytest.fixture
def dj_pg(postgres_url: str) -> Iterator[Any]:
    """datajoint-python connected to the server with its PostgreSQL backend (global config untouched)."""
    s = server(postgres_url)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        connection = dj.Connection(s["host"], s["user"], s["password"], port=s["port"], use_tls=False,
                                   database_name=s["dbname"], backend="postgresql")
    yield connection
    connection.close()


@pytest.fixture
def pg_conn(postgres_url: str) -> tj.Connection:
    """typedj connected to the server."""
    return tj.connect(postgres_url)


@pytest.fixture
def pg_schema(request: pytest.FixtureRequest, raw: Any) -> Iterator[str]:
    """A fresh schema name (and ``<name>_dj``); both are dropped afterwards."""
    name = f"t_{request.node.name.lower()[:30]}_{os.getpid() % 10000}".replace("[", "_").replace("]", "")
    yield name
    for schema in (name, f"{name}_dj"):
        raw.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


@pytest.fixture
def keep_completed_jobs() -> Iterator[None]:
    """datajoint-python keeps ``success`` rows in its jobs tables (they are deleted by default)."""
    saved = dj.config["jobs.keep_completed"]
    dj.config["jobs.keep_completed"] = True
    yield
    dj.config["jobs.keep_completed"] = saved


# -- the pipeline, in DataJoint's definition language ---------------------------------------------


def declare_datajoint(schema: Any) -> dict[str, Any]:
    """The pipeline in DataJoint's definition language; returns the classes by name."""

    @schema
    class Species(dj.Lookup):
        definition = """
        # species of animals
        species : varchar(32)   # common name
        ---
        latin = "" : varchar(64)
        """
        contents = [("mouse", "Mus musculus"), ("rat", "Rattus norvegicus")]

    @schema
    class Subject(dj.Manual):
        definition = """
        # experimental animals
        subject_id : int32
        ---
        -> Species
        sex = "U" : enum('M','F','U')
        date_of_birth = null : date
        weight : decimal(5,2)    # grams
        uid = null : uuid
        meta = null : json
        alive = 1 : bool
        notes = "" : varchar(1024)  # free text
        score = null : float64
        seen = null : datetime(3)
        index (sex)
        unique index (uid)
        """

    @schema
    class Cell(dj.Manual):
        definition = """
        -> Subject
        cell_id : int16
        ---
        -> [nullable] Species.proj(alt_species="species")
        """

    @schema
    class Synapse(dj.Manual):
        definition = """
        -> Cell.proj(pre="cell_id")
        -> Cell.proj(post="cell_id")
        ---
        strength : float32
        """

    @schema
    class Spikes(dj.Computed):
        definition = """
        -> Cell
        ---
        n : int32
        trace : <blob>
        """

        class Unit(dj.Part):
            definition = """
            -> master
            unit_id : int32
            ---
            rate : float64
            """

        def make(self, key: dict[str, Any]) -> None:
            master, unit = spikes_of(key)
            self.insert1(master)
            self.Unit.insert1(unit)

    @schema
    class Setting(dj.Manual):
        definition = """
        # global settings
        ---
        value : varchar(64)
        """

    @schema
    class Scan(dj.Manual):
        definition = """
        scan_uid : uuid
        ---
        -> Subject
        scan_time = CURRENT_TIMESTAMP : datetime
        depth : int8
        """

    return {**{c.__name__: c for c in (Species, Subject, Cell, Synapse, Spikes, Setting, Scan)},
            "Unit": Spikes.Unit}


def spikes_of(key: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """What either client's ``make`` computes for a cell: the master row and one unit."""
    master = {**key, "n": key["cell_id"] * 10, "trace": np.full(3, float(key["cell_id"]))}
    return master, {**key, "unit_id": 0, "rate": key["subject_id"] + 0.5}


def declare_typedj(schema: tj.Schema) -> dict[str, Any]:
    """The same pipeline as typedj classes; returns the classes by name."""

    @schema
    class Species(Lookup):
        """species of animals"""

        species: Key[str] = Attr(max_length=32, comment="common name")
        latin: str = Attr(max_length=64, default="")
        contents = [("mouse", "Mus musculus"), ("rat", "Rattus norvegicus")]

    @schema
    class Subject(Manual):
        """experimental animals"""

        subject_id: Key[int]
        species: Ref[Species]
        sex: Literal["M", "F", "U"] = "U"
        date_of_birth: date | None = None
        weight: Decimal = Attr(precision=5, scale=2, comment="grams")
        uid: uuid.UUID | None = None
        meta: dict[str, Any] | None = None
        alive: bool = True
        notes: str = Attr(max_length=1024, default="", comment="free text")
        score: float | None = None
        seen: datetime | None = Attr(precision=3, default=None)
        indexes = [Index("sex"), Index("uid", unique=True)]

    @schema
    class Cell(Manual):
        subject: Key[Ref[Subject]]
        cell_id: Key[tj.int16]
        alt_species: Ref[Species] = Link(rename={"species": "alt_species"}, nullable=True)

    @schema
    class Synapse(Manual):
        pre: Key[Ref[Cell]] = Link(rename={"cell_id": "pre"})
        post: Key[Ref[Cell]] = Link(rename={"cell_id": "post"})
        strength: tj.float32

    @schema
    class Spikes(Computed):
        cell: Key[Ref[Cell]]
        n: int
        trace: Blob[np.ndarray]

        class Unit(Part):
            unit_id: Key[int]
            rate: float

        def make(self, key: dict[str, Any]) -> None:
            master, unit = spikes_of(key)
            type(self).insert1(master)
            type(self).Unit.insert1(unit)

    @schema
    class Setting(Manual):
        """global settings"""

        value: str = Attr(max_length=64)

    @schema
    class Scan(Manual):
        scan_uid: Key[uuid.UUID]
        subject: Ref[Subject]
        scan_time: datetime = tj.CURRENT_TIMESTAMP
        depth: tj.int8

    return {**{c.__name__: c for c in (Species, Subject, Cell, Synapse, Spikes, Setting, Scan)},
            "Unit": Spikes.Unit}


# One insert call per inner list (datajoint-python wants the same fields in every row of a call).
# No uuid values: datajoint-python 2.3.5 cannot write them on PostgreSQL (see the breakage test).
SEEN = datetime(2024, 3, 4, 5, 6, 7, 123000)
INSERTS: list[tuple[str, list[dict[str, Any]]]] = [
    ("Subject", [{"subject_id": 1, "species": "mouse", "sex": "F", "date_of_birth": date(2024, 1, 2),
                  "weight": Decimal("21.50"), "meta": {"a": [1, 2], "b": None}, "alive": True,
                  "notes": "Grüße, 'quoted' \"text\"", "score": 1.25, "seen": SEEN}]),
    ("Subject", [{"subject_id": 2, "species": "rat", "weight": Decimal("300.00"), "alive": False}]),
    ("Cell", [{"subject_id": 1, "cell_id": 1, "alt_species": "rat"},
              {"subject_id": 1, "cell_id": 2, "alt_species": None},
              {"subject_id": 2, "cell_id": 1, "alt_species": None}]),
    ("Synapse", [{"subject_id": 1, "pre": 1, "post": 2, "strength": 0.5}]),
    ("Setting", [{"value": "on"}]),
]
CELLS = [(1, 1), (1, 2), (2, 1)]

EXPECTED: dict[str, list[dict[str, Any]]] = {
    "Species": [{"species": "mouse", "latin": "Mus musculus"},
                {"species": "rat", "latin": "Rattus norvegicus"}],
    "Subject": [
        {**INSERTS[0][1][0], "uid": None},
        {"subject_id": 2, "species": "rat", "sex": "U", "date_of_birth": None, "weight": Decimal("300.00"),
         "uid": None, "meta": None, "alive": False, "notes": "", "score": None, "seen": None},
    ],
    "Cell": INSERTS[2][1],
    "Synapse": INSERTS[3][1],
    "Spikes": [spikes_of({"subject_id": s, "cell_id": c})[0] for s, c in CELLS],
    "Unit": [spikes_of({"subject_id": s, "cell_id": c})[1] for s, c in CELLS],
    "Setting": [{"value": "on"}],
}


def insert_all(classes: dict[str, Any]) -> None:
    for name, rows in INSERTS:
        classes[name].insert(rows)


def assert_rows(table: str, actual: list[dict[str, Any]], expected: list[dict[str, Any]]) -> None:
    """Rows equal value by value (arrays by content, dtype and shape)."""
    assert len(actual) == len(expected), f"{table}: {actual}"
    for got, want in zip(actual, expected, strict=True):
        assert set(got) == set(want), f"{table}: attributes {sorted(got)} != {sorted(want)}"
        for name, value in want.items():
            if isinstance(value, np.ndarray):
                np.testing.assert_array_equal(got[name], value)
                assert got[name].dtype == value.dtype and got[name].shape == value.shape
            else:
                assert got[name] == value, f"{table}.{name}: {got[name]!r} != {value!r}"
                assert type(got[name]) is type(value) or value is None or isinstance(value, bool), (
                    f"{table}.{name}: {type(got[name]).__name__} for {type(value).__name__}"
                )


# -- the catalog, as PostgreSQL reports it ---------------------------------------------------------


def layout(raw: Any, schema: str) -> dict[str, Any]:
    """Every table's comment, columns, constraints and indexes, and the schema's enum types.

    Columns are ``(name, type, nullable, default, comment)`` in order, the type as
    ``format_type`` spells it; the schema's name is replaced by ``<schema>`` everywhere.
    """

    def norm(text: Any) -> Any:
        if not isinstance(text, str):
            return text
        text = text.replace(f'"{schema}".', "<schema>.").replace(f"{schema}.", "<schema>.")
        return text.replace(schema, "<schema>")

    out: dict[str, Any] = {}
    tables = raw.execute(
        "SELECT c.oid, c.relname, obj_description(c.oid, 'pg_class') FROM pg_class c "
        "JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = %s AND c.relkind = 'r' "
        "ORDER BY c.relname", (schema,)).fetchall()
    for oid, table, comment in tables:
        columns = raw.execute(
            "SELECT a.attname, format_type(a.atttypid, a.atttypmod), NOT a.attnotnull, "
            "pg_get_expr(d.adbin, d.adrelid), col_description(a.attrelid, a.attnum) "
            "FROM pg_attribute a LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum "
            "WHERE a.attrelid = %s AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum", (oid,)
        ).fetchall()
        constraints = raw.execute(
            "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint WHERE conrelid = %s",
            (oid,)).fetchall()
        indexes = raw.execute(
            "SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = %s AND tablename = %s",
            (schema, table)).fetchall()
        out[table] = {
            "comment": norm(comment),
            "columns": [tuple(norm(v) for v in column) for column in columns],
            "constraints": sorted((name, norm(definition)) for name, definition in constraints),
            "indexes": sorted((name, norm(definition)) for name, definition in indexes),
        }
    enums = raw.execute(
        "SELECT t.typname, array_agg(e.enumlabel ORDER BY e.enumsortorder) FROM pg_type t "
        "JOIN pg_enum e ON e.enumtypid = t.oid JOIN pg_namespace n ON n.oid = t.typnamespace "
        "WHERE n.nspname = %s GROUP BY t.typname ORDER BY t.typname", (schema,)).fetchall()
    out["<enum types>"] = {name: list(labels) for name, labels in enums}
    return out


def pk_index(table: str, columns: str) -> tuple[str, str]:
    return (f"{table}_pkey", f'CREATE UNIQUE INDEX {quoted(table + "_pkey")} ON <schema>.{quoted(table)} '
                             f"USING btree ({columns})")


def quoted(name: str) -> str:
    return name if name.replace("_", "a").isalnum() and not name[0].isdigit() else f'"{name}"'


def index(table: str, name: str, columns: str, unique: bool = False) -> tuple[str, str]:
    kind = "UNIQUE INDEX" if unique else "INDEX"
    return (name, f"CREATE {kind} {quoted(name)} ON <schema>.{quoted(table)} USING btree ({columns})")


def fk(table: str, columns: str, parent: str, parent_columns: str, name: str) -> tuple[str, str]:
    return (name, f"FOREIGN KEY ({columns}) REFERENCES <schema>.{quoted(parent)}({parent_columns}) "
                  "ON UPDATE CASCADE ON DELETE RESTRICT")


SEX = "enum_e54fc739"
"""datajoint-python names an enum type ``enum_`` + the first 8 hex digits of the md5 of its
sorted members (as written in the definition, quotes doubled) joined by ``_``; one type per
schema and member set, shared by every column with those members."""
STATUS = "enum_609a743e"
TS3 = "timestamp(3) without time zone"
LINEAGE_COLUMNS = [("table_name", "character varying(64)", False, None, None),
                   ("attribute_name", "character varying(64)", False, None, None),
                   ("lineage", "character varying(255)", False, None, None)]

LAYOUT: dict[str, Any] = {
    "#species": {
        "comment": "species of animals",
        "columns": [("species", "character varying(32)", False, None, ":varchar(32):common name"),
                    ("latin", "character varying(64)", False, "''::character varying", ":varchar(64):")],
        "constraints": [("#species_pkey", "PRIMARY KEY (species)")],
        "indexes": [pk_index("#species", "species")],
    },
    "subject": {
        "comment": "experimental animals",
        "columns": [
            ("subject_id", "integer", False, None, ":int32:"),
            ("species", "character varying(32)", False, None, None),
            ("sex", f"<schema>.{SEX}", False, f"'U'::<schema>.{SEX}", ":enum('M','F','U'):"),
            ("date_of_birth", "date", True, None, ":date:"),
            ("weight", "numeric(5,2)", False, None, ":decimal(5,2):grams"),
            ("uid", "uuid", True, None, ":uuid:"),
            ("meta", "jsonb", True, None, ":json:"),
            ("alive", "boolean", False, "true", ":bool:"),
            ("notes", "character varying(1024)", False, "''::character varying", ":varchar(1024):free text"),
            ("score", "double precision", True, None, ":float64:"),
            ("seen", "timestamp(3) without time zone", True, "NULL::timestamp without time zone",
             ":datetime(3):"),
        ],
        "constraints": [("subject_pkey", "PRIMARY KEY (subject_id)"),
                        fk("subject", "species", "#species", "species", "subject_species_fkey")],
        "indexes": [index("subject", "idx_subject_sex", "sex"),
                    index("subject", "idx_subject_species", "species"),
                    index("subject", "idx_subject_uid", "uid", unique=True),
                    pk_index("subject", "subject_id")],
    },
    "cell": {
        "comment": None,
        "columns": [("subject_id", "integer", False, None, None),
                    ("cell_id", "smallint", False, None, ":int16:"),
                    ("alt_species", "character varying(32)", True, None, None)],
        "constraints": [fk("cell", "alt_species", "#species", "species", "cell_alt_species_fkey"),
                        ("cell_pkey", "PRIMARY KEY (subject_id, cell_id)"),
                        fk("cell", "subject_id", "subject", "subject_id", "cell_subject_id_fkey")],
        "indexes": [index("cell", "idx_cell_alt_species", "alt_species"),
                    pk_index("cell", "subject_id, cell_id")],
    },
    "synapse": {
        "comment": None,
        "columns": [("subject_id", "integer", False, None, None),
                    ("pre", "smallint", False, None, None),
                    ("post", "smallint", False, None, None),
                    ("strength", "real", False, None, ":float32:")],
        "constraints": [("synapse_pkey", "PRIMARY KEY (subject_id, pre, post)"),
                        fk("synapse", "subject_id, post", "cell", "subject_id, cell_id",
                           "synapse_subject_id_post_fkey"),
                        fk("synapse", "subject_id, pre", "cell", "subject_id, cell_id",
                           "synapse_subject_id_pre_fkey")],
        "indexes": [index("synapse", "idx_synapse_subject_id_post", "subject_id, post"),
                    pk_index("synapse", "subject_id, pre, post")],
    },
    "__spikes": {
        "comment": None,
        "columns": [("subject_id", "integer", False, None, None),
                    ("cell_id", "smallint", False, None, None),
                    ("n", "integer", False, None, ":int32:"),
                    ("trace", "bytea", False, None, ":<blob>:")],
        "constraints": [("__spikes_pkey", "PRIMARY KEY (subject_id, cell_id)"),
                        fk("__spikes", "subject_id, cell_id", "cell", "subject_id, cell_id",
                           "__spikes_subject_id_cell_id_fkey")],
        "indexes": [pk_index("__spikes", "subject_id, cell_id")],
    },
    "__spikes__unit": {
        "comment": None,
        "columns": [("subject_id", "integer", False, None, None),
                    ("cell_id", "smallint", False, None, None),
                    ("unit_id", "integer", False, None, ":int32:"),
                    ("rate", "double precision", False, None, ":float64:")],
        "constraints": [("__spikes__unit_pkey", "PRIMARY KEY (subject_id, cell_id, unit_id)"),
                        fk("__spikes__unit", "subject_id, cell_id", "__spikes", "subject_id, cell_id",
                           "__spikes__unit_subject_id_cell_id_fkey")],
        "indexes": [pk_index("__spikes__unit", "subject_id, cell_id, unit_id")],
    },
    "setting": {
        "comment": "global settings",
        "columns": [("value", "character varying(64)", False, None, ":varchar(64):"),
                    ("_singleton", "boolean", False, "true", ":bool:singleton primary key")],
        "constraints": [("setting_pkey", "PRIMARY KEY (_singleton)")],
        "indexes": [pk_index("setting", "_singleton")],
    },
    "scan": {
        "comment": None,
        "columns": [("scan_uid", "uuid", False, None, ":uuid:"),
                    ("subject_id", "integer", False, None, None),
                    ("scan_time", "timestamp without time zone", False, "CURRENT_TIMESTAMP", ":datetime:"),
                    ("depth", "smallint", False, None, ":int8:")],
        "constraints": [("scan_pkey", "PRIMARY KEY (scan_uid)"),
                        fk("scan", "subject_id", "subject", "subject_id", "scan_subject_id_fkey")],
        "indexes": [index("scan", "idx_scan_subject_id", "subject_id"), pk_index("scan", "scan_uid")],
    },
    "~lineage": {
        "comment": None,
        "columns": LINEAGE_COLUMNS,
        "constraints": [("~lineage_pkey", "PRIMARY KEY (table_name, attribute_name)")],
        "indexes": [pk_index("~lineage", "table_name, attribute_name")],
    },
    "~~spikes": {
        "comment": 'Job queue for <schema>."__spikes"',  # the full name as datajoint-python quotes it
        "columns": [
            ("subject_id", "integer", False, None, None),
            ("cell_id", "smallint", False, None, None),
            ("status", f"<schema>.{STATUS}", False, None,
             ":enum('pending', 'reserved', 'success', 'error', 'ignore'):"),
            ("priority", "smallint", False, None, ":int8:"),
            ("created_time", TS3, False, "CURRENT_TIMESTAMP(3)", ":datetime(3):"),
            ("scheduled_time", TS3, False, "CURRENT_TIMESTAMP(3)", ":datetime(3):"),
            ("reserved_time", "timestamp(3) without time zone", True, "NULL::timestamp without time zone",
             ":datetime(3):"),
            ("completed_time", "timestamp(3) without time zone", True, "NULL::timestamp without time zone",
             ":datetime(3):"),
            ("duration", "double precision", True, None, ":float64:"),
            ("error_message", "character varying(2047)", False, "''::character varying", ":varchar(2047):"),
            ("error_stack", "bytea", True, None, ":<blob>:"),
            ("user", "character varying(255)", False, "''::character varying", ":varchar(255):"),
            ("host", "character varying(255)", False, "''::character varying", ":varchar(255):"),
            ("pid", "integer", False, "0", ":int32:"),
            ("connection_id", "bigint", False, "'0'::bigint", ":int64:"),
            ("version", "character varying(64)", False, "''::character varying", ":varchar(64):"),
        ],
        "constraints": [("~~spikes_pkey", "PRIMARY KEY (subject_id, cell_id)")],
        "indexes": [index("~~spikes", "idx_~~spikes_status_priority_scheduled_time",
                          "status, priority, scheduled_time"),
                    pk_index("~~spikes", "subject_id, cell_id")],
    },
    "<enum types>": {SEX: ["M", "F", "U"], STATUS: ["pending", "reserved", "success", "error", "ignore"]},
}

LINEAGE = {
    ("#species", "species", "<schema>.#species.species"),
    ("subject", "subject_id", "<schema>.subject.subject_id"),
    ("subject", "species", "<schema>.#species.species"),
    ("cell", "subject_id", "<schema>.subject.subject_id"),
    ("cell", "cell_id", "<schema>.cell.cell_id"),
    ("cell", "alt_species", "<schema>.#species.species"),
    ("synapse", "subject_id", "<schema>.subject.subject_id"),
    ("synapse", "pre", "<schema>.cell.cell_id"),
    ("synapse", "post", "<schema>.cell.cell_id"),
    ("__spikes", "subject_id", "<schema>.subject.subject_id"),
    ("__spikes", "cell_id", "<schema>.cell.cell_id"),
    ("__spikes__unit", "subject_id", "<schema>.subject.subject_id"),
    ("__spikes__unit", "cell_id", "<schema>.cell.cell_id"),
    ("__spikes__unit", "unit_id", "<schema>.__spikes__unit.unit_id"),
    ("scan", "scan_uid", "<schema>.scan.scan_uid"),
    ("scan", "subject_id", "<schema>.subject.subject_id"),
    ("setting", "_singleton", "<schema>.setting._singleton"),
    # the jobs table declares its key with native types, so its key attributes originate there
    ("~~spikes", "subject_id", "<schema>.~~spikes.subject_id"),
    ("~~spikes", "cell_id", "<schema>.~~spikes.cell_id"),
}


def lineage_rows(raw: Any, schema: str) -> set[tuple[str, str, str]]:
    rows = raw.execute(f'SELECT table_name, attribute_name, lineage FROM "{schema}"."~lineage"').fetchall()
    return {(t, a, lineage.replace(f"{schema}.", "<schema>.")) for t, a, lineage in rows}


def assert_layout(actual: dict[str, Any], expected: dict[str, Any]) -> None:
    """Equal layouts, compared table by table and column by column for a readable failure."""
    assert sorted(actual) == sorted(expected)
    for table, want in expected.items():
        got = actual[table]
        if table == "<enum types>":
            assert got == want
            continue
        assert got["comment"] == want["comment"], table
        assert [c[0] for c in got["columns"]] == [c[0] for c in want["columns"]], table
        for got_column, want_column in zip(got["columns"], want["columns"], strict=True):
            assert got_column == want_column, f"{table}.{want_column[0]}"
        assert got["constraints"] == sorted(want["constraints"]), table
        assert got["indexes"] == sorted(want["indexes"]), table


# -- datajoint-python 2.3.5 on PostgreSQL: the layout it writes ---------------------------------------


def test_datajoint_writes_the_documented_layout(
    raw: Any, dj_pg: Any, pg_schema: str, keep_completed_jobs: None
) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        classes = declare_datajoint(dj.Schema(pg_schema, connection=dj_pg))
        insert_all(classes)
        assert classes["Spikes"].populate(reserve_jobs=True) == {"success_count": 3, "error_list": []}

        for name, rows in EXPECTED.items():
            assert_rows(name, classes[name].to_dicts(order_by="KEY"), rows)

    assert_layout(layout(raw, pg_schema), LAYOUT)
    assert lineage_rows(raw, pg_schema) == LINEAGE

    # the jobs table: one success row per key, reserved by this connection (its backend pid)
    jobs = raw.execute(
        'SELECT subject_id, cell_id, status::text, host, pid, connection_id, "user", '
        "reserved_time IS NOT NULL, completed_time IS NOT NULL, duration >= 0 "
        f'FROM "{pg_schema}"."~~spikes" ORDER BY 1, 2'
    ).fetchall()
    assert [j[:3] for j in jobs] == [(s, c, "success") for s, c in CELLS]
    worker = (platform.node(), os.getpid(), dj_pg.connection_id, "postgres")
    assert {j[3:] for j in jobs} == {(*worker, True, True, True)}
    assert dj_pg.connection_id == dj_pg.query("SELECT pg_backend_pid()").fetchone()[0]

    # the stored values, as the server holds them
    assert raw.execute(f'SELECT sex::text, meta, weight, seen FROM "{pg_schema}".subject WHERE subject_id = 1'
                       ).fetchone() == ("F", {"a": [1, 2], "b": None}, Decimal("21.50"), SEEN)
    blob = raw.execute(f'SELECT trace FROM "{pg_schema}".__spikes WHERE cell_id = 2 AND subject_id = 1'
                       ).fetchone()[0]
    assert bytes(blob[:4]) == b"mYm\0" and dj.blob.unpack(bytes(blob)).tolist() == [2.0, 2.0, 2.0]


def test_where_datajoint_2_3_5_is_broken_on_postgres(raw: Any, dj_pg: Any, pg_schema: str) -> None:
    """Each breakage, pinned: a datajoint-python release that fixes one fails here (then update
    docs/interop.md and hold typedj to the fixed behaviour)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        classes = declare_datajoint(dj.Schema(pg_schema, connection=dj_pg))
        insert_all(classes)
        subject = classes["Subject"]

        # uuid: written as 16 raw bytes into a uuid column (the server refuses them) ...
        with pytest.raises(Exception, match="uuid but expression is of type bytea"):
            subject.insert1({"subject_id": 3, "species": "rat", "weight": 1, "uid": uuid.UUID(int=3)})
        # ... restricted by bytes ...
        with pytest.raises(Exception, match="operator does not exist: uuid = bit"):
            (subject & {"uid": uuid.UUID(int=3)}).to_dicts()
        # ... and read back as if the driver returned bytes (psycopg2 returns the text form)
        raw.execute(f"UPDATE \"{pg_schema}\".subject SET uid = '{uuid.UUID(int=1)}' WHERE subject_id = 1")
        with pytest.raises(ValueError, match="16-char"):
            subject.to_dicts()

        # bytes columns come back as memoryview, char(n) with PostgreSQL's blank padding
        @dj.Schema(pg_schema, connection=dj_pg)
        class Raw(dj.Manual):
            definition = """
            raw_id : int32
            ---
            data : bytes
            code : char(4)
            """

        Raw.insert1({"raw_id": 1, "data": b"\x00\xff", "code": "ab"})
        row = Raw.fetch1()
        assert isinstance(row["data"], memoryview) and bytes(row["data"]) == b"\x00\xff"
        assert row["code"] == "ab  "

        # an enum member with a comma is split into two members of the type
        @dj.Schema(pg_schema, connection=dj_pg)
        class Comma(dj.Manual):
            definition = """
            comma_id : int32
            ---
            kind : enum('a,b', 'c')
            """

        assert layout(raw, pg_schema)["<enum types>"]["enum_8d28cddc"] == ["a", "b", "c"]
        with pytest.raises(Exception, match="invalid input value for enum"):
            Comma.insert1({"comma_id": 1, "kind": "a,b"})

        # describe() prints PostgreSQL's spelling of defaults, not DataJoint's
        text = subject.describe(printout=False)
        assert f"sex='U'::{pg_schema}.{SEX}" in text and "notes=\"''::character varying\"" in text

        # native types of the MySQL dialect (auto_increment, unsigned, longblob) are passed through
        for native in ("int auto_increment", "tinyint unsigned", "longblob"):
            kind = type("Native", (dj.Manual,), {"definition": f"native_id : int32\n---\nx : {native}"})
            with pytest.raises((dj.DataJointError, psycopg2.Error)):
                dj.Schema(pg_schema, connection=dj_pg)(kind)


# -- typedj and datajoint-python on one PostgreSQL pipeline -------------------------------------------


def test_typedj_declares_what_datajoint_declares(
    raw: Any, pg_conn: tj.Connection, dj_pg: Any, pg_schema: str
) -> None:
    """The same classes give the same catalog, entry by entry, and the same ``~lineage``."""
    dj_schema = f"{pg_schema}_dj"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        theirs = declare_datajoint(dj.Schema(dj_schema, connection=dj_pg))
        insert_all(theirs)
        theirs["Spikes"].populate(reserve_jobs=True)
    ours = declare_typedj(tj.Schema(pg_schema, connection=pg_conn))
    insert_all(ours)
    ours["Spikes"].populate(reserve_jobs=True)

    typed = layout(raw, pg_schema)
    assert typed.pop("~provenance")["comment"] is not None  # typedj's own record; datajoint leaves it be
    assert_layout(typed, layout(raw, dj_schema))
    assert_layout(typed, LAYOUT)
    assert lineage_rows(raw, pg_schema) == lineage_rows(raw, dj_schema) == LINEAGE
    for name, rows in EXPECTED.items():
        assert_rows(name, ours[name].to_dicts(order_by="KEY"), rows)


def test_typedj_opens_a_datajoint_schema(
    raw: Any, pg_conn: tj.Connection, dj_pg: Any, pg_schema: str, keep_completed_jobs: None
) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        theirs = declare_datajoint(dj.Schema(pg_schema, connection=dj_pg))
        insert_all(theirs)
        theirs["Spikes"].populate(reserve_jobs=True)

    # without classes: the catalog, the lineage and the rows
    bare = tj.Schema(pg_schema, connection=pg_conn, create_tables=False)
    assert set(bare.list_tables()) == {"#species", "subject", "cell", "synapse", "__spikes",
                                       "__spikes__unit", "setting", "scan"}
    assert bare.lineage["synapse"] == {
        "subject_id": f"{pg_schema}.subject.subject_id",
        "pre": f"{pg_schema}.cell.cell_id",
        "post": f"{pg_schema}.cell.cell_id",
    }
    subject = tj.Query(bare.node("subject"))
    assert_rows("Subject", subject.to_dicts(order_by="KEY"), EXPECTED["Subject"])
    assert subject.heading["uid"].type_name == "uuid" and subject.heading["meta"].kind == "json"

    # with classes: they match the tables (no drift), and every value reads back
    ours = declare_typedj(tj.Schema(pg_schema, connection=pg_conn, create_tables=False))
    for name, rows in EXPECTED.items():
        assert_rows(name, ours[name].to_dicts(order_by="KEY"), rows)
    assert not tj.Schema(pg_schema, connection=pg_conn, create_tables=False).diff()
    pairs = (ours["Cell"] * ours["Subject"]).to_dicts(order_by="KEY")
    assert [(r["subject_id"], r["cell_id"], r["species"]) for r in pairs] == [
        (1, 1, "mouse"), (1, 2, "mouse"), (2, 1, "rat")
    ]
    assert (ours["Subject"] & {"sex": "F"}).to_dicts()[0]["subject_id"] == 1  # the enum type compares
    assert len(ours["Spikes"].jobs.completed) == 3  # datajoint's jobs table, read by typedj

    # typedj writes into the reference's tables (uuid included); the reference reads what it can
    ours["Cell"].insert1({"subject_id": 2, "cell_id": 5, "alt_species": "mouse"})
    ours["Scan"].insert1({"scan_uid": uuid.UUID(int=7), "subject_id": 1, "depth": -3})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        vm = dj.VirtualModule("vm", pg_schema, connection=dj_pg)
        assert (vm.Cell & {"subject_id": 2, "cell_id": 5}).to_dicts() == [
            {"subject_id": 2, "cell_id": 5, "alt_species": "mouse"}
        ]
    scans = raw.execute(f'SELECT scan_uid, depth FROM "{pg_schema}".scan').fetchall()
    assert scans == [(uuid.UUID(int=7), -3)]

    # typedj's cascade follows the reference's foreign keys, renamed ones included
    counts = (ours["Cell"] & {"subject_id": 1, "cell_id": 2}).delete()
    assert counts == {f"{pg_schema}.cell": 1, f"{pg_schema}.synapse": 1, f"{pg_schema}.__spikes": 1,
                      f"{pg_schema}.__spikes__unit": 1}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert len(vm.Synapse()) == 0 and len(vm.Spikes()) == 2 and len(vm.Cell()) == 3


def test_datajoint_opens_a_typedj_schema(pg_conn: tj.Connection, dj_pg: Any, pg_schema: str) -> None:
    ours = declare_typedj(tj.Schema(pg_schema, connection=pg_conn))
    insert_all(ours)
    ours["Spikes"].populate(reserve_jobs=True)

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        vm = dj.VirtualModule("vm", pg_schema, connection=dj_pg)
        by_name = {"Species": vm.Species, "Subject": vm.Subject, "Cell": vm.Cell, "Synapse": vm.Synapse,
                   "Spikes": vm.Spikes, "Unit": vm.Spikes.Unit, "Setting": vm.Setting}
        for name, table in by_name.items():
            assert_rows(name, table.to_dicts(order_by="KEY"), EXPECTED[name])
        # a join the reference allows only if typedj's ~lineage says pre and cell_id are one attribute
        joined = (vm.Synapse * vm.Cell.proj("alt_species", pre="cell_id")).to_dicts()
        assert [(r["pre"], r["post"], r["alt_species"]) for r in joined] == [(1, 2, "rat")]

        # the reference binds its own classes to typedj's tables and writes through them
        theirs = declare_datajoint(dj.Schema(pg_schema, connection=dj_pg))
        theirs["Subject"].insert1({"subject_id": 3, "species": "rat", "sex": "M", "weight": Decimal("1.05"),
                                   "meta": [1, "x"], "notes": "from datajoint"})
        theirs["Cell"].insert1({"subject_id": 3, "cell_id": 9, "alt_species": "mouse"})
        theirs["Spikes"].insert1({"subject_id": 3, "cell_id": 9, "n": 1, "trace": np.array([1, 2], np.int16)},
                                 allow_direct_insert=True)

    row = (ours["Subject"] & {"subject_id": 3}).to_dicts()
    assert_rows("Subject", row, [{"subject_id": 3, "species": "rat", "sex": "M", "date_of_birth": None,
                                  "weight": Decimal("1.05"), "uid": None, "meta": [1, "x"], "alive": True,
                                  "notes": "from datajoint", "score": None, "seen": None}])
    trace = (ours["Spikes"] & {"subject_id": 3}).fetch1("trace")
    np.testing.assert_array_equal(trace, np.array([1, 2], np.int16))
    assert trace.dtype == np.int16


def test_each_client_populates_the_others_computed_table(
    pg_conn: tj.Connection, dj_pg: Any, pg_schema: str
) -> None:
    dj_schema = f"{pg_schema}_dj"

    # datajoint-python populates typedj's Computed table, through typedj's jobs table
    ours = declare_typedj(tj.Schema(pg_schema, connection=pg_conn))
    insert_all(ours)
    ours["Spikes"].jobs.refresh(ours["Spikes"].key_source)
    assert len(ours["Spikes"].jobs.pending) == 3
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        theirs_on_ours = declare_datajoint(dj.Schema(pg_schema, connection=dj_pg))
        assert theirs_on_ours["Spikes"].populate(reserve_jobs=True)["success_count"] == 3
    assert_rows("Spikes", ours["Spikes"].to_dicts(order_by="KEY"), EXPECTED["Spikes"])
    assert_rows("Unit", ours["Unit"].to_dicts(order_by="KEY"), EXPECTED["Unit"])
    assert len(ours["Spikes"].jobs.query) == 0

    # typedj populates datajoint-python's Computed table, through datajoint's jobs table
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        theirs = declare_datajoint(dj.Schema(dj_schema, connection=dj_pg))
        insert_all(theirs)
        theirs["Spikes"].jobs.refresh()
        assert len(theirs["Spikes"].jobs.pending) == 3
    ours_on_theirs = declare_typedj(tj.Schema(dj_schema, connection=pg_conn, create_tables=False))
    ours_on_theirs["Spikes"].populate(reserve_jobs=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert_rows("Spikes", theirs["Spikes"].to_dicts(order_by="KEY"), EXPECTED["Spikes"])
        assert_rows("Unit", theirs["Unit"].to_dicts(order_by="KEY"), EXPECTED["Unit"])
        assert len(theirs["Spikes"].jobs) == 0


# -- jobs: reservations held by sessions, dead workers, worker processes of both clients ------------
#
# A reservation records the worker session's ``pg_backend_pid()`` as its ``connection_id``
# (as datajoint-python 2.3.5 does); a reservation whose session is gone from
# ``pg_stat_activity`` belongs to a dead worker. Reserving is an ``UPDATE ... WHERE status =
# 'pending'``: PostgreSQL locks the row, and a second worker's UPDATE of the same row waits
# for the first to finish and then finds it no longer pending, so a key has one owner, also
# when one worker is datajoint-python (advisory locks would be invisible to it).

PIPELINE = '''
import os
import time
from pathlib import Path

import typedj as tj
from typedj import Computed, Key, Manual, Part, Ref

schema = tj.Schema({schema!r})
LOG = Path({log!r})
PAUSE = Path({pause!r})
GATHER = Path({gather!r})


@schema
class Source(Manual):
    source_id: Key[int]
    value: float


@schema
class Result(Computed):
    source: Key[Ref[Source]]
    doubled: float

    class Piece(Part):
        result: Key[Ref["Result"]]
        piece: Key[int]

    def make(self, key):
        with LOG.open("a") as log:
            log.write(f"tj {{os.getpid()}} {{key['source_id']}}\\n")
        self.insert1({{**key, "doubled": 2 * (Source & key).fetch1("value")}})
        Result.Piece.insert([{{**key, "piece": i}} for i in range(2)])
        while PAUSE.exists():
            time.sleep(0.05)
        deadline = time.monotonic() + 60
        while GATHER.exists() and time.monotonic() < deadline:  # until a second worker makes a key too
            if len({{line.split()[1] for line in LOG.read_text().splitlines()}}) > 1:
                break
            time.sleep(0.02)
'''

DJ_WORKER = '''
import os
import sys
import time
from pathlib import Path

import datajoint as dj

from urllib.parse import unquote, urlsplit

url, schema_name, log = sys.argv[1:4]
u = urlsplit(url)
connection = dj.Connection(u.hostname, unquote(u.username), unquote(u.password or ""), port=u.port,
                           use_tls=False, database_name=u.path.strip("/"), backend="postgresql")
LOG = Path(log)
schema = dj.Schema(schema_name, connection=connection)


@schema
class Source(dj.Manual):
    definition = """
    source_id : int32
    ---
    value : float64
    """


@schema
class Result(dj.Computed):
    definition = """
    -> Source
    ---
    doubled : float64
    """

    class Piece(dj.Part):
        definition = """
        -> master
        piece : int32
        """

    def make(self, key):
        with LOG.open("a") as f:
            f.write(f"dj {os.getpid()} {key['source_id']}\\n")
        deadline = time.monotonic() + 120
        while "tj " not in LOG.read_text() and time.monotonic() < deadline:
            time.sleep(0.05)  # until a typedj worker has started too: the two overlap
        self.insert1({**key, "doubled": 2 * (Source & key).fetch1("value")})
        self.Piece.insert([{**key, "piece": i} for i in range(2)])
        time.sleep(0.02)


Result.populate(reserve_jobs=True)
'''


class Pipeline:
    """The pipeline in a module of its own, importable by worker processes."""

    def __init__(self, folder: Path, schema_name: str, url: str, conn: tj.Connection):
        self.folder, self.url, self.schema_name = folder, url, schema_name
        self.log, self.pause, self.gather = folder / "makes.log", folder / "pause", folder / "gather"
        self.module_name = f"pgjobs_{schema_name}"
        (folder / f"{self.module_name}.py").write_text(
            PIPELINE.format(schema=schema_name, log=str(self.log), pause=str(self.pause),
                            gather=str(self.gather)))
        tj.config.database_url = url
        sys.path.insert(0, str(folder))
        self.module = importlib.import_module(self.module_name)
        self.Source, self.Result = self.module.Source, self.module.Result

    def calls(self) -> list[tuple[str, int, int]]:
        if not self.log.exists():
            return []
        lines = self.log.read_text().splitlines()
        return [(w, int(p), int(k)) for w, p, k in (line.split() for line in lines)]

    def worker(self, *args: str) -> subprocess.Popen[str]:
        return subprocess.Popen(
            [sys.executable, "-m", "typedj.cli", "--database-url", self.url, "populate",
             f"{self.module_name}:Result", *args],
            cwd=self.folder, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )

    def close(self) -> None:
        sys.path.remove(str(self.folder))
        sys.modules.pop(self.module_name, None)


@pytest.fixture
def pipe(tmp_path: Path, pg_schema: str, postgres_url: str, pg_conn: tj.Connection) -> Any:
    saved = tj.config.database_url
    p = Pipeline(tmp_path, pg_schema, postgres_url, pg_conn)
    yield p
    p.close()
    tj.config.database_url = saved


def live(raw: Any, pid: int) -> bool:
    return bool(raw.execute("SELECT 1 FROM pg_stat_activity WHERE pid = %s", (pid,)).fetchall())


def wait_until_gone(raw: Any, pid: int) -> None:
    for _ in range(200):
        if not live(raw, pid):
            return
        time.sleep(0.05)
    raise AssertionError(f"backend {pid} still in pg_stat_activity")


def test_reservations_of_dead_sessions_return_to_pending(pipe: Pipeline, raw: Any, postgres_url: str) -> None:
    pipe.Source.insert([(i, float(i)) for i in range(10)])
    jobs = pipe.Result.jobs
    jobs.refresh(pipe.Result.key_source)
    table = f'"{pipe.schema_name}"."~~result"'
    reserve = (f"UPDATE {table} SET status = 'reserved', connection_id = pg_backend_pid(), "
               "reserved_time = LOCALTIMESTAMP(3) - make_interval(secs => %s) WHERE source_id = ANY(%s)")
    # a worker that crashes (its session ends), one whose session the server terminates, one alive
    crashed, terminated, alive = (psycopg.connect(**server(postgres_url), autocommit=True) for _ in range(3))
    try:
        crashed.execute(reserve, (0, [1, 2]))
        terminated.execute(reserve, (0, [3]))
        alive.execute(reserve, (7200, [4]))  # two hours old, its session alive
        pids = {c: c.info.backend_pid for c in (crashed, terminated, alive)}
        held = raw.execute(f"SELECT source_id, connection_id FROM {table} WHERE status = 'reserved' "
                           "ORDER BY source_id").fetchall()
        assert held == [(1, pids[crashed]), (2, pids[crashed]), (3, pids[terminated]), (4, pids[alive])]
        assert jobs.recover() == 0  # every session lives

        crashed.close()
        raw.execute("SELECT pg_terminate_backend(%s)", (pids[terminated],))
        wait_until_gone(raw, pids[crashed])
        wait_until_gone(raw, pids[terminated])
        assert jobs.recover() == 3
        assert [r["source_id"] for r in jobs.reserved.to_dicts()] == [4]
        assert jobs.recover(timeout=3600) == 1  # older than the timeout, though its session lives
        assert len(jobs.reserved) == 0 and len(jobs.pending) == 10
    finally:
        for c in (crashed, terminated, alive):
            c.close()
    assert pipe.Result.populate(reserve_jobs=True).success_count == 10


def test_a_killed_worker_process_is_recovered(pipe: Pipeline, raw: Any) -> None:
    pipe.Source.insert([(i, float(i)) for i in range(6)])
    pipe.pause.touch()
    worker = pipe.worker("--reserve-jobs")
    deadline = time.monotonic() + 60
    while not pipe.calls():
        assert worker.poll() is None, worker.communicate()
        assert time.monotonic() < deadline, "the worker never reached make()"
        time.sleep(0.05)
    (_, _, key), = pipe.calls()
    session = raw.execute(f'SELECT connection_id FROM "{pipe.schema_name}"."~~result" '
                          "WHERE status = 'reserved'").fetchall()
    assert len(session) == 1 and live(raw, session[0][0])
    worker.kill()
    worker.communicate()
    wait_until_gone(raw, session[0][0])
    pipe.pause.unlink()

    result = pipe.Result.populate(reserve_jobs=True)  # recovers the dead reservation first
    assert result.success_count == 6 and result.failed == []
    assert len(pipe.Result) == 6 and len(pipe.Result.Piece) == 12
    assert sorted(k for _, _, k in pipe.calls()).count(key) == 2  # made again, nothing of the first kept


def test_typedj_and_datajoint_workers_share_the_queue(pipe: Pipeline, postgres_url: str) -> None:
    pipe.Source.insert([(i, float(i)) for i in range(120)])
    script = pipe.folder / "dj_worker.py"
    script.write_text(textwrap.dedent(DJ_WORKER))
    reference = subprocess.Popen(
        [sys.executable, str(script), postgres_url, pipe.schema_name, str(pipe.log)],
        cwd=pipe.folder, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env={**os.environ, "PYTHONWARNINGS": "ignore"},
    )
    deadline = time.monotonic() + 120
    while not any(who == "dj" for who, _, _ in pipe.calls()):
        if reference.poll() is not None:
            raise AssertionError(f"datajoint worker exited: {reference.communicate()}")
        assert time.monotonic() < deadline
        time.sleep(0.05)
    ours = [pipe.worker("--reserve-jobs", "--order", "random") for _ in range(2)]
    outputs = [w.communicate(timeout=300) for w in ours]
    dj_out = reference.communicate(timeout=300)
    assert [w.returncode for w in ours] == [0, 0], outputs
    assert reference.returncode == 0, dj_out
    calls = pipe.calls()
    per_key = Counter(key for _, _, key in calls)
    assert set(per_key) == set(range(120)) and max(per_key.values()) == 1
    by_worker = Counter(who for who, _, _ in calls)
    assert by_worker["dj"] > 0 and by_worker["tj"] > 0, by_worker
    assert len(pipe.Result) == 120 and len(pipe.Result.Piece) == 240
    assert len(pipe.Result.jobs.query) == 0


def test_four_worker_processes_make_each_key_exactly_once(pipe: Pipeline) -> None:
    pipe.Source.insert([(i, float(i)) for i in range(400)])
    pipe.gather.touch()  # a worker's first make() waits for a second worker: they overlap
    workers = [pipe.worker("--reserve-jobs", "--order", "random") for _ in range(4)]
    outputs = [w.communicate(timeout=600) for w in workers]
    assert [w.returncode for w in workers] == [0, 0, 0, 0], outputs
    calls = pipe.calls()
    per_key = Counter(key for _, _, key in calls)
    assert len(calls) == 400 and set(per_key) == set(range(400)) and max(per_key.values()) == 1
    assert len({pid for _, pid, _ in calls}) >= 2
    assert len(pipe.Result) == 400 and len(pipe.Result.jobs.query) == 0
