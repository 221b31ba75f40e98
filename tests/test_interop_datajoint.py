"""datajoint-python 2.x and typedj on one server: each opens, reads and writes what the other made.

One realistic pipeline is declared twice, once in DataJoint's definition language and once
as typedj classes: a Lookup with contents, a Manual table with enum/date/decimal/uuid/json/
bool/varchar/nullable attributes and indexes, a nullable renamed secondary reference, two
renamed references to one parent sharing a key attribute, a Computed table with a Part and
an in-table blob, a table without a primary key, and a uuid-keyed parent with a child.
The on-database contract is checked as text: ``SHOW CREATE TABLE``, ``~lineage`` rows and
``describe()`` must be what datajoint-python produces for the same definition.
"""

import re
import types
import uuid
import warnings
from collections.abc import Iterator
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any, Literal

import numpy as np
import pytest

import typedj as tj
from typedj import Attr, Blob, Computed, Imported, Index, Key, Link, Lookup, Manual, Part, Ref
from typedj.declare import PLATFORM_COLUMNS

with warnings.catch_warnings():
    warnings.simplefilter("ignore")  # "no datajoint.json found"
    dj = pytest.importorskip(
        "datajoint", reason="datajoint-python (the optional reference peer) is not installed"
    )

pytestmark = pytest.mark.requires(
    "datajoint_peer", reason="datajoint-python shares pipelines on MySQL servers only"
)

TABLES = ["Species", "Subject", "Cell", "Synapse", "Spikes", "Unit", "Setting", "Scan", "ScanFile"]


# -- the pipeline, in both languages ------------------------------------------------------


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
        uid : uuid
        meta = null : json
        alive = 1 : bool
        notes = "" : varchar(1024)  # free text
        score = null : float64
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
            raise NotImplementedError

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

    @schema
    class ScanFile(dj.Manual):
        definition = """
        -> Scan
        file_no : int16
        ---
        path : varchar(255)
        """

    return {**{c.__name__: c for c in (Species, Subject, Cell, Synapse, Spikes, Setting, Scan, ScanFile)},
            "Unit": Spikes.Unit}


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
        uid: uuid.UUID
        meta: dict[str, Any] | None = None
        alive: bool = True
        notes: str = Attr(max_length=1024, default="", comment="free text")
        score: float | None = None
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
            raise NotImplementedError

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

    @schema
    class ScanFile(Manual):
        scan: Key[Ref[Scan]]
        file_no: Key[tj.int16]
        path: str

    return {**{c.__name__: c for c in (Species, Subject, Cell, Synapse, Spikes, Setting, Scan, ScanFile)},
            "Unit": Spikes.Unit}


def declare_datajoint_types(schema: Any) -> dict[str, Any]:
    """Every kind of column and reference option, in DataJoint's definition language."""

    @schema
    class Zoo(dj.Manual):
        definition = """
        # animals, kept at the zoo
        zoo_id : int auto_increment  # native key
        ---
        u8 : tinyint unsigned
        u32 = 7 : int unsigned     # unsigned
        i8 = 0 : int8
        i64 = -5 : int64
        f32 = 1.5 : float32
        dec = 0.50 : decimal(4,2)
        ch = "ab" : char(8)
        born = "2020-01-01" : date
        ts = CURRENT_TIMESTAMP : datetime(3)
        dt6 = null : datetime(6)
        raw = null : bytes
        flag = 0 : bool
        obj = null : <blob>
        t = null : time
        lng : longblob
        txt = null : varchar(4000)  # it's "odd"
        e = "a'b" : enum('a''b','c')
        """

    @schema
    class Owner(dj.Manual):
        definition = """
        owner : varchar(16)
        ---
        -> [unique] Zoo
        """

    @schema
    class Keeper(dj.Lookup):
        definition = """
        keeper_id : int32
        ---
        -> [nullable, unique] Zoo.proj(fav="zoo_id")
        """

        class Shift(dj.Part):
            definition = """
            -> master
            day : enum('mon','tue')
            """

    @schema
    class Upload(dj.Imported):
        definition = """
        # raw files of a zoo
        -> Zoo
        upload_no : int64
        ---
        size : bigint unsigned
        """

    return {"Zoo": Zoo, "Owner": Owner, "Keeper": Keeper, "Shift": Keeper.Shift, "Upload": Upload}


def declare_typedj_types(schema: tj.Schema) -> dict[str, Any]:
    """The same columns and reference options as typedj classes."""

    @schema
    class Zoo(Manual):
        """animals, kept at the zoo"""

        zoo_id: Key[int] = Attr(sql_type="int", auto_increment=True, comment="native key")
        u8: tj.uint8
        u32: tj.uint32 = Attr(default=7, comment="unsigned")
        i8: tj.int8 = 0
        i64: tj.int64 = -5
        f32: tj.float32 = 1.5
        dec: Decimal = Attr(precision=4, scale=2, default=Decimal("0.50"))
        ch: str = Attr(max_length=8, fixed_length=True, default="ab")
        born: date = date(2020, 1, 1)
        ts: datetime = Attr(precision=3, default=tj.CURRENT_TIMESTAMP)
        dt6: datetime | None = Attr(precision=6, default=None)
        raw: bytes | None = None
        flag: bool = False
        obj: Blob[Any] | None = None
        t: time | None = None
        lng: bytes = Attr(sql_type="longblob")
        txt: str | None = Attr(max_length=4000, default=None, comment="it's \"odd\"")
        e: Literal["a'b", "c"] = "a'b"

    @schema
    class Owner(Manual):
        owner: Key[str] = Attr(max_length=16)
        zoo: Ref[Zoo] = Link(unique=True)

    @schema
    class Keeper(Lookup):
        keeper_id: Key[tj.int32]
        fav: Ref[Zoo] = Link(rename={"zoo_id": "fav"}, nullable=True, unique=True)

        class Shift(Part):
            day: Key[Literal["mon", "tue"]]

    @schema
    class Upload(Imported):
        """raw files of a zoo"""

        zoo: Key[Ref[Zoo]]
        upload_no: Key[tj.int64]
        size: tj.uint64

        def make(self, key: dict[str, Any]) -> None:
            raise NotImplementedError

    return {"Zoo": Zoo, "Owner": Owner, "Keeper": Keeper, "Shift": Keeper.Shift, "Upload": Upload}


# -- the rows, inserted by either client ----------------------------------------------------

SCAN_TIME = datetime(2024, 3, 4, 5, 6, 7)
NOW = object()
"""An expected value set by the server (``CURRENT_TIMESTAMP``): any recent datetime."""
TRACE = np.arange(6.0).reshape(2, 3)

# One insert call per inner list: datajoint-python wants the same fields in every row of a call.
INSERTS: list[tuple[str, list[dict[str, Any]]]] = [
    ("Subject", [{"subject_id": 1, "species": "mouse", "sex": "F", "date_of_birth": date(2024, 1, 2),
                  "weight": Decimal("21.50"), "uid": uuid.UUID(int=1), "meta": {"a": [1, 2], "b": None},
                  "alive": True, "notes": "Grüße, 'quoted' \"text\"", "score": 1.25}]),
    ("Subject", [{"subject_id": 2, "species": "rat", "weight": Decimal("300.00"), "uid": uuid.UUID(int=2),
                  "alive": False}]),
    ("Cell", [{"subject_id": 1, "cell_id": 1, "alt_species": "rat"},
              {"subject_id": 1, "cell_id": 2, "alt_species": None}]),
    ("Cell", [{"subject_id": 2, "cell_id": 1}]),
    ("Synapse", [{"subject_id": 1, "pre": 1, "post": 2, "strength": 0.5}]),
    ("Spikes", [{"subject_id": 1, "cell_id": 1, "n": 3, "trace": TRACE}]),
    ("Unit", [{"subject_id": 1, "cell_id": 1, "unit_id": u, "rate": u * 1.5} for u in range(3)]),
    ("Setting", [{"value": "on"}]),
    ("Scan", [{"scan_uid": uuid.UUID(int=7), "subject_id": 1, "scan_time": SCAN_TIME, "depth": -3}]),
    ("Scan", [{"scan_uid": uuid.UUID(int=8), "subject_id": 2, "depth": 100}]),
    ("ScanFile", [{"scan_uid": uuid.UUID(int=7), "file_no": 1, "path": "/data/a.tif"}]),
]

# What every table holds afterwards, in primary-key order (defaults filled in).
EXPECTED: dict[str, list[dict[str, Any]]] = {
    "Species": [{"species": "mouse", "latin": "Mus musculus"},
                {"species": "rat", "latin": "Rattus norvegicus"}],
    "Subject": [
        {**INSERTS[0][1][0]},
        {"subject_id": 2, "species": "rat", "sex": "U", "date_of_birth": None, "weight": Decimal("300.00"),
         "uid": uuid.UUID(int=2), "meta": None, "alive": False, "notes": "", "score": None},
    ],
    "Cell": [{"subject_id": 1, "cell_id": 1, "alt_species": "rat"},
             {"subject_id": 1, "cell_id": 2, "alt_species": None},
             {"subject_id": 2, "cell_id": 1, "alt_species": None}],
    "Synapse": [{"subject_id": 1, "pre": 1, "post": 2, "strength": 0.5}],
    "Spikes": [{"subject_id": 1, "cell_id": 1, "n": 3, "trace": TRACE}],
    "Unit": [{"subject_id": 1, "cell_id": 1, "unit_id": u, "rate": u * 1.5} for u in range(3)],
    "Setting": [{"value": "on"}],
    "Scan": [{"scan_uid": uuid.UUID(int=7), "subject_id": 1, "scan_time": SCAN_TIME, "depth": -3},
             {"scan_uid": uuid.UUID(int=8), "subject_id": 2, "scan_time": NOW, "depth": 100}],
    "ScanFile": [{"scan_uid": uuid.UUID(int=7), "file_no": 1, "path": "/data/a.tif"}],
}

AUTO = {"Spikes", "Unit"}


def insert_all(classes: dict[str, Any]) -> None:
    for name, rows in INSERTS:
        options = {"allow_direct_insert": True} if name in AUTO else {}
        classes[name].insert(rows, **options)


def assert_rows(table: str, actual: list[dict[str, Any]], expected: list[dict[str, Any]]) -> None:
    """Rows equal value by value (arrays by content, server-set times by type)."""
    assert len(actual) == len(expected), f"{table}: {actual}"
    for got, want in zip(actual, expected, strict=True):
        assert set(got) == set(want), f"{table}: attributes {sorted(got)} != {sorted(want)}"
        for name, value in want.items():
            if isinstance(value, np.ndarray):
                np.testing.assert_array_equal(got[name], value)
                assert got[name].dtype == value.dtype and got[name].shape == value.shape
            elif value is NOW:
                assert isinstance(got[name], datetime) and abs((got[name] - datetime.now()).days) < 2
            else:
                assert got[name] == value, f"{table}.{name}: {got[name]!r} != {value!r}"
                assert type(got[name]) is type(value) or value is None or isinstance(value, bool), (
                    f"{table}.{name}: {type(got[name]).__name__} for {type(value).__name__}"
                )


# -- fixtures -------------------------------------------------------------------------------


@pytest.fixture
def dj_conn(mysql_url: str) -> Any:
    """datajoint-python configured for the test server through ``dj.config``."""
    url = tj.DatabaseURL.parse(mysql_url)
    dj.config["database.host"] = url.host
    dj.config["database.port"] = url.port
    dj.config["database.user"] = url.user
    dj.config["database.password"] = url.password
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "MariaDB support is best-effort"
        return dj.conn(reset=True)


@pytest.fixture
def dj_schema_name(schema_name: str, conn: tj.Connection) -> Iterator[str]:
    """A second fresh database, for the reference's copy of the pipeline."""
    name = f"{schema_name}_dj"
    yield name
    conn.query(f"DROP DATABASE IF EXISTS `{name}`")


def show_create(conn: tj.Connection, schema: str) -> dict[str, str]:
    """``SHOW CREATE TABLE`` of every table, with the schema's name and constraint names removed."""
    tables = [r[0] for r in conn.query(f"SHOW TABLES FROM `{schema}`").fetchall()]
    out = {}
    for table in tables:
        ddl = conn.query(f"SHOW CREATE TABLE `{schema}`.`{table}`").fetchone()[1]
        ddl = ddl.replace(f"`{schema}`.", "")
        out[table] = re.sub(r"CONSTRAINT `[^`]+` ", "", ddl)
    return out


def lineage_rows(conn: tj.Connection, schema: str) -> set[tuple[str, str, str]]:
    rows = conn.query(f"SELECT table_name, attribute_name, lineage FROM `{schema}`.`~lineage`").fetchall()
    return {(t, a, lineage.replace(f"{schema}.", "<schema>.")) for t, a, lineage in rows}


def definition_text(text: str) -> list[str]:
    """Definition lines modulo whitespace, and the one spelling the server chooses.

    datajoint-python prints a default as the server reports it (MariaDB:
    ``current_timestamp()``, ``current_timestamp(3)``); typedj prints the portable
    ``CURRENT_TIMESTAMP`` / ``CURRENT_TIMESTAMP(3)`` it declared.
    """
    lines = [re.sub(r"\s+", " ", line).strip() for line in text.strip().splitlines()]
    lines = [re.sub(r"=current_timestamp\(\)", "=CURRENT_TIMESTAMP", line) for line in lines]
    return [re.sub(r"=current_timestamp\((\d)\)", r"=CURRENT_TIMESTAMP(\1)", line) for line in lines if line]


# -- datajoint-python declares, typedj opens ----------------------------------------------------


def test_typedj_opens_a_datajoint_schema(conn: tj.Connection, dj_conn: Any, schema_name: str) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        insert_all(declare_datajoint(dj.Schema(schema_name, connection=dj_conn)))

    # without classes: the catalog, the lineage and the rows of every table
    bare = tj.Schema(schema_name, connection=conn, create_tables=False)
    assert set(bare.list_tables()) == {"#species", "subject", "cell", "synapse", "__spikes",
                                       "__spikes__unit", "setting", "scan", "scan_file"}
    assert bare.lineage["synapse"] == {
        "subject_id": f"{schema_name}.subject.subject_id",
        "pre": f"{schema_name}.cell.cell_id",
        "post": f"{schema_name}.cell.cell_id",
    }
    subject = tj.Query(bare.node("subject"))
    assert_rows("Subject", subject.to_dicts(order_by="KEY"), EXPECTED["Subject"])
    assert subject.heading["uid"].type_name == "uuid" and subject.heading["meta"].kind == "json"
    setting = tj.Query(bare.node("setting"))
    assert setting.to_dicts() == [{"value": "on"}]
    cells = tj.Query(bare.node("cell")) * subject
    assert sorted(cells.to_dicts(), key=lambda r: (r["subject_id"], r["cell_id"]))[0]["species"] == "mouse"

    # with classes: they match the tables (a mismatch would raise), and every value reads back
    classes = declare_typedj(tj.Schema(schema_name, connection=conn, create_tables=False))
    for name in TABLES:
        assert_rows(name, classes[name].to_dicts(order_by="KEY"), EXPECTED[name])
    first = (classes["Subject"] & {"subject_id": 1}).fetch1()
    assert isinstance(first, classes["Subject"])
    assert (first.uid, first.weight) == (uuid.UUID(int=1), Decimal("21.50"))
    assert first.meta == {"a": [1, 2], "b": None}
    pairs = (classes["Cell"] * classes["Subject"]).to_dicts(order_by="KEY")
    assert [(r["subject_id"], r["cell_id"], r["species"]) for r in pairs] == [
        (1, 1, "mouse"), (1, 2, "mouse"), (2, 1, "rat")
    ]

    # typedj writes into the reference's tables; the reference reads it
    classes["Cell"].insert1({"subject_id": 2, "cell_id": 5, "alt_species": "mouse"})
    vm = dj.VirtualModule("vm", schema_name, connection=dj_conn)
    assert (vm.Cell & {"subject_id": 2, "cell_id": 5}).to_dicts() == [
        {"subject_id": 2, "cell_id": 5, "alt_species": "mouse"}
    ]

    # typedj adds a table to the reference's schema; the reference sees it and joins through it
    mixed = tj.Schema(schema_name, connection=conn)
    cell_table = classes["Cell"]

    @mixed
    class Recording(Manual):
        cell: Key[Ref[cell_table]]
        rec: Key[tj.int8]
        duration: float

    Recording.insert1({"subject_id": 2, "cell_id": 5, "rec": 1, "duration": 2.5})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        vm = dj.VirtualModule("vm", schema_name, connection=dj_conn)
        assert (vm.Recording * vm.Cell * vm.Subject).to_dicts() == [
            {**EXPECTED["Subject"][1], "cell_id": 5, "alt_species": "mouse", "rec": 1, "duration": 2.5}
        ]

    # typedj's cascade follows the reference's foreign keys, renamed ones included
    counts = (classes["Cell"] & {"subject_id": 1, "cell_id": 2}).delete()
    assert counts == {f"{schema_name}.cell": 1, f"{schema_name}.synapse": 1}  # via post -> cell_id
    counts = (classes["Cell"] & {"subject_id": 1, "cell_id": 1}).delete()
    assert counts == {
        f"{schema_name}.cell": 1, f"{schema_name}.__spikes": 1, f"{schema_name}.__spikes__unit": 3
    }
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert len(vm.Synapse()) == 0 and len(vm.Spikes()) == 0 and len(vm.Spikes.Unit()) == 0
        assert len(vm.Cell & {"subject_id": 1}) == 0 and len(vm.Cell()) == 2


def test_typedj_refuses_a_class_that_disagrees_with_a_datajoint_table(
    conn: tj.Connection, dj_conn: Any, schema_name: str
) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        declare_datajoint(dj.Schema(schema_name, connection=dj_conn))
    schema = tj.Schema(schema_name, connection=conn, create_tables=False)

    with pytest.raises(tj.DeclarationError) as info:

        @schema
        class Species(Lookup):
            species: Key[str] = Attr(max_length=16)
            latin: str = Attr(max_length=64, default="")

    message = str(info.value)
    assert "#species" in message and "'species'" in message and "varchar(16)" in message
    assert "varchar(32)" in message


# -- typedj declares: the same DDL, lineage and definition text ---------------------------------


@pytest.mark.parametrize(
    ("ours_of", "theirs_of"),
    [(declare_typedj, declare_datajoint), (declare_typedj_types, declare_datajoint_types)],
    ids=["pipeline", "types"],
)
def test_typedj_declares_what_datajoint_declares(
    conn: tj.Connection, dj_conn: Any, schema_name: str, dj_schema_name: str, ours_of: Any, theirs_of: Any
) -> None:
    classes = ours_of(tj.Schema(schema_name, connection=conn))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        reference = theirs_of(dj.Schema(dj_schema_name, connection=dj_conn))

    ours, theirs = show_create(conn, schema_name), show_create(conn, dj_schema_name)
    assert sorted(ours) == sorted(theirs)
    for table in theirs:
        assert ours[table] == theirs[table], f"{table}:\n{ours[table]}\n--- reference:\n{theirs[table]}"
    assert lineage_rows(conn, schema_name) == lineage_rows(conn, dj_schema_name)

    assert sorted(classes) == sorted(reference)
    for name in reference:
        expected = reference[name].describe(context=reference)
        assert definition_text(classes[name].describe()) == definition_text(expected), name


# -- typedj declares, datajoint-python opens ----------------------------------------------------


def test_datajoint_opens_a_typedj_schema(conn: tj.Connection, dj_conn: Any, schema_name: str) -> None:
    classes = declare_typedj(tj.Schema(schema_name, connection=conn))
    insert_all(classes)

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        vm = dj.VirtualModule("vm", schema_name, connection=dj_conn)
        by_name = {"Species": vm.Species, "Subject": vm.Subject, "Cell": vm.Cell, "Synapse": vm.Synapse,
                   "Spikes": vm.Spikes, "Unit": vm.Spikes.Unit, "Setting": vm.Setting, "Scan": vm.Scan,
                   "ScanFile": vm.ScanFile}
        for name in TABLES:
            assert_rows(name, by_name[name].to_dicts(order_by="KEY"), EXPECTED[name])
        # a join the reference allows only if our ~lineage says pre and cell_id are both Cell's cell_id
        joined = (vm.Synapse * vm.Cell.proj("alt_species", pre="cell_id")).to_dicts()
        assert [(r["pre"], r["post"], r["alt_species"]) for r in joined] == [(1, 2, "rat")]

        # the reference binds its own classes to our tables and writes through them
        reference = declare_datajoint(dj.Schema(schema_name, connection=dj_conn))
        reference["Subject"].insert1({"subject_id": 3, "species": "rat", "sex": "M", "date_of_birth": None,
                                      "weight": Decimal("1.05"), "uid": uuid.UUID(int=3), "meta": [1, "x"],
                                      "alive": True, "notes": "from datajoint", "score": float("nan")})
        reference["Cell"].insert1({"subject_id": 3, "cell_id": 9, "alt_species": "mouse"})
        reference["Spikes"].insert1(
            {"subject_id": 3, "cell_id": 9, "n": 1, "trace": np.array([1, 2], np.int16)},
            allow_direct_insert=True,
        )

    row = (classes["Subject"] & {"subject_id": 3}).to_dicts()
    assert_rows("Subject", row, [{"subject_id": 3, "species": "rat", "sex": "M", "date_of_birth": None,
                                  "weight": Decimal("1.05"), "uid": uuid.UUID(int=3), "meta": [1, "x"],
                                  "alive": True, "notes": "from datajoint", "score": None}])
    cells = (classes["Cell"] & {"subject_id": 3}).to_dicts()
    assert cells == [{"subject_id": 3, "cell_id": 9, "alt_species": "mouse"}]
    trace = (classes["Spikes"] & {"subject_id": 3}).fetch1("trace")
    np.testing.assert_array_equal(trace, np.array([1, 2], np.int16))
    assert trace.dtype == np.int16


ZOO_ROWS = [
    {"u8": 255, "u32": 4294967295, "i8": -128, "i64": -(2**63), "f32": 0.25, "dec": Decimal("-9.99"),
     "ch": "abcdefgh", "born": date(1999, 12, 31), "ts": datetime(2024, 1, 1, 12, 0, 0, 123000),
     "dt6": datetime(2024, 1, 1, 12, 0, 0, 123456), "raw": b"\x00\xff raw", "flag": True,
     "obj": {"k": [1, 2]}, "t": time(13, 14, 15), "lng": b"native longblob", "txt": "x" * 4000, "e": "c"},
]
ZOO_DEFAULTS_ROW = {"u8": 0, "lng": b""}
KEEPERS = [{"keeper_id": 1, "fav": 2}, {"keeper_id": 2, "fav": None}]
ZOO_EXPECTED = [
    {"zoo_id": 1, **ZOO_ROWS[0]},
    {"zoo_id": 2, "u8": 0, "u32": 7, "i8": 0, "i64": -5, "f32": 1.5, "dec": Decimal("0.50"), "ch": "ab",
     "born": date(2020, 1, 1), "ts": NOW, "dt6": None, "raw": None, "flag": False, "obj": None, "t": None,
     "lng": b"", "txt": None, "e": "a'b"},
]


def test_every_column_type_round_trips_both_ways(
    conn: tj.Connection, dj_conn: Any, schema_name: str, dj_schema_name: str
) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        reference = declare_datajoint_types(dj.Schema(dj_schema_name, connection=dj_conn))
        reference["Zoo"].insert(ZOO_ROWS)
        reference["Zoo"].insert1(ZOO_DEFAULTS_ROW)
        reference["Owner"].insert1({"owner": "ann", "zoo_id": 1})
        reference["Keeper"].insert(KEEPERS)
    ours = declare_typedj_types(tj.Schema(schema_name, connection=conn))
    ours["Zoo"].insert(ZOO_ROWS)
    ours["Zoo"].insert1(ZOO_DEFAULTS_ROW)
    ours["Owner"].insert1({"owner": "ann", "zoo_id": 1})
    ours["Keeper"].insert(KEEPERS)

    # typedj reads the reference's rows exactly as its own
    theirs_in_typedj = declare_typedj_types(tj.Schema(dj_schema_name, connection=conn, create_tables=False))
    for classes in (ours, theirs_in_typedj):
        assert_rows("Zoo", classes["Zoo"].to_dicts(order_by="KEY"), ZOO_EXPECTED)
        assert classes["Owner"].to_dicts() == [{"owner": "ann", "zoo_id": 1}]
        assert classes["Keeper"].to_dicts(order_by="KEY") == KEEPERS
    with pytest.raises(tj.DuplicateError):  # the unique reference holds on the reference's table too
        theirs_in_typedj["Owner"].insert1({"owner": "bob", "zoo_id": 1})

    # the reference reads typedj's rows exactly as its own (it returns time columns as timedelta)
    as_reference = [
        {k: timedelta(hours=v.hour, minutes=v.minute, seconds=v.second) if isinstance(v, time) else v
         for k, v in row.items()}
        for row in ZOO_EXPECTED
    ]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for name in (schema_name, dj_schema_name):
            vm = dj.VirtualModule("vm", name, connection=dj_conn)
            assert_rows("Zoo", vm.Zoo.to_dicts(order_by="KEY"), as_reference)
            assert vm.Keeper.to_dicts(order_by="KEY") == KEEPERS


def test_typedj_opens_tables_with_datajoint_platform_columns(
    conn: tj.Connection, dj_conn: Any, schema_name: str
) -> None:
    """Job metadata (``_job_*``) and provenance (``_prov``) columns need no declaration."""
    saved = (dj.config["jobs.add_job_metadata"], dj.config["provenance.capture"])
    dj.config["jobs.add_job_metadata"], dj.config["provenance.capture"] = True, True
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            insert_all(declare_datajoint(dj.Schema(schema_name, connection=dj_conn)))
    finally:
        dj.config["jobs.add_job_metadata"], dj.config["provenance.capture"] = saved
    columns = {r[0] for r in conn.query(f"SHOW COLUMNS FROM `{schema_name}`.`__spikes`").fetchall()}
    assert {"_job_start_time", "_job_duration", "_job_version"} <= columns
    columns = {r[0] for r in conn.query(f"SHOW COLUMNS FROM `{schema_name}`.`subject`").fetchall()}
    assert "_prov" in columns

    typed = tj.Schema(schema_name, connection=conn, create_tables=False)
    classes = declare_typedj(typed)
    for name in TABLES:
        assert_rows(name, classes[name].to_dicts(order_by="KEY"), EXPECTED[name])
    assert not [d for d in typed.diff() if d.attribute in PLATFORM_COLUMNS]
    classes["Subject"].insert1(
        {"subject_id": 9, "species": "rat", "weight": Decimal("2.00"), "uid": uuid.UUID(int=9)}
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        vm = dj.VirtualModule("vm", schema_name, connection=dj_conn)
        assert (vm.Subject & {"subject_id": 9}).fetch1("weight") == Decimal("2.00")


def test_references_across_schemas_match_datajoint(
    conn: tj.Connection, dj_conn: Any, schema_name: str, dj_schema_name: str
) -> None:
    up, down = f"{schema_name}_up", schema_name
    dj_up, dj_down = f"{dj_schema_name}_up", dj_schema_name
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            upstream = dj.Schema(dj_up, connection=dj_conn)

            @upstream
            class Animal(dj.Manual):
                definition = """
                animal_id : int32
                ---
                name : varchar(16)
                """

            downstream = dj.Schema(dj_down, context={"up": types.SimpleNamespace(Animal=Animal)},
                                   connection=dj_conn)

            @downstream
            class Session(dj.Manual):
                definition = """
                -> up.Animal
                session : int16
                ---
                -> [nullable] up.Animal.proj(buddy="animal_id")
                """

            Animal.insert1({"animal_id": 1, "name": "rex"})
            Session.insert1({"animal_id": 1, "session": 2, "buddy": 1})

        ours_up = tj.Schema(up, connection=conn)

        @ours_up
        class TjAnimal(Manual):
            animal_id: Key[int]
            name: str = Attr(max_length=16)

        ours_down = tj.Schema(down, connection=conn)

        @ours_down
        class TjSession(Manual):
            animal: Key[Ref[TjAnimal]]
            session: Key[tj.int16]
            buddy: Ref[TjAnimal] = Link(rename={"animal_id": "buddy"}, nullable=True)

        def normalized(schema: str, upstream: str) -> dict[str, str]:
            return {t: ddl.replace(f"`{upstream}`.", "`<up>`.").replace("tj_animal", "animal")
                    for t, ddl in show_create(conn, schema).items()}

        ours, theirs = normalized(down, up), normalized(dj_down, dj_up)
        assert ours["tj_session"].replace("tj_session", "session") == theirs["session"]
        assert {(t.replace("tj_", ""), a, lin.replace(up, "<up>").replace("tj_", "")) for t, a, lin in
                lineage_rows(conn, down)} == {(t, a, lin.replace(dj_up, "<up>")) for t, a, lin in
                                              lineage_rows(conn, dj_down)}

        # typedj reads the reference's cross-schema table and joins across the schemas
        reader_up = tj.Schema(dj_up, connection=conn, create_tables=False)
        reader_down = tj.Schema(dj_down, connection=conn, create_tables=False)
        joined = tj.Query(reader_down.node("session")) * tj.Query(reader_up.node("animal"))
        assert joined.to_dicts() == [{"animal_id": 1, "session": 2, "buddy": 1, "name": "rex"}]
    finally:
        for name in (down, dj_down, up, dj_up):  # dependents first
            conn.query(f"DROP DATABASE IF EXISTS `{name}`")


def spikes_of(key: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """What either client's ``make`` computes for a cell: the master row and one unit."""
    master = {**key, "n": key["cell_id"] * 10, "trace": np.full(3, float(key["cell_id"]))}
    return master, {**key, "unit_id": 0, "rate": key["subject_id"] + 0.5}


def test_each_client_populates_the_others_computed_table(
    conn: tj.Connection, dj_conn: Any, schema_name: str, dj_schema_name: str
) -> None:
    cells = [(1, 1), (1, 2), (2, 1)]
    expected_spikes = [spikes_of({"subject_id": s, "cell_id": c})[0] for s, c in cells]
    expected_units = [spikes_of({"subject_id": s, "cell_id": c})[1] for s, c in cells]

    def tj_make(self: Any, key: dict[str, Any]) -> None:
        master, unit = spikes_of(key)
        type(self).insert1(master)
        type(self).Unit.insert1(unit)

    def dj_make(self: Any, key: dict[str, Any]) -> None:
        master, unit = spikes_of(key)
        self.insert1(master)
        self.Unit.insert1(unit)

    # datajoint-python populates typedj's Computed table
    ours = declare_typedj(tj.Schema(schema_name, connection=conn))
    insert_all({**ours, "Spikes": _Skip(), "Unit": _Skip()})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        theirs_on_ours = declare_datajoint(dj.Schema(schema_name, connection=dj_conn))
        theirs_on_ours["Spikes"].make = dj_make
        theirs_on_ours["Spikes"].populate()
    assert_rows("Spikes", ours["Spikes"].to_dicts(order_by="KEY"), expected_spikes)
    assert_rows("Unit", ours["Unit"].to_dicts(order_by="KEY"), expected_units)

    # typedj populates datajoint-python's Computed table
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        theirs = declare_datajoint(dj.Schema(dj_schema_name, connection=dj_conn))
        insert_all({**theirs, "Spikes": _Skip(), "Unit": _Skip()})
    ours_on_theirs = declare_typedj(tj.Schema(dj_schema_name, connection=conn, create_tables=False))
    ours_on_theirs["Spikes"].make = tj_make
    ours_on_theirs["Spikes"].populate()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert_rows("Spikes", theirs["Spikes"].to_dicts(order_by="KEY"), expected_spikes)
        assert_rows("Unit", theirs["Unit"].to_dicts(order_by="KEY"), expected_units)


class _Skip:
    """Stands in for a table whose rows ``populate`` makes."""

    def insert(self, rows: Any, **options: Any) -> None:
        pass


def test_stored_value_columns_match_datajoint(
    conn: tj.Connection, dj_conn: Any, schema_name: str, dj_schema_name: str, tmp_path: Any
) -> None:
    """``<blob@store>``, ``<attach@store>`` and in-table ``<attach>`` columns: the same DDL."""
    store = {"protocol": "file", "location": str(tmp_path)}
    saved_dj, saved_tj = dj.config["stores"], dict(tj.config.stores)
    dj.config["stores"] = {"raw": dict(store), "default": "raw"}
    tj.config.stores["raw"] = dict(store)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            theirs = dj.Schema(dj_schema_name, connection=dj_conn)

            @theirs
            class Obj(dj.Manual):
                definition = """
                obj_id : int32
                ---
                data : <blob@raw>
                att = null : <attach@raw>
                inline_att = null : <attach>
                """

        ours = tj.Schema(schema_name, connection=conn)

        @ours
        class TjObj(Manual):
            obj_id: Key[tj.int32]
            data: Blob[Any] = tj.External("raw")
            att: tj.Attach | None = tj.External("raw", default=None)
            inline_att: tj.Attach | None = None

        assert show_create(conn, schema_name)["tj_obj"].replace("tj_obj", "obj") == show_create(
            conn, dj_schema_name
        )["obj"]
    finally:
        dj.config["stores"] = saved_dj
        tj.config.stores.clear()
        tj.config.stores.update(saved_tj)


def test_enum_members_with_double_quotes(
    conn: tj.Connection, dj_conn: Any, schema_name: str, dj_schema_name: str
) -> None:
    """datajoint-python cannot declare ``enum("a", "b")`` (it copies the double quotes into the
    column comment unescaped); typedj declares any member, and each client reads the other's."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        theirs = dj.Schema(dj_schema_name, connection=dj_conn)

        class Double(dj.Manual):
            definition = """
            id : int32
            ---
            kind : enum("a", "b")
            """

        with pytest.raises(dj.DataJointError):
            theirs(Double)

        @theirs
        class Single(dj.Manual):
            definition = """
            id : int32
            ---
            kind : enum('a', 'b')
            """

    ours = tj.Schema(schema_name, connection=conn)

    @ours
    class Quoted(Manual):
        id: Key[tj.int32]
        kind: Literal['say "hi"', "it's"]

    Quoted.insert1(id=1, kind='say "hi"')
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        Single.insert1({"id": 1, "kind": "b"})
        read = dj.VirtualModule("quoted", schema_name, connection=dj_conn).Quoted.fetch1("kind")
    assert read == 'say "hi"'
    assert tj.virtual_module("single", dj_schema_name, connection=conn).Single.fetch1("kind") == "b"


def _twice_datajoint(schema: Any) -> tuple[Any, Any]:
    """datajoint-python's Src and Twice, declared with its ``jobs.add_job_metadata`` on."""
    dj.config["jobs.add_job_metadata"] = True
    try:

        @schema
        class Src(dj.Manual):
            definition = "src: int32\n---\nvalue: float64"

        @schema
        class Twice(dj.Computed):
            definition = "-> Src\n---\ntwice: float64"

            def make(self, key: dict[str, Any]) -> None:
                self.insert1({**key, "twice": 2 * (Src & key).fetch1("value")})

    finally:
        dj.config["jobs.add_job_metadata"] = False
    return Src, Twice


def _twice_typedj(schema: tj.Schema) -> tuple[Any, Any]:
    """The same two tables as typedj classes."""

    @schema
    class Src(Manual):
        src: Key[tj.int32]
        value: float

    @schema
    class Twice(Computed):
        src: Key[Ref[Src]]
        twice: float

        def make(self, key: tj.KeyOf["Twice"]) -> None:
            self.insert1({**key, "twice": 2 * (Src & key).fetch1("value")})

    return Src, Twice


def test_typedj_fills_the_job_metadata_datajoint_declares(
    conn: tj.Connection, dj_conn: Any, schema_name: str
) -> None:
    """With ``jobs.add_job_metadata`` datajoint-python adds ``_job_*`` columns to computed
    tables; typedj's populate fills them as datajoint's does, and its ``~provenance`` table
    stays out of datajoint's way."""
    from typedj.populate import provenance

    ref = dj.Schema(schema_name, connection=dj_conn)
    dj_src, _ = _twice_datajoint(ref)
    dj_src.insert([{"src": i, "value": float(i)} for i in range(3)])
    _, Twice = _twice_typedj(tj.Schema(schema_name, connection=conn))
    Twice.populate(reserve_jobs=True)
    table = f"`{schema_name}`.`__twice`"
    columns = "src, _job_start_time, _job_duration, _job_version"
    rows = conn.query(f"SELECT {columns} FROM {table} ORDER BY src").fetchall()
    label = provenance.code_version(Twice).label
    assert [r[0] for r in rows] == [0, 1, 2]
    assert all(r[1] is not None and r[2] >= 0 and r[3] == label[:64] for r in rows)
    made = {r["src"]: r for r in Twice.provenance()}
    assert sorted(made) == [0, 1, 2] and all(abs(made[r[0]]["duration"] - r[2]) < 1e-3 for r in rows)
    reference = dj.VirtualModule("vm", schema_name, connection=dj_conn)
    assert sorted(reference.Twice.to_arrays("twice")) == [0.0, 2.0, 4.0]
    assert "~provenance" not in ref.list_tables()


def test_typedj_declares_job_metadata_as_datajoint_does(
    conn: tj.Connection, dj_conn: Any, schema_name: str, dj_schema_name: str
) -> None:
    """``config.job_metadata`` is datajoint-python's ``jobs.add_job_metadata``: Imported and
    Computed tables get the same hidden ``_job_*`` columns, which populate fills."""
    _twice_datajoint(dj.Schema(dj_schema_name, connection=dj_conn))
    with tj.config.override(job_metadata=True):
        Src, Twice = _twice_typedj(tj.Schema(schema_name, connection=conn))
    assert show_create(conn, schema_name) == show_create(conn, dj_schema_name)
    assert "_job_start_time" not in show_create(conn, schema_name)["src"]
    Src.insert([{"src": i, "value": float(i)} for i in range(3)])
    Twice.populate()
    rows = conn.query(f"SELECT src, _job_start_time, _job_duration FROM `{schema_name}`.`__twice`").fetchall()
    assert sorted(r[0] for r in rows) == [0, 1, 2] and all(r[1] is not None and r[2] >= 0 for r in rows)
    assert [r["twice"] for r in Twice.to_dicts(order_by="src")] == [0.0, 2.0, 4.0]
    assert "_job_start_time" not in Twice.heading.names
    _, Twice = _twice_typedj(tj.Schema(schema_name, connection=conn))  # setting off: still matches
    assert len(Twice) == 3
    reference = dj.VirtualModule("vm", schema_name, connection=dj_conn)
    assert sorted(reference.Twice.to_arrays("twice")) == [0.0, 2.0, 4.0]
