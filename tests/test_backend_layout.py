"""The backend layer's shape: dialects spell and declare, catalogs run catalog SQL, drivers
are the DB-API boundary, and backends are found by URL scheme."""

from __future__ import annotations

import inspect

import pytest

import typedj as tj
from typedj.backend import registry
from typedj.backend.catalog import Catalog
from typedj.backend.dialect import CAPABILITIES, Dialect
from typedj.backend.driver import Driver

from .test_layers import import_graph

SCHEMES = ("mysql", "sqlite")


def test_capabilities_of_the_backends() -> None:
    mysql = registry.backend_for("mysql").dialect
    sqlite = registry.backend_for("sqlite").dialect
    assert mysql.capabilities() == frozenset(CAPABILITIES) - {"supports_transactional_ddl", "embedded"}
    assert sqlite.capabilities() == {"supports_live_sessions", "supports_transactional_ddl",
                                     "supports_nul_in_text", "embedded"}
    postgres = registry.backend_for("postgresql").dialect
    assert postgres.capabilities() == {
        "supports_streaming", "supports_live_sessions", "supports_kill", "supports_accounts",
        "supports_alter_table", "supports_row_locks", "supports_enum_type", "supports_column_comments",
        "supports_transactional_ddl"}
    assert (mysql.max_identifier_length, sqlite.max_identifier_length) == (64, None)
    assert (mysql.placeholder, sqlite.placeholder) == ("%s", "?")


@pytest.mark.parametrize("scheme", SCHEMES)
def test_a_dialect_never_takes_a_connection(scheme: str) -> None:
    dialect = registry.backend_for(scheme).dialect
    for name, method in inspect.getmembers(type(dialect), inspect.isfunction):
        params = inspect.signature(method).parameters
        assert not {"conn", "connection", "session"} & set(params), f"{scheme} dialect: {name}{params}"
        annotations = " ".join(str(p.annotation) for p in params.values())
        assert "Connection" not in annotations and "Session" not in annotations, name


@pytest.mark.parametrize("scheme", SCHEMES)
def test_each_backend_exposes_its_three_parts(scheme: str) -> None:
    backend = registry.backend_for(scheme)
    assert isinstance(backend.dialect, Dialect) and backend.dialect.name == scheme
    assert isinstance(backend.driver, Driver)
    assert issubclass(backend.catalog, Catalog)  # type: ignore[arg-type]


def test_a_connection_is_made_of_its_backend(conn: tj.Connection) -> None:
    backend = registry.backend_for(conn.url.scheme)
    assert conn.dialect is backend.dialect and conn.driver is backend.driver
    assert isinstance(conn.catalog, backend.catalog) and conn.catalog.session is conn  # type: ignore[arg-type]
    assert conn.catalog.schema_exists("no_such_schema_here") is False


def test_unknown_schemes_are_refused_by_name() -> None:
    with pytest.raises(tj.ConfigError, match=r"no backend for 'oracle' \(known: mysql, postgresql, sqlite\)"):
        registry.backend_for("oracle")


def test_a_backend_registers_by_scheme() -> None:
    registry.register("mysql2", "typedj.backend.mysql")
    try:
        assert registry.backend_for("mysql2") is registry.backend_for("mysql")
    finally:
        registry._MODULES.pop("mysql2")
    registry.register("broken", "typedj.backend.no_such_backend")
    try:
        with pytest.raises(tj.ConfigError, match="the broken backend is not available"):
            registry.backend_for("broken")
    finally:
        registry._MODULES.pop("broken")


def test_only_the_registry_finds_a_backend() -> None:
    """Nothing outside a backend package imports it (the export's file format is SQLite's)."""
    graph = import_graph()
    backends = {m for m in graph if m.startswith(("typedj.backend.mysql", "typedj.backend.sqlite"))}
    importers = {
        (u, v) for u, v in graph.edges if v in backends and u not in backends
    }
    assert importers == {("typedj.export.database", "typedj.backend.sqlite")}
