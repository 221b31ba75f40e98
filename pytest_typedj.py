"""typedj's pytest plugin (documented as ``typedj.testing``): a fresh, isolated schema per test.

Installed with typedj and loaded by pytest through its ``pytest11`` entry point. It is a
top-level module so that loading it imports pytest only: typedj itself is imported when a
``tj_*`` fixture first runs, not in every pytest run of every project. By
default the tests run on the embedded backend (a SQLite file in pytest's temporary
folder, one per test session), so a lab's CI needs no database server. With
``--typedj-backend=mysql`` they run on a MariaDB/MySQL server: the one named by
``TYPEDJ_TEST_DATABASE_URL`` when set, otherwise one that pytest-mysql starts for the
session (needs ``mariadbd`` and ``pip install pytest-mysql``). The production database
configured for the pipeline is never used.

Fixtures (all named ``tj_*`` so they never clash with a project's own):

- ``tj_database_url``: the test database's URL (session); also set as
  ``tj.config.database_url`` while the session runs, so ``tj.Schema("x")`` in code under
  test lands there.
- ``tj_connection``: the ``Connection`` to it (session).
- ``tj_schema_name``: a fresh schema name for one test; every schema whose name starts
  with it is dropped afterwards.
- ``tj_schema``: a fresh, empty ``tj.Schema`` with that name.
- ``tj_new_schema``: a function making more fresh schemas for one test (``suffix`` arg).
"""

from __future__ import annotations

import itertools
import os
import re
import shutil
import stat
import tempfile
import types
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from typedj.backend.connection import Connection
    from typedj.schema import Schema

BACKEND_ENV = "TYPEDJ_TEST_BACKEND"
URL_ENV = "TYPEDJ_TEST_DATABASE_URL"

_counter = itertools.count()


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("typedj", "typedj pipeline tests")
    group.addoption(
        "--typedj-backend",
        choices=("sqlite", "mysql"),
        default=None,
        help=f"database of the tj_* fixtures: sqlite (embedded, the default) or mysql "
        f"(${URL_ENV}, or a server started through pytest-mysql); also ${BACKEND_ENV}",
    )
    parser.addini("typedj_backend", "default of --typedj-backend", default="")


def backend(config: pytest.Config) -> str:
    """The backend chosen by option, environment or ini file (``sqlite`` when none)."""
    chosen = config.getoption("--typedj-backend") or os.environ.get(BACKEND_ENV)
    chosen = chosen or config.getini("typedj_backend")
    return str(chosen or "sqlite")


def pytest_configure(config: pytest.Config) -> None:
    if backend(config) == "mysql" and not os.environ.get(URL_ENV):
        config.pluginmanager.register(_mysql_server(config), "typedj-mysql-server")


_INSTALL_DB = """#!/bin/sh
exec {install} --auth-root-authentication-method=normal --skip-test-db --skip-name-resolve "$@"
"""


def _mysql_server(config: pytest.Config) -> object:
    """A plugin holding the ``tj_mysql_proc`` fixture made by pytest-mysql.

    A module object, so that pytest reads the fixture from it as from a plugin module.
    """
    try:
        from pytest_mysql import factories
    except ImportError as exc:
        raise pytest.UsageError(
            f"--typedj-backend=mysql needs {URL_ENV}=mysql://user:pass@host:port or pytest-mysql "
            "(pip install pytest-mysql) with a MariaDB server installed"
        ) from exc
    install = shutil.which("mariadb-install-db") or "/usr/bin/mariadb-install-db"
    wrapper = Path(tempfile.mkdtemp(prefix="typedj-mysql-")) / "mariadb-install-db"
    wrapper.write_text(_INSTALL_DB.format(install=install))
    wrapper.chmod(wrapper.stat().st_mode | stat.S_IXUSR)
    proc = factories.mysql_proc(
        mysqld_exec=Path(shutil.which("mariadbd") or "/usr/sbin/mariadbd"),
        admin_executable=shutil.which("mariadb-admin") or "/usr/bin/mariadb-admin",
        mysqld_safe=Path(shutil.which("mariadbd-safe") or "/usr/bin/mariadbd-safe"),
        host="127.0.0.1",
        user="root",
        port=None,
        params="--skip-name-resolve --character-set-server=utf8mb4 "
        "--collation-server=utf8mb4_general_ci --skip-log-bin",
        install_db=str(wrapper),
    )
    plugin = types.ModuleType("pytest_typedj_mysql")
    plugin.tj_mysql_proc = proc  # type: ignore[attr-defined]
    return plugin


@pytest.fixture(scope="session")
def tj_database_url(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """URL of the database the ``tj_*`` fixtures use; the default database meanwhile."""
    from typedj import config

    if backend(request.config) == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('typedj') / 'test.db'}"
    elif os.environ.get(URL_ENV):
        url = os.environ[URL_ENV]
    else:
        proc = request.getfixturevalue("tj_mysql_proc")
        url = f"mysql://root:@127.0.0.1:{proc.port}"
    previous = config.database_url
    config.database_url = url
    yield url
    config.database_url = previous


@pytest.fixture(scope="session")
def tj_connection(tj_database_url: str) -> Connection:
    """The connection to the test database, shared by the session."""
    from typedj.backend.connection import connect

    return connect(tj_database_url)


@pytest.fixture
def tj_schema_name(request: pytest.FixtureRequest, tj_connection: Connection) -> Iterator[str]:
    """A fresh schema name (at most 64 characters); its schemas are dropped after the test."""
    base = re.sub(r"[^a-z0-9_]", "_", request.node.name.lower())[:36]
    name = f"tj_{base}_{os.getpid() % 100000}_{next(_counter)}"
    yield name
    drop_schemas(tj_connection, name)


@pytest.fixture
def tj_schema(tj_schema_name: str, tj_connection: Connection) -> Schema:
    """A fresh, empty schema; declare the pipeline's classes in it with ``@tj_schema``."""
    from typedj.schema import Schema

    return Schema(tj_schema_name, connection=tj_connection)


@pytest.fixture
def tj_new_schema(tj_schema_name: str, tj_connection: Connection) -> Callable[[str], Schema]:
    """``tj_new_schema("ephys")``: another fresh schema for this test (dropped afterwards)."""
    from typedj.schema import Schema

    def make(suffix: str) -> Schema:
        return Schema(f"{tj_schema_name}_{suffix}", connection=tj_connection)

    return make


def drop_schemas(conn: Connection, prefix: str) -> None:
    """Drop the schema ``prefix`` and every ``prefix_*`` schema, dependents first."""
    from typedj import graph
    from typedj.binding import unbind

    for name in [s for s in list(conn.schemas) if s == prefix or s.startswith(prefix + "_")]:
        loaded: Any = conn.schemas.pop(name)
        for cls in list(loaded.classes.values()):
            unbind(cls)
    for name in sorted(conn.catalog.list_schemas(), key=len, reverse=True):
        if name == prefix or name.startswith(prefix + "_"):
            conn.catalog.drop_database(name)
    graph.invalidate(conn)
