"""The rig itself: a real server answers, and a schema fixture is empty and isolated."""

import pytest

import typedj as tj


@pytest.mark.requires("mysql_server", reason="asks the server for its MariaDB version")
def test_server_is_mariadb(conn: tj.Connection) -> None:
    version = conn.query("SELECT VERSION()").fetchone()[0]
    assert "MariaDB" in version


def test_schema_fixture_is_empty(schema: tj.Schema) -> None:
    assert schema.list_tables() == []
    assert schema.connection.catalog.schema_exists(schema.name)
