"""Testing pipelines with pytest: fresh, isolated schemas on the embedded backend or MariaDB.

The plugin is loaded automatically once typedj is installed (its ``pytest11`` entry point
is the top-level module ``pytest_typedj``, kept apart from this package so that pytest
runs that do not use it stay fast). Its fixtures, all named ``tj_*``:

- ``tj_schema``: a fresh, empty ``tj.Schema`` for one test, dropped afterwards;
- ``tj_new_schema("suffix")``: more fresh schemas for the same test;
- ``tj_schema_name``, ``tj_connection``, ``tj_database_url``.

``--typedj-backend=sqlite`` (the default) runs them on a SQLite file in pytest's temporary
folder; ``--typedj-backend=mysql`` on ``$TYPEDJ_TEST_DATABASE_URL`` or a MariaDB server
started through pytest-mysql. See docs/embedded.md for an example that tests a ``make()``.
"""

from pytest_typedj import (
    BACKEND_ENV,
    URL_ENV,
    backend,
    drop_schemas,
    tj_connection,
    tj_database_url,
    tj_new_schema,
    tj_schema,
    tj_schema_name,
)

__all__ = [
    "BACKEND_ENV",
    "URL_ENV",
    "backend",
    "drop_schemas",
    "tj_connection",
    "tj_database_url",
    "tj_new_schema",
    "tj_schema",
    "tj_schema_name",
]
