"""Configuration sources, secrets kept out of text, reconnects, transactions, typed errors."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

import typedj as tj
from typedj.config import Config, DatabaseURL


def test_url_parsing_hides_password() -> None:
    url = DatabaseURL.parse("mysql://alice:s3cr%40t@db.lab.org:3307?tls=true")
    assert (url.host, url.port, url.user) == ("db.lab.org", 3307, "alice")
    assert (url.password, url.tls) == ("s3cr@t", True)
    assert "s3cr" not in repr(url) and "s3cr" not in str(url)
    assert str(url) == "mysql://alice:***@db.lab.org:3307?tls=true"
    assert DatabaseURL.parse("sqlite:///data/lab.db").path == "data/lab.db"
    assert DatabaseURL.parse("sqlite:////abs/lab.db").path == "/abs/lab.db"
    with pytest.raises(tj.ConfigError, match="oracle"):
        DatabaseURL.parse("oracle://x")
    assert DatabaseURL.parse("postgres://x").scheme == "postgresql"


def test_config_sources_in_order(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text(
        '[tool.typedj]\ndatabase_url = "mysql://py:pw@pyhost:1111"\n'
        '[tool.typedj.stores.raw]\nprotocol = "file"\nlocation = "/data/raw"\n'
    )
    (tmp_path / "sub").mkdir()
    c = Config()
    c.reload(environ={}, start=tmp_path / "sub")
    assert c.database_url is not None and c.database_url.host == "pyhost"
    assert c.stores["raw"] == {"protocol": "file", "location": "/data/raw"}
    c.reload(environ={"DJ_HOST": "djhost:2222", "DJ_USER": "u", "DJ_PASS": "p"}, start=tmp_path)
    assert c.database_url is not None
    assert (c.database_url.host, c.database_url.port, c.database_url.user) == ("djhost", 2222, "u")
    c.reload(environ={"TYPEDJ_DATABASE_URL": "mysql://t@thost", "DJ_HOST": "djhost"}, start=tmp_path)
    assert c.database_url is not None and c.database_url.host == "thost"
    c.database_url = "mysql://code@codehost:3"
    c.reload(environ={"TYPEDJ_DATABASE_URL": "mysql://t@thost"}, start=tmp_path)
    assert c.database_url is not None and c.database_url.host == "codehost"
    assert "pw" not in repr(c)


def test_reconnects_when_idle_connection_drops(mysql_url: str, caplog: pytest.LogCaptureFixture) -> None:
    mine = tj.Connection(mysql_url)
    first = mine.connection_id
    tj.connect(mysql_url).query(f"KILL {first}")
    with caplog.at_level(logging.INFO, logger="typedj"):
        assert mine.query("SELECT 1").fetchone()[0] == 1
    assert mine.connection_id != first
    assert "reconnecting" in caplog.text
    mine.close()


@pytest.mark.requires(
    "supports_kill", "mysql_server", reason="kills a server session (KILL) to drop the connection"
)
def test_lost_connection_inside_transaction_rolls_back(mysql_url: str, schema: tj.Schema) -> None:
    schema.connection.query(f"CREATE TABLE `{schema.name}`.`t` (x int primary key)")
    url = tj.DatabaseURL.parse(mysql_url)
    mine = tj.Connection(url)
    with pytest.raises(tj.ConnectionLostError), mine.transaction():
        mine.query(f"INSERT INTO `{schema.name}`.`t` VALUES (1)")
        schema.connection.query(f"KILL {mine.connection_id}")
        mine.query(f"INSERT INTO `{schema.name}`.`t` VALUES (2)")
    assert schema.connection.query(f"SELECT COUNT(*) FROM `{schema.name}`.`t`").fetchone()[0] == 0
    assert mine.query("SELECT 2").fetchone()[0] == 2  # usable again afterwards
    mine.close()


def test_nested_transactions_join_the_outer(schema: tj.Schema) -> None:
    conn = schema.connection
    t = conn.dialect.table(schema.name, "t")
    conn.query(f"CREATE TABLE {t} (x int primary key)")
    with pytest.raises(ValueError), conn.transaction():
        conn.query(f"INSERT INTO {t} VALUES (1)")
        with conn.transaction():
            conn.query(f"INSERT INTO {t} VALUES (2)")
        assert conn.in_transaction
        raise ValueError("outer fails after the inner block finished")
    assert conn.query(f"SELECT COUNT(*) FROM {t}").fetchone()[0] == 0
    with conn.transaction(), conn.transaction():
        conn.query(f"INSERT INTO {t} VALUES (3)")
    assert list(conn.query(f"SELECT x FROM {t}").fetchall()) == [(3,)]


def test_chained_transactions_commit_alone_and_leave_none_open(schema: tj.Schema) -> None:
    """``chained()``: each commit opens the next transaction (MySQL's ``COMMIT AND CHAIN``);
    every transaction still commits or rolls back alone, a statement outside one commits as
    it runs, and none is left open after the block."""
    conn = schema.connection
    t = conn.dialect.table(schema.name, "t")
    conn.query(f"CREATE TABLE {t} (x int primary key)")
    other = tj.Connection(conn._test_url)  # type: ignore[attr-defined]

    def seen() -> list[int]:
        return [r[0] for r in other.query(f"SELECT x FROM {t} ORDER BY x").fetchall()]

    with conn.chained():
        with conn.transaction():
            conn.query(f"INSERT INTO {t} VALUES (1)")
        assert seen() == [1]
        with pytest.raises(ValueError), conn.transaction():
            conn.query(f"INSERT INTO {t} VALUES (2)")
            raise ValueError("this transaction fails")
        with conn.transaction():
            conn.query(f"INSERT INTO {t} VALUES (3)")
        conn.query(f"INSERT INTO {t} VALUES (4)")
        assert seen() == [1, 3, 4]
        with conn.transaction():
            conn.query(f"INSERT INTO {t} VALUES (5)")
        assert conn._chained is (conn.dialect.commit_and_chain is not None)
    assert seen() == [1, 3, 4, 5]
    assert not conn._chained
    if conn.dialect.commit_and_chain is not None:  # MariaDB tells whether a transaction is open
        assert conn.query("SELECT @@in_transaction").fetchone()[0] == 0
    other.close()


@pytest.mark.requires("supports_accounts", "mysql_server", reason="server accounts and privileges")
def test_access_error_names_the_problem(mysql_url: str, schema: tj.Schema) -> None:
    conn = schema.connection
    conn.query("CREATE USER IF NOT EXISTS 'reader'@'%' IDENTIFIED BY 'pw'")
    conn.query(f"GRANT SELECT ON `{schema.name}`.* TO 'reader'@'%'")
    conn.query(f"CREATE TABLE `{schema.name}`.`t` (x int primary key)")
    url = tj.DatabaseURL.parse(mysql_url)
    reader = tj.connect(f"mysql://reader:pw@{url.host}:{url.port}")
    assert reader.query(f"SELECT COUNT(*) FROM `{schema.name}`.`t`").fetchone()[0] == 0
    with pytest.raises(tj.AccessError, match="INSERT command denied"):
        reader.query(f"INSERT INTO `{schema.name}`.`t` VALUES (1)")
    with pytest.raises(tj.MissingTableError, match="doesn't exist"):
        reader.query(f"SELECT * FROM `{schema.name}`.`nope`")
    reader.close()
    conn.query("DROP USER 'reader'@'%'")
