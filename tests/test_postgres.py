"""The PostgreSQL backend: its URL, its SQL spelling, and the layout it leaves on the server
(datajoint-python 2.3.5's: a schema per DataJoint schema, COMMENT ON, enum types, bytea)."""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Iterator
from datetime import datetime
from decimal import Decimal
from typing import Any, Literal

import pytest

import typedj as tj
from typedj.backend.postgres import translate_text
from typedj.backend.postgres_types import enum_type_name
from typedj.config import DatabaseURL, _env_url


def test_url_names_a_database_and_hides_the_password() -> None:
    url = DatabaseURL.parse("postgresql://ann:p%40ss@db.example:5433/lab")
    assert (url.scheme, url.host, url.port, url.user, url.password, url.path) == (
        "postgresql", "db.example", 5433, "ann", "p@ss", "lab")
    assert str(url) == "postgresql://ann:***@db.example:5433/lab"
    assert "p@ss" not in repr(url)
    default = DatabaseURL.parse("postgres://db.example")
    assert (default.port, default.user, default.path) == (5432, "postgres", "postgres")
    with pytest.raises(tj.ConfigError) as err:
        DatabaseURL.parse("postgresql://ann:secret@db.example/lab/extra")
    assert "secret" not in str(err.value)


def test_datajoint_environment_selects_postgres() -> None:
    url = _env_url({"DJ_HOST": "db:6000", "DJ_USER": "ann", "DJ_PASS": "pw", "DJ_BACKEND": "postgresql",
                    "DJ_DATABASE_NAME": "lab"})
    assert isinstance(url, DatabaseURL)
    assert (url.scheme, url.host, url.port, url.user, url.path) == ("postgresql", "db", 6000, "ann", "lab")
    default = _env_url({"DJ_HOST": "db", "DJ_BACKEND": "postgresql"})
    assert isinstance(default, DatabaseURL) and (default.port, default.path) == (5432, "postgres")


def test_enum_types_are_named_as_datajoint_names_them() -> None:
    # datajoint-python 2.3.5: "enum_" + md5("_".join(sorted(values)))[:8], whatever the order
    expected = "enum_" + hashlib.md5(b"error_ignore_pending_reserved_success").hexdigest()[:8]
    assert enum_type_name(["pending", "reserved", "success", "error", "ignore"]) == expected
    assert enum_type_name(["ignore", "error", "success", "reserved", "pending"]) == expected


def test_user_sql_is_respelled_for_postgres() -> None:
    assert translate_text("`name` = 'x' AND note LIKE '50%'") == "\"name\" = 'x' AND note LIKE '50%%'"
    assert translate_text("a % 2 = 1") == "a %% 2 = 1"
    assert translate_text("`we``ird` = 'it''s' OR \"q\" LIKE '\\%'") == (
        "\"we`ird\" = 'it''s' OR \"q\" LIKE '\\%%'")


@pytest.fixture
def pg(postgres_url: str) -> Iterator[tj.Connection]:
    conn = tj.connect(postgres_url)
    yield conn


def _drop(conn: tj.Connection, name: str) -> None:
    conn.schemas.pop(name, None)
    conn.catalog.drop_database(name)


def test_layout_on_the_server_is_datajoints(pg: tj.Connection) -> None:
    name = "t_pg_layout"
    _drop(pg, name)
    schema = tj.Schema(name, connection=pg)
    try:
        @schema
        class Animal(tj.Manual):
            """An animal"""

            animal_id: tj.Key[int]
            sex: Literal["M", "F"]
            tag: uuid.UUID
            alive: bool = True
            weight: Decimal = tj.Attr(precision=6, scale=2, default=Decimal("1.50"), comment="grams")
            born: datetime | None = None
            notes: dict[str, Any] | None = None
            trace: tj.Blob[list[int]] | None = None

        types = dict(pg.query(
            "SELECT column_name, CASE WHEN data_type = 'USER-DEFINED' THEN udt_schema || '.' || udt_name "
            "ELSE data_type END FROM information_schema.columns WHERE table_schema = %s AND table_name = %s",
            (name, "animal")).fetchall())
        assert types == {
            "animal_id": "integer", "sex": f"{name}.{enum_type_name(['M', 'F'])}", "tag": "uuid",
            "alive": "boolean", "weight": "numeric", "born": "timestamp without time zone",
            "notes": "jsonb", "trace": "bytea",
        }
        comments = dict(pg.query(
            "SELECT a.attname, col_description(a.attrelid, a.attnum) FROM pg_attribute a "
            "WHERE a.attrelid = %s::regclass AND a.attnum > 0", (f'"{name}"."animal"',)).fetchall())
        assert comments["weight"] == ":decimal(6,2):grams"
        assert comments["tag"] == ":uuid:"
        assert comments["trace"] == ":<blob>:"
        table_comment = pg.query("SELECT obj_description(%s::regclass, 'pg_class')",
                                 (f'"{name}"."animal"',)).fetchone()[0]
        assert table_comment == "An animal"
        assert "~lineage" in {r[0] for r in pg.query(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = %s", (name,)).fetchall()}

        tag = uuid.uuid4()
        Animal.insert1({"animal_id": 1, "sex": "F", "tag": tag, "notes": {"a": [1, 2]}, "trace": [1, 2, 3]})
        row = Animal.fetch1()
        assert row.tag == tag and row.alive is True and row.weight == Decimal("1.50")
        assert row.notes == {"a": [1, 2]} and row.trace == [1, 2, 3] and row.born is None
        assert (Animal & {"tag": tag}).keys() == [{"animal_id": 1}]
        Animal.insert1({"animal_id": 1, "sex": "M", "tag": tag, "alive": False}, replace=True)
        assert Animal.fetch1("sex", "alive") == ("M", False)
        Animal.insert1({"animal_id": 1, "sex": "F", "tag": tag}, skip_duplicates=True)
        assert Animal.fetch1("sex") == "M"
        with pytest.raises(tj.DuplicateError):
            Animal.insert1({"animal_id": 1, "sex": "F", "tag": tag})
        assert schema.tables["animal"].heading["weight"].type_name == "decimal(6,2)"
    finally:
        _drop(pg, name)


def test_nul_in_text_is_refused_before_writing(pg: tj.Connection) -> None:
    """PostgreSQL stores no NUL character in text or jsonb: validation refuses it, naming
    row and attribute, for insert, validate and update1, and nothing is written."""
    name = "t_pg_nul"
    _drop(pg, name)
    schema = tj.Schema(name, connection=pg)
    try:
        @schema
        class Note(tj.Manual):
            id: tj.Key[int]
            text: str = ""
            doc: dict[str, Any] | None = None

        rows = [{"id": 1, "text": "fine"}, {"id": 2, "text": "a\0b"}, {"id": 3, "doc": {"k": ["x\0"]}}]
        with pytest.raises(tj.ValidationError) as info:
            Note.insert(rows)
        assert info.value.table == "Note"
        assert [(p.row, p.attribute) for p in info.value.problems] == [(1, "text"), (2, "doc")]
        assert "NUL" in str(info.value)
        assert len(Note) == 0
        assert [(p.row, p.attribute) for p in Note.validate(rows)] == [(1, "text"), (2, "doc")]
        Note.insert1({"id": 1, "text": "fine", "doc": {"k": "v"}})
        with pytest.raises(tj.ValidationError) as info:
            Note.update1({"id": 1, "doc": {"k\0": 1}})
        assert info.value.attribute == "doc"
        assert Note.fetch1("text", "doc") == ("fine", {"k": "v"})
    finally:
        _drop(pg, name)


@pytest.mark.filterwarnings("ignore::typedj.DriftWarning")  # drift is what the test makes
def test_alter_changes_types_checks_enums_and_comments(pg: tj.Connection) -> None:
    """alter() on PostgreSQL: an enum widened, an unsigned type's CHECK replaced, text made
    an integer, defaults, comments and an index changed, a column added; rows kept."""
    name = "t_pg_alter"
    _drop(pg, name)
    schema = tj.Schema(name, connection=pg)
    try:
        @schema
        class Probe(tj.Manual):
            """probes"""

            probe_id: tj.Key[int]
            kind: Literal["a", "b"] = "a"
            channels: tj.uint8 = 4
            serial: str = tj.Attr(max_length=8)
            note: str = tj.Attr(default="", max_length=32, comment="free text")
            indexes = [tj.Index("serial")]

        Probe.insert([{"probe_id": 1, "kind": "b", "channels": 200, "serial": "12"},
                      {"probe_id": 2, "serial": "7", "note": "spare"}])
        pg.schemas.pop(name)
        s = tj.Schema(name, connection=pg, allow_drift=True)

        @s
        class Probe(tj.Manual):  # type: ignore[no-redef]  # the changed class
            """probes in use"""

            probe_id: tj.Key[int]
            kind: Literal["a", "b", "c"] = "c"
            channels: tj.uint16 = 4
            serial: int
            note: str = tj.Attr(default="", max_length=32, comment="who set it up")
            depth: float | None = None
            indexes = [tj.Index("serial", unique=True)]

        sql = Probe.alter(force=True)
        assert s.diff() == []
        assert sql[0] == f'DROP INDEX "{name}"."idx_probe_serial"'
        assert f'CREATE UNIQUE INDEX IF NOT EXISTS "idx_probe_serial" ON "{name}"."probe" ("serial")' in sql
        alter = next(st for st in sql if st.startswith("ALTER TABLE"))
        assert 'ALTER COLUMN "serial" TYPE integer USING "serial"::integer' in alter
        assert 'DROP CONSTRAINT IF EXISTS "channels:tinyint unsigned"' in alter
        assert 'ADD COLUMN "depth" double precision DEFAULT NULL' in alter
        rows = sorted(Probe.to_dicts(), key=lambda r: r["probe_id"])
        assert rows == [
            {"probe_id": 1, "kind": "b", "channels": 200, "serial": 12, "note": "", "depth": None},
            {"probe_id": 2, "kind": "a", "channels": 4, "serial": 7, "note": "spare", "depth": None},
        ]
        Probe.insert1({"probe_id": 3, "channels": 65535, "serial": 9})
        assert (Probe & {"probe_id": 3}).fetch1("kind", "channels") == ("c", 65535)
        with pytest.raises(tj.TypedjError):  # the new CHECK guards the server too
            pg.query(f'INSERT INTO "{name}"."probe" (probe_id, channels, serial) VALUES (4, 65536, 1)')
        with pytest.raises(tj.DuplicateError):
            Probe.insert1({"probe_id": 5, "serial": 9})
        comments = dict(pg.query(
            "SELECT a.attname, col_description(a.attrelid, a.attnum) FROM pg_attribute a "
            "WHERE a.attrelid = %s::regclass AND a.attnum > 0", (f'"{name}"."probe"',)).fetchall())
        assert comments["note"] == ":varchar(32):who set it up" and comments["serial"] == ":int32:"
        assert s.tables["probe"].comment == "probes in use"
    finally:
        _drop(pg, name)


def test_sessions_creating_one_table_at_once_all_succeed(pg: tj.Connection, postgres_url: str) -> None:
    """CREATE ... IF NOT EXISTS in several sessions at the same moment (workers declaring a
    hidden table): PostgreSQL reports the losers' catalog rows as duplicates; all go on."""
    import threading
    import time

    name = "t_pg_race"
    _drop(pg, name)
    schema = tj.Schema(name, connection=pg)
    sessions = [tj.Connection(postgres_url) for _ in range(4)]
    failures: list[BaseException] = []
    try:
        @schema
        class Racing(tj.Manual):
            """declared by every worker"""

            racing_id: tj.Key[int]
            state: Literal["x", "y", "z"] = "x"
            label: str = tj.Attr(default="", max_length=16, comment="a label")
            indexes = [tj.Index("label")]

        table = Racing._def  # type: ignore[attr-defined]  # the class's TableDef, as workers declare it
        for _ in range(3):
            pg.query(f'DROP TABLE "{name}"."racing"')
            pg.query(f'DROP TYPE "{name}"."{enum_type_name(["x", "y", "z"])}"')
            start = threading.Barrier(len(sessions))

            def create(conn: tj.Connection, start: threading.Barrier = start) -> None:
                start.wait()
                try:
                    with conn.transaction():  # as populate's make: the winner commits later
                        for sql in conn.dialect.create_table(table):
                            conn.query(sql)
                        time.sleep(0.05)
                except BaseException as exc:  # collected for the assertion
                    failures.append(exc)

            threads = [threading.Thread(target=create, args=(c,)) for c in sessions]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
        assert failures == []
        Racing.insert1({"racing_id": 1, "state": "z"})
        assert Racing.fetch1("state", "label") == ("z", "")
    finally:
        for c in sessions:
            c.close()
        _drop(pg, name)


def test_batch_reservation_skips_rows_another_session_holds(pg: tj.Connection, postgres_url: str) -> None:
    """A pending job whose row another session holds locked is passed over, not waited for
    (``FOR UPDATE SKIP LOCKED``); the server names the rows reserved (``RETURNING``)."""
    import threading

    from typedj.populate.autopopulate import todo

    name = "t_pg_skip_locked"
    _drop(pg, name)
    schema = tj.Schema(name, connection=pg)
    other = tj.Connection(postgres_url)
    try:
        @schema
        class Source(tj.Manual):
            source_id: tj.Key[int]
            label: tj.Key[str] = tj.Attr(max_length=8)

        @schema
        class Result(tj.Computed):
            source: tj.Key[tj.Ref[Source]]
            done: bool = True

            def make(self, key: dict[str, Any]) -> None:
                self.insert1(key)

        Source.insert([(i, f"s{i}") for i in range(6)])
        jobs = Result.jobs  # type: ignore[attr-defined]
        jobs.refresh(todo(Result, []))
        keys = [{"source_id": i, "label": f"s{i}"} for i in range(6)]
        jobs_table = f'"{name}"."{jobs.table_name}"'
        taken: list[list[int]] = []
        with other.transaction():
            other.query(f"SELECT 1 FROM {jobs_table} WHERE source_id IN (2, 4) FOR UPDATE")
            worker = threading.Thread(target=lambda: taken.append(jobs.reserve_many(keys)))
            worker.start()
            worker.join(timeout=20)
            assert not worker.is_alive(), "the reservation waited for the other session's locks"
        assert taken == [[0, 1, 3, 5]]
        assert jobs.reserve_many(keys) == [2, 4]
        assert jobs.reserve_many(keys) == []
        assert sorted(r["source_id"] for r in jobs.reserved.to_dicts()) == list(range(6))
    finally:
        other.close()
        _drop(pg, name)
