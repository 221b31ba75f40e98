"""The test rig: a real MariaDB server started by pytest-mysql, one fresh schema per test.

Set ``TYPEDJ_TEST_DATABASE_URL=mysql://user:pass@host:port`` to run against a server
you started yourself (for example ``../shared/scripts/start-mariadb.sh``).

``TYPEDJ_TEST_POSTGRES_URL=postgresql://user:pass@host:port/dbname`` does the same for
PostgreSQL, which pytest-postgresql otherwise starts (``tests/pg_ctl``).

``TYPEDJ_TEST_BACKENDS`` (comma separated: ``mysql``, ``postgres``, ``sqlite``;
default all three) picks the
backends the ``conn``/``schema`` fixtures run on; with several, every test using them runs on
each (test ids end in ``[mysql]``/``[postgres]``/``[sqlite]``). A test marked
``@pytest.mark.requires("supports_kill", reason=...)`` is skipped on a backend that lacks one
of the named capabilities: a dialect's flags (``typedj.backend.dialect.CAPABILITIES``) or one
of the rig's own (``RIG_CAPABILITIES``).
"""

from __future__ import annotations

import itertools
import os
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

import typedj as tj
from typedj.backend.dialect import CAPABILITIES

HERE = Path(__file__).parent
_external = os.environ.get("TYPEDJ_TEST_DATABASE_URL")

if not _external:
    from pytest_mysql import factories

    mysql_proc = factories.mysql_proc(
        mysqld_exec=Path("/usr/sbin/mariadbd"),
        admin_executable="/usr/bin/mariadb-admin",
        mysqld_safe=HERE / "mariadbd-safe",
        host="127.0.0.1",
        user="root",
        port=None,
        params="--skip-name-resolve --character-set-server=utf8mb4 "
        "--collation-server=utf8mb4_general_ci --innodb-flush-log-at-trx-commit=2 "
        "--skip-log-bin --max-connections=300 --max-allowed-packet=256M",
        install_db=str(HERE / "mariadb-install-db"),
    )

_external_pg = os.environ.get("TYPEDJ_TEST_POSTGRES_URL")

if not _external_pg:
    from pytest_postgresql import factories as pg_factories

    postgresql_proc = pg_factories.postgresql_proc(
        executable=str(HERE / "pg_ctl"),
        host="127.0.0.1",
        port=None,
        user="postgres",
        unixsocketdir="/tmp",
        postgres_options="-c fsync=off -c synchronous_commit=off -c full_page_writes=off "
        "-c max_connections=300",
    )


@pytest.fixture(scope="session")
def mysql_url(request: pytest.FixtureRequest) -> str:
    """URL of the MariaDB server the tests use."""
    if _external:
        return _external
    proc = request.getfixturevalue("mysql_proc")
    return f"mysql://root:@127.0.0.1:{proc.port}"


@pytest.fixture(scope="session")
def postgres_url(request: pytest.FixtureRequest) -> str:
    """URL of the PostgreSQL server the tests use (its database ``tests``, made here)."""
    if _external_pg:
        return _external_pg
    proc = request.getfixturevalue("postgresql_proc")
    import psycopg

    with psycopg.connect(host=proc.host, port=proc.port, user=proc.user, dbname="postgres",
                         autocommit=True) as admin:
        admin.execute("DROP DATABASE IF EXISTS tests")
        admin.execute("CREATE DATABASE tests")
    return f"postgresql://{proc.user}:secret@{proc.host}:{proc.port}/tests"


_BACKENDS = os.environ.get("TYPEDJ_TEST_BACKENDS", "mysql,postgres,sqlite")
BACKENDS = [b.strip() for b in _BACKENDS.split(",") if b.strip()]


RIG_CAPABILITIES: dict[str, frozenset[str]] = {
    "mysql": frozenset({"mysql_server", "datajoint_peer", "lowered_size_limit"}),
    "sqlite": frozenset({"lowered_size_limit"}),
}
"""What the rig offers on a backend beyond its dialect's flags: ``mysql_server``, the test
talks to the MySQL test server itself (its URL, pymysql, MySQL-spelled SQL);
``datajoint_peer``, datajoint-python runs against the same database;
``lowered_size_limit``, the server's size limit can be lowered for a test (MySQL's
packet, SQLite's length; PostgreSQL's 1 GB a value is fixed)."""


KNOWN_CAPABILITIES = frozenset(CAPABILITIES).union(*RIG_CAPABILITIES.values())


def capabilities(backend: str) -> frozenset[str]:
    """The capabilities of the test backend named ``backend`` (``postgres``: the scheme ``postgresql``)."""
    from typedj.backend.registry import backend_for

    scheme = "postgresql" if backend == "postgres" else backend
    return backend_for(scheme).dialect.capabilities() | RIG_CAPABILITIES.get(backend, frozenset())


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "requires(*capabilities, reason): skipped on a backend lacking one of the capabilities"
    )


@pytest.fixture(scope="session", params=BACKENDS if len(BACKENDS) > 1 else None)
def conn(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> tj.Connection:
    """The shared connection; also the configured default for code under test."""
    backend = getattr(request, "param", BACKENDS[0])
    if backend == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('sqlite') / 'tests.db'}"
    elif backend == "postgres":
        url = request.getfixturevalue("postgres_url")
    else:
        url = request.getfixturevalue("mysql_url")
    tj.config.database_url = url
    connection = tj.connect(url)
    connection._test_url = url  # type: ignore[attr-defined]
    return connection


@pytest.fixture
def conn_url(conn: tj.Connection) -> str:
    """The URL of ``conn``, password included, for a child process to connect with."""
    url: str = conn._test_url  # type: ignore[attr-defined]
    return url


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Skip tests on a backend lacking a capability they require, before any fixture runs."""
    for item in items:
        if item.get_closest_marker("mysql_only") is not None:
            raise pytest.UsageError(
                f"{item.nodeid}: mysql_only is gone; say what the test needs: "
                '@pytest.mark.requires("mysql_server", reason=...) (see tests/conftest.py)'
            )
        if "conn" not in getattr(item, "fixturenames", ()):
            continue
        markers = list(item.iter_markers("requires"))
        required = {name for m in markers for name in m.args}
        if not required:
            continue
        unknown = required - KNOWN_CAPABILITIES
        if unknown:
            raise pytest.UsageError(f"{item.nodeid}: unknown capabilities {sorted(unknown)}")
        callspec = getattr(item, "callspec", None)
        backend = callspec.params.get("conn", BACKENDS[0]) if callspec is not None else BACKENDS[0]
        missing = sorted(required - capabilities(backend))
        if missing:
            reasons = "; ".join(m.kwargs["reason"] for m in markers if "reason" in m.kwargs)
            item.add_marker(pytest.mark.skip(reason=f"{backend} lacks {', '.join(missing)}: {reasons}"))


_counter = itertools.count()


@pytest.fixture
def schema_name(request: pytest.FixtureRequest, conn: tj.Connection) -> Iterator[str]:
    """A fresh, empty schema name for one test; the database is dropped afterwards."""
    base = re.sub(r"[^a-z0-9_]", "_", request.node.name.lower())[:40]
    name = f"t_{base}_{os.getpid() % 10000}_{next(_counter)}"
    yield name
    for schema in list(conn.schemas):
        if schema.startswith(name):
            conn.schemas.pop(schema, None)
    for schema in sorted(conn.catalog.list_schemas(), key=len, reverse=True):
        if schema == name or schema.startswith(name + "_"):
            conn.catalog.drop_database(schema)
    conn.graph = None


@pytest.fixture
def schema(schema_name: str, conn: tj.Connection) -> tj.Schema:
    """A fresh schema on the test server."""
    return tj.Schema(schema_name, connection=conn)
