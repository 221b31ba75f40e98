"""The embedded backend on its own: one SQLite file, several schemas, the catalog, constraints."""

import os
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from datetime import date, datetime, time
from decimal import Decimal
from pathlib import Path
from typing import Literal
from uuid import UUID

import numpy as np
import pytest

import typedj as tj
from typedj import Attr, Blob, Computed, Index, Key, Link, Lookup, Manual, Part, Ref
from typedj.backend.sqlite import SQLiteDialect

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def db(tmp_path: Path) -> Iterator[tj.Connection]:
    """A connection to a fresh SQLite file (not shared with other tests)."""
    conn = tj.connect(f"sqlite:///{tmp_path / 'lab.db'}")
    yield conn
    conn.close()


def declare(schema: tj.Schema) -> dict[str, type[tj.Table]]:
    @schema
    class Species(Lookup):
        """Species of experimental animals."""

        species: Key[str] = Attr(max_length=32)
        contents = [("mouse",), ("rat",)]

    @schema
    class Subject(Manual):
        """An animal."""

        subject_id: Key[int]
        species: Ref[Species]
        sex: Literal["M", "F", "U"] = "U"
        date_of_birth: date | None = None
        weight: Decimal = Attr(precision=5, scale=2, default=Decimal("1.5"), comment="grams")
        alive: bool = True
        tag: UUID | None = None
        entered: datetime = Attr(default=tj.CURRENT_TIMESTAMP, precision=3)
        small: tj.int8 = 0
        meta: dict[str, int] | None = None
        notes: str = Attr(default="", max_length=10, comment="free text")
        indexes = [Index("sex", "alive"), Index("tag", unique=True)]

    @schema
    class Cell(Manual):
        cell: Key[int]

    @schema
    class Synapse(Manual):
        pre: Key[Ref[Cell]] = Link(rename={"cell": "pre"})
        post: Key[Ref[Cell]] = Link(rename={"cell": "post"})
        subject: Ref[Subject] | None = Link(nullable=True)
        strength: float = 0.0

    @schema
    class Recording(Computed):
        subject: Key[Ref[Subject]]
        trace: Blob[np.ndarray]
        started: time | None = None

        class Unit(Part):
            unit: Key[tj.int16]

    return {c.__name__: c for c in (Species, Subject, Cell, Synapse, Recording)}


def test_file_settings(db: tj.Connection, tmp_path: Path) -> None:
    assert db.dialect.name == "sqlite"
    assert db.query("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert (tmp_path / "lab.db").exists()
    assert db.query("PRAGMA foreign_keys").fetchone()[0] == 1
    assert db.query("PRAGMA busy_timeout").fetchone()[0] >= 10_000
    assert db.connection_id == os.getpid()  # what the jobs table records as the session


def test_catalog_reads_back_the_declaration(db: tj.Connection) -> None:
    schema = tj.Schema("lab", connection=db)
    classes = declare(schema)
    declared = {c._def.name: c._def for c in classes.values()}
    reread = db.catalog.load_catalog("lab")
    assert set(reread) == {
        "#species",
        "subject",
        "cell",
        "synapse",
        "__recording",
        "__recording__unit",
        "~lineage",
    }
    for name, table in declared.items():
        back = reread[name]
        fields = ("name", "type_name", "sql_type", "in_key", "nullable", "comment", "core", "auto_increment")
        assert [[getattr(a, f) for f in fields] for a in back.heading] == [
            [getattr(a, f) for f in fields] for a in table.heading
        ], name
        assert back.comment == table.comment
        assert [
            (f.parent_schema, f.parent_table, dict(f.attr_map), f.in_key, f.nullable)
            for f in back.foreign_keys
        ] == [
            (f.parent_schema, f.parent_table, dict(f.attr_map), f.in_key, f.nullable)
            for f in table.foreign_keys
        ]
        assert back.indexes == table.indexes
    subject = reread["subject"].heading
    assert subject["weight"].type_name == "decimal(5,2)" and subject["weight"].comment == "grams"
    assert subject["weight"].default == "1.50"
    assert subject["entered"].default == tj.CURRENT_TIMESTAMP
    assert subject["sex"].type_name == "enum('M','F','U')"
    assert reread["subject"].comment == "An animal."
    assert reread["~lineage"].heading["lineage"].sql_type == "varchar(255)"


def test_reopening_binds_classes_to_existing_tables(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'again.db'}"
    script = textwrap.dedent(
        f"""
        import sys; sys.path.insert(0, {str(ROOT)!r})
        import typedj as tj
        from tests.test_sqlite import declare
        schema = tj.Schema("lab", connection=tj.connect({url!r}))
        classes = declare(schema)
        if len(sys.argv) > 1:
            classes["Subject"].insert1(subject_id=1, species="rat")
        print(len(classes["Subject"]), sorted(schema.lineage))
        """
    )
    first = subprocess.run(
        [sys.executable, "-c", script, "insert"], capture_output=True, text=True, cwd=tmp_path
    )
    assert first.returncode == 0, first.stderr
    second = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=tmp_path)
    assert second.returncode == 0, second.stderr
    assert second.stdout.startswith(
        "1 ['#species', 'cell', 'subject', 'synapse', '__recording', '__recording__unit']"[:2]
    )
    assert "created table" not in second.stderr


def test_values_round_trip(db: tj.Connection) -> None:
    schema = tj.Schema("lab", connection=db)
    c = declare(schema)
    tag = UUID("12345678-1234-5678-1234-567812345678")
    c["Subject"].insert1(
        subject_id=1,
        species="mouse",
        sex="F",
        date_of_birth=date(2020, 2, 29),
        weight=Decimal("21.05"),
        alive=False,
        tag=tag,
        entered=datetime(2024, 5, 1, 12, 30, 15, 250000),
        small=-7,
        meta={"a": 1},
    )
    row = (c["Subject"] & {"subject_id": 1}).fetch1()
    assert (row.sex, row.date_of_birth, row.weight, row.alive, row.tag) == (
        "F",
        date(2020, 2, 29),
        Decimal("21.05"),
        False,
        tag,
    )
    assert (row.entered, row.small, row.meta, row.notes) == (
        datetime(2024, 5, 1, 12, 30, 15, 250000),
        -7,
        {"a": 1},
        "",
    )
    c["Subject"].insert1(subject_id=2, species="rat")
    second = (c["Subject"] & {"subject_id": 2}).fetch1()
    assert second.weight == Decimal("1.50") and second.alive is True and isinstance(second.entered, datetime)
    assert abs((datetime.now() - second.entered).total_seconds()) < 60
    trace = np.linspace(0, 1, 100).reshape(4, 25)
    c["Recording"].insert1(
        {"subject_id": 1, "trace": trace, "started": time(9, 15, 30)}, allow_direct_insert=True
    )
    rec = c["Recording"].fetch1()
    assert np.array_equal(rec.trace, trace) and rec.started == time(9, 15, 30)
    assert (c["Subject"] & {"date_of_birth": date(2020, 2, 29)}).keys() == [{"subject_id": 1}]
    assert (c["Subject"] & "date_of_birth > '2020-01-01'").keys() == [{"subject_id": 1}]
    assert (c["Subject"] & [{"subject_id": 1}, {"subject_id": 2}]).fetch("subject_id").tolist() == [1, 2]
    assert c["Subject"].fetch("weight", order_by="subject_id").tolist() == [Decimal("21.05"), Decimal("1.50")]


def test_constraints_are_enforced_by_the_database(db: tj.Connection) -> None:
    schema = tj.Schema("lab", connection=db)
    c = declare(schema)
    table = db.dialect.table("lab", "subject")
    bad = {
        "enum": "sex) VALUES (9, 'rat', 'X')",
        "bool": "alive) VALUES (9, 'rat', 2)",
        "varchar(10)": "notes) VALUES (9, 'rat', 'eleven char')",
        "int8": "small) VALUES (9, 'rat', 300)",
        "STRICT": "small) VALUES (9, 'rat', 'seven')",
        "foreign key": "notes) VALUES (9, 'dog', '')",
    }
    for what, values in bad.items():
        with pytest.raises(tj.IntegrityError, match=r"constraint|cannot store"):
            db.query(f"INSERT INTO {table} (subject_id, species, {values}")
            pytest.fail(f"{what} not enforced")
    assert len(c["Subject"]) == 0
    with pytest.raises(tj.ValidationError, match="sex"):
        c["Subject"].insert1(subject_id=9, species="rat", sex="X")  # type: ignore[arg-type]
    c["Subject"].insert1(subject_id=9, species="rat")
    with pytest.raises(tj.DuplicateError):
        c["Subject"].insert1(subject_id=9, species="rat")
    c["Subject"].insert([{"subject_id": 9, "species": "rat"}], skip_duplicates=True)
    with pytest.raises(tj.IntegrityError, match="Subject"):
        c["Subject"].insert([{"subject_id": 10, "species": "dog"}], skip_duplicates=True)
    assert c["Subject"].fetch("subject_id").tolist() == [9]


def test_schemas_share_one_file_and_reference_each_other(db: tj.Connection) -> None:
    lab = tj.Schema("lab", connection=db)
    c = declare(lab)
    ephys = tj.Schema("ephys", connection=db)
    subject_table = c["Subject"]

    @ephys
    class Probe(Manual):
        subject: Key[Ref[subject_table]]  # type: ignore[valid-type]
        probe: Key[int]

    assert db.catalog.list_schemas() == ["ephys", "lab"]
    assert Probe._def.foreign_keys[0].parent_schema == "lab"
    with pytest.raises(tj.IntegrityError):
        Probe.insert1(subject_id=1, probe=1)
    assert len(Probe) == 0
    c["Subject"].insert1(subject_id=1, species="mouse")
    Probe.insert1(subject_id=1, probe=1)
    assert (Probe * c["Subject"]).to_dicts()[0]["species"] == "mouse"
    # the cascade reaches the other schema, in one transaction
    assert (c["Subject"] & {"subject_id": 1}).delete() == {"lab.subject": 1, "ephys.probe": 1}
    c["Subject"].insert1(subject_id=1, species="mouse")
    Probe.insert1(subject_id=1, probe=1)
    with pytest.raises(tj.IntegrityError, match=r"ephys\.probe"):
        db.catalog.drop_database("lab")
    assert len(c["Subject"]) == 1
    lab.drop()  # takes the dependent table of the other schema with it, as on MySQL
    assert ephys.connection.catalog.load_catalog("ephys").keys() == {"~lineage"}
    ephys.drop()
    assert db.catalog.list_schemas() == []
    assert (
        db.query("SELECT name FROM sqlite_schema WHERE name LIKE 'lab.%' OR name LIKE 'ephys.%'").fetchall()
        == []
    )


def test_delete_rolls_back_as_a_whole(db: tj.Connection) -> None:
    schema = tj.Schema("lab", connection=db)
    c = declare(schema)
    c["Subject"].insert([{"subject_id": i, "species": "mouse"} for i in (1, 2)])
    c["Recording"].insert([{"subject_id": i, "trace": np.zeros(3)} for i in (1, 2)], allow_direct_insert=True)
    c["Recording"].Unit.insert(  # type: ignore[attr-defined]
        [{"subject_id": 1, "unit": u} for u in (1, 2)], allow_direct_insert=True
    )
    db.query(
        f'CREATE TRIGGER "keep" BEFORE DELETE ON {db.dialect.table("lab", "subject")} '
        "BEGIN SELECT RAISE(ABORT, 'subjects are kept'); END"
    )
    with pytest.raises(tj.IntegrityError, match="subjects are kept"):
        (c["Subject"] & {"subject_id": 1}).delete()
    assert (len(c["Subject"]), len(c["Recording"]), len(c["Recording"].Unit)) == (2, 2, 2)  # type: ignore[attr-defined]


def test_dotted_schema_names_are_refused(db: tj.Connection) -> None:
    with pytest.raises(tj.DeclarationError, match=r"'\.'"):
        tj.Schema("a.b", connection=db)
    assert db.catalog.list_schemas() == []


def test_default_database_is_announced_once(tmp_path: Path) -> None:
    script = textwrap.dedent(
        """
        import typedj as tj
        a = tj.Schema("one")
        b = tj.Schema("two")
        print(a.connection.url, a.connection is b.connection)
        """
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJ_", "TYPEDJ_"))}
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, cwd=tmp_path, env=env
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == [f"sqlite:///{tmp_path / 'typedj.db'}", "True"]
    assert result.stderr.count("no database configured") == 1
    assert "TYPEDJ_DATABASE_URL=mysql://" in result.stderr
    assert (tmp_path / "typedj.db").exists()


def test_sqlite_urls() -> None:
    assert tj.DatabaseURL.parse("sqlite:///data/lab.db").path == "data/lab.db"
    assert tj.DatabaseURL.parse("sqlite:////abs/lab.db").path == "/abs/lab.db"
    assert SQLiteDialect().table("lab", "#species") == '"lab.#species"'


_WRITER = """
import sys; sys.path.insert(0, {root!r})
import typedj as tj
from tests.test_sqlite import declare
schema = tj.Schema("lab", connection=tj.connect({url!r}))
c = declare(schema)
worker = int(sys.argv[1])
for i in range(25):
    c["Subject"].insert1(subject_id=worker * 100 + i, species="mouse")
print("done")
"""


def test_four_processes_write_one_file(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'shared.db'}"
    script = _WRITER.format(root=str(ROOT), url=url)
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", script, str(w)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        for w in range(4)
    ]
    outputs = [p.communicate(timeout=120) for p in procs]
    assert [p.returncode for p in procs] == [0, 0, 0, 0], [e for _, e in outputs]
    conn = tj.connect(url)
    count = conn.query(f"SELECT COUNT(*) FROM {conn.dialect.table('lab', 'subject')}").fetchone()[0]
    assert count == 100


def test_alter_is_refused_where_the_dialect_cannot_alter(db: tj.Connection) -> None:
    from typedj.backend.dialect import TableChange

    schema = tj.Schema("lab", connection=db)

    @schema
    class Animal(Manual):
        animal_id: Key[int]

    assert not db.dialect.supports_alter_table
    with pytest.raises(tj.ConfigError, match="sqlite cannot change an existing table") as err:
        Animal.alter(force=True)
    assert err.value.table == "animal"
    table_def = Animal._def  # type: ignore[attr-defined]
    with pytest.raises(tj.ConfigError, match="not supported on sqlite") as err:
        SQLiteDialect().alter_table(TableChange(table_def, table_def, comment=True))
    assert err.value.table == "animal"
