"""Every failure reaches the caller as a typed error with the driver's exception chained.

The faults are real: SQL the server cannot parse, a statement killed on the server, a
missing parent row, a refused login, a port nobody listens on, a table dropped behind
typedj's back.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import psycopg
import pymysql
import pytest

import typedj as tj
from typedj import Key, Manual, Ref

DRIVER_ERRORS = (pymysql.err.MySQLError, sqlite3.Error, psycopg.Error)


def driver_cause(exc: BaseException) -> BaseException | None:
    """The driver's exception somewhere in the chain of causes of ``exc``."""
    seen = exc.__cause__
    while seen is not None:
        if isinstance(seen, DRIVER_ERRORS):
            return seen
        seen = seen.__cause__
    return None


@pytest.fixture
def lab(schema: tj.Schema) -> tuple[Any, Any]:
    @schema
    class Subject(Manual):
        subject_id: Key[int]
        name: str
        weight: float

    @schema
    class Session(Manual):
        subject: Key[Ref[Subject]]
        session_id: Key[int]
        note: str

    Subject.insert([(1, "a", 1.0), (2, "b", 2.0)])
    Session.insert([(1, 1, "x"), (1, 2, "y")])
    return Subject, Session


BAD_RESTRICTION = "subject_id = = 1"


def restricted_operations(subject: Any) -> dict[str, Callable[[], Any]]:
    bad = subject & BAD_RESTRICTION
    return {
        "fetch": lambda: bad.fetch(),
        "fetch1": lambda: bad.fetch1(),
        "to_dicts": lambda: bad.to_dicts(),
        "fetch attribute": lambda: bad.fetch("name"),
        "keys": lambda: bad.keys(),
        "len": lambda: len(bad),
        "iterate": lambda: list(bad),
        "head": lambda: bad.head(),
        "to_pandas": lambda: bad.to_pandas(),
        "delete": lambda: bad.delete(),
        "in": lambda: {"subject_id": 1} in bad,
        "negated": lambda: (subject - BAD_RESTRICTION).fetch(),
    }


def test_syntax_errors_in_restrictions_are_query_errors(lab: tuple[Any, Any], conn: tj.Connection) -> None:
    subject, _ = lab
    for name, operation in restricted_operations(subject).items():
        with pytest.raises(tj.QueryError) as info:
            operation()
        error = info.value
        assert error.sql is not None and "= = 1" in error.sql, name
        assert error.server_message and error.server_message in str(error), name
        assert "= = 1" in str(error), name
        assert isinstance(error.__cause__, DRIVER_ERRORS), name
    if conn.dialect.name == "mysql":
        assert error.code == 1064 and "syntax" in error.server_message
    elif conn.dialect.name == "postgresql":
        assert error.code == "42601" and error.server_message.startswith("syntax error")
    else:
        assert error.code == "SQLITE_ERROR" and error.server_message == 'near "=": syntax error'
    assert len(subject) == 2  # nothing deleted


def test_syntax_errors_in_proj_and_aggr_are_query_errors(lab: tuple[Any, Any], conn: tj.Connection) -> None:
    subject, session = lab
    for name, query in {
        "proj": subject.proj(n="cnt(*)"),
        "aggr": subject.aggr(session, n="cnt(*)"),
        "proj syntax": subject.proj(w="weight * * 2"),
    }.items():
        with pytest.raises(tj.QueryError) as info:
            query.fetch()
        assert info.value.sql is not None and ("cnt(*)" in info.value.sql or "* * 2" in info.value.sql), name
        assert info.value.server_message, name
        assert isinstance(info.value.__cause__, DRIVER_ERRORS), name
    assert subject.aggr(session, n="count(session_id)").fetch("n", order_by="KEY").tolist() == [2, 0]


def test_unknown_column_in_sql_text_names_it(lab: tuple[Any, Any]) -> None:
    subject, _ = lab
    for text in ("nonesuch = 1", "`nonesuch` = 1"):  # caught as the query is built, before any SQL runs
        with pytest.raises(tj.UnknownAttributeError) as info:
            subject & text
        assert info.value.attribute == "nonesuch" and "subject_id" in str(info.value)


def test_missing_parent_is_named_with_its_key(lab: tuple[Any, Any], schema: tj.Schema) -> None:
    subject, session = lab
    with pytest.raises(tj.IntegrityError) as info:
        session.insert([(1, 3, "fine"), (7, 1, "orphan"), (9, 2, "orphan too"), (7, 4, "same parent")])
    message = str(info.value)
    assert message == (
        "Session: refers to missing parent rows:\n"
        f"  row 1: no row of {schema.name}.subject with subject_id=7\n"
        f"  row 2: no row of {schema.name}.subject with subject_id=9"
    )
    assert info.value.table == "session" and isinstance(driver_cause(info.value), DRIVER_ERRORS)
    assert len(session) == 2  # the batch wrote nothing
    with pytest.raises(tj.DuplicateError) as dup:
        subject.insert1((1, "again", 3.0))
    assert str(dup.value).startswith("Subject: duplicate entry")
    assert isinstance(driver_cause(dup.value), DRIVER_ERRORS)


def test_update_to_a_missing_parent_is_named(schema: tj.Schema) -> None:
    @schema
    class Rig(Manual):
        rig_id: Key[int]

    @schema
    class Setup(Manual):
        setup_id: Key[int]
        rig: Ref[Rig]

    Rig.insert1((1,))
    Setup.insert1((1, 1))
    with pytest.raises(tj.IntegrityError) as info:
        Setup.update1({"setup_id": 1, "rig_id": 8})
    assert str(info.value) == (
        f"Setup.update1: refers to a missing parent row: no row of {schema.name}.rig with rig_id=8")
    assert isinstance(driver_cause(info.value), DRIVER_ERRORS)
    assert Setup.fetch1().rig_id == 1


@pytest.mark.requires("supports_kill", "mysql_server", reason="KILL QUERY is a server command")
def test_kill_query_is_query_interrupted(lab: tuple[Any, Any], conn: tj.Connection) -> None:
    subject, _ = lab
    victim = conn.connection_id
    killer = tj.Connection(conn.url)

    def kill_soon() -> None:
        time.sleep(0.5)
        killer.query(f"KILL QUERY {victim}")

    thread = threading.Thread(target=kill_soon)
    thread.start()
    started = time.monotonic()
    try:
        with pytest.raises(tj.QueryInterruptedError) as info:
            (subject & "SLEEP(10) = 0").fetch()
    finally:
        thread.join()
        killer.close()
    assert time.monotonic() - started < 8
    assert info.value.code == 1317 and "SLEEP(10)" in (info.value.sql or "")
    assert isinstance(info.value.__cause__, pymysql.err.MySQLError)
    assert len(subject) == 2  # the connection still works


def test_interrupted_sqlite_statement(tmp_path: Path) -> None:
    conn = tj.connect(f"sqlite:///{tmp_path / 'i.db'}")
    endless = ("WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 2000000000) "
               "SELECT count(*) FROM c")
    timer = threading.Timer(0.3, lambda: conn.raw.interrupt())
    timer.start()
    try:
        with pytest.raises(tj.QueryInterruptedError) as info:
            conn.query(endless).fetchone()
    finally:
        timer.cancel()
    assert info.value.sql == endless and isinstance(info.value.__cause__, sqlite3.OperationalError)
    assert conn.query("SELECT 1").fetchone()[0] == 1
    conn.close()


def test_unreachable_databases(tmp_path: Path) -> None:
    with pytest.raises(tj.UnreachableError) as info:
        tj.Connection("mysql://root:pw@127.0.0.1:1").query("SELECT 1")
    assert str(info.value).startswith("cannot reach the database: mysql://root:***@127.0.0.1:1")
    assert isinstance(info.value, ConnectionError) and info.value.__cause__ is not None
    folder = tmp_path / "a_folder.db"
    folder.mkdir()
    with pytest.raises(tj.UnreachableError) as info:
        tj.connect(f"sqlite:///{folder}").query("SELECT 1")
    assert str(folder) in str(info.value) and isinstance(info.value.__cause__, sqlite3.Error)
    with pytest.raises(tj.UnreachableError):
        tj.Schema("lab", connection=tj.connect("mysql://root:pw@127.0.0.1:1"))
    assert "typedj" not in type(info.value.__cause__).__module__


def faults(schema: tj.Schema, conn: tj.Connection, lab: tuple[Any, Any]) -> dict[str, Callable[[], Any]]:
    """Public operations, each run against a fault that the database reports."""
    subject, session = lab
    out: dict[str, Callable[[], Any]] = {
        f"restriction {name}": op for name, op in restricted_operations(subject).items()
    }
    out.update({
        "proj expression": lambda: subject.proj(n="cnt(*)").fetch(),
        "aggr expression": lambda: subject.aggr(session, n="cnt(*)").fetch(),
        "join with bad restriction": lambda: (subject * session & BAD_RESTRICTION).fetch(),
        "union with bad restriction": lambda: ((subject & BAD_RESTRICTION) + subject).fetch(),
        "insert missing parent": lambda: session.insert1((99, 1, "orphan")),
        "insert duplicate": lambda: subject.insert1((1, "dup", 1.0)),
        "raw query": lambda: conn.query("SELEC 1"),
        "raw query on missing table": lambda: conn.query(
            f"SELECT * FROM {conn.dialect.table(schema.name, 'nope')}"),
        "schema without the database": lambda: tj.Schema(schema.name + "_nope", connection=conn,
                                                         create_schema=False),
    })
    return out


def test_every_fault_is_a_typed_error_with_its_cause(
    schema: tj.Schema, conn: tj.Connection, lab: tuple[Any, Any]
) -> None:
    subject, session = lab
    seen: dict[str, str] = {}
    for name, operation in faults(schema, conn, lab).items():
        try:
            operation()
        except tj.TypedjError as exc:
            seen[name] = type(exc).__name__
            if name != "schema without the database":  # found by typedj's catalog query
                assert driver_cause(exc) is not None, f"{name}: {exc!r} has no driver cause"
        except Exception as exc:  # what this test looks for
            pytest.fail(f"{name}: {type(exc).__module__}.{type(exc).__name__} escaped: {exc}")
        else:
            seen[name] = "no error"
    assert seen == {
        **{f"restriction {n}": "QueryError" for n in restricted_operations(subject)},
        "proj expression": "QueryError",
        "aggr expression": "QueryError",
        "join with bad restriction": "QueryError",
        "union with bad restriction": "QueryError",
        "insert missing parent": "IntegrityError",
        "insert duplicate": "DuplicateError",
        "raw query": "QueryError",
        "raw query on missing table": "MissingTableError",
        "schema without the database": "MissingTableError",
    }
    # a table dropped behind typedj's back
    conn.query(f"DROP TABLE {conn.dialect.table(schema.name, 'session')}")
    with pytest.raises(tj.MissingTableError) as info:
        session.fetch()
    assert driver_cause(info.value) is not None
    with pytest.raises(tj.MissingTableError):
        session.insert1((1, 5, "gone"))
    assert len(subject) == 2


@pytest.mark.requires(
    "supports_kill", "supports_row_locks", "mysql_server",
    reason="KILL QUERY and row locks of another server session",
)
def test_kill_query_during_insert_and_delete_writes_nothing(lab: tuple[Any, Any], conn: tj.Connection,
                                                            schema: tj.Schema) -> None:
    """The statement waits for a row lock held by another session, and is killed there."""
    subject, session = lab
    victim = conn.connection_id
    holder = tj.Connection(conn.url)
    killer = tj.Connection(conn.url)
    table = conn.dialect.table(schema.name, "subject")

    done = threading.Event()

    def kill_when_waiting() -> None:
        while not done.wait(0.02):
            if killer.query("SELECT 1 FROM information_schema.innodb_trx WHERE trx_mysql_thread_id = %s "
                            "AND trx_state = 'LOCK WAIT'", (victim,)).fetchall():
                killer.query(f"KILL QUERY {victim}")

    try:
        for name, operation in {
            "insert": lambda: subject.insert([(3, "c", 3.0), (4, "d", 4.0), (2, "locked", 0.0)],
                                             skip_duplicates=True),
            "delete": lambda: (subject & {"subject_id": 2}).delete(),
        }.items():
            with holder.transaction():
                holder.query(f"SELECT * FROM {table} WHERE subject_id = 2 FOR UPDATE")
                done.clear()
                thread = threading.Thread(target=kill_when_waiting)
                thread.start()
                try:
                    with pytest.raises(tj.QueryInterruptedError) as info:
                        operation()
                finally:
                    done.set()
                    thread.join()
            assert info.value.code == 1317 and isinstance(info.value.__cause__, pymysql.err.MySQLError), name
            assert sorted(subject.fetch("subject_id").tolist()) == [1, 2], name  # nothing written
            assert len(session) == 2, name
    finally:
        holder.close()
        killer.close()
