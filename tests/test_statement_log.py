"""Every statement is logged at DEBUG on ``typedj.sql`` with its parameters, from the one
place statements run; passwords never appear and long values are abbreviated."""

from __future__ import annotations

import logging
import uuid

import pytest

import typedj as tj
from typedj import Key, Manual


def statements(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == "typedj.sql"]


def test_a_statement_is_logged_with_its_parameters(
    conn: tj.Connection, caplog: pytest.LogCaptureFixture
) -> None:
    p = conn.dialect.placeholder
    with caplog.at_level(logging.DEBUG, logger="typedj.sql"):
        assert conn.query(f"SELECT {p} + 1, {p}", [41, "x"]).fetchone() == (42, "x")
        conn.query("SELECT 1")
    assert statements(caplog) == [f"SELECT {p} + 1, {p} -- params: (41, 'x')", "SELECT 1"]
    assert all(r.levelno == logging.DEBUG for r in caplog.records if r.name == "typedj.sql")


def test_nothing_is_logged_above_debug(conn: tj.Connection, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger="typedj.sql"):
        conn.query("SELECT 1")
    assert statements(caplog) == []


def test_passwords_are_masked(conn: tj.Connection, caplog: pytest.LogCaptureFixture) -> None:
    p = conn.dialect.placeholder
    with caplog.at_level(logging.DEBUG, logger="typedj.sql"):
        conn.query(f"SELECT {p} AS password", ["hunter2"])
        conn.query("SELECT 'hunter2' AS password")
    assert statements(caplog) == [f"SELECT {p} AS password -- params: (***)", "SELECT '***' AS password"]
    assert "hunter2" not in caplog.text


@pytest.mark.requires("supports_accounts", "mysql_server", reason="creates a MySQL account")
def test_an_account_password_is_never_logged(conn: tj.Connection, caplog: pytest.LogCaptureFixture) -> None:
    user = f"tj_log_{uuid.uuid4().hex[:8]}"
    with caplog.at_level(logging.DEBUG, logger="typedj.sql"):
        conn.query(f"CREATE USER '{user}'@'localhost' IDENTIFIED BY 'Secret-{user}'")
        conn.query(f"DROP USER '{user}'@'localhost'")
    assert statements(caplog) == [
        "CREATE USER '***'@'***' IDENTIFIED BY '***'", f"DROP USER '{user}'@'localhost'"
    ]
    assert f"Secret-{user}" not in caplog.text


def test_a_refused_statement_never_shows_a_password(conn: tj.Connection) -> None:
    with pytest.raises(tj.TypedjError) as info:
        conn.query("ALTER USR nobody IDENTIFIED BY 'hunter2'")
    assert "hunter2" not in str(info.value) and "hunter2" not in repr(info.value)
    assert "IDENTIFIED BY '***'" in str(info.value)
    assert info.value.sql == "ALTER USR nobody IDENTIFIED BY '***'"
    cause = info.value.__cause__
    assert cause is not None and "hunter2" not in str(cause) and "hunter2" not in repr(cause)


def test_inserts_log_rows_with_long_values_abbreviated(
    schema: tj.Schema, conn: tj.Connection, caplog: pytest.LogCaptureFixture
) -> None:
    @schema
    class Note(Manual):
        note_id: Key[int]
        body: bytes
        text: str = tj.Attr(max_length=1024)

    rows = [{"note_id": i, "body": bytes(1000) if i == 0 else b"ab", "text": "t" * (300 if i == 1 else 2)}
            for i in range(5)]
    with caplog.at_level(logging.DEBUG, logger="typedj.sql"):
        Note.insert(rows)
    (insert,) = [s for s in statements(caplog) if s.startswith("INSERT")]
    assert "(0, <1000 bytes>, 'tt'), (1, b'ab', '" + "t" * 200 + "'... (300 characters))" in insert
    assert "(2, b'ab', 'tt'), ... (5 rows)" in insert
    assert bytes(1000).hex() not in caplog.text


def test_transactions_are_logged(conn: tj.Connection, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.DEBUG, logger="typedj.sql"):
        with conn.transaction():
            conn.query("SELECT 1")
        with pytest.raises(ZeroDivisionError), conn.transaction():
            conn.query("SELECT 2")
            raise ZeroDivisionError
    begin = conn.dialect.begin_transaction
    assert statements(caplog) == [begin, "SELECT 1", "COMMIT", begin, "SELECT 2", "ROLLBACK"]
