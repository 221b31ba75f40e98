"""The subcommands of the ``typedj`` command, one module each, and what they share.

Each module exposes ``register(subparsers)``, which adds its parser and sets ``func``;
``SUBCOMMANDS`` lists them in the order ``typedj --help`` shows them.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from ..backend.connection import DEFAULT_FILE, Connection, connect
from ..config import config
from ..errors import ConfigError

SUBCOMMANDS = ("info", "populate", "provenance", "jobs", "diagram", "codegen", "diff", "export", "web")


def open_connection() -> Connection:
    """The configured connection, checked: a server that cannot be reached raises
    ``UnreachableError`` (exit code 3), a refused login ``AccessError`` (exit code 2).

    With nothing configured, the embedded database of the working directory is used if it
    exists; otherwise this is a ``ConfigError`` (exit code 2): a command that inspects a
    database must not create an empty one.
    """
    if config.database_url is None and not Path(DEFAULT_FILE).exists():
        raise ConfigError(
            f"no database configured and no {DEFAULT_FILE} here: pass --database-url, or set "
            "TYPEDJ_DATABASE_URL (or DJ_HOST/DJ_USER/DJ_PASS, or database_url under [tool.typedj] "
            "in pyproject.toml)"
        )
    conn = connect()
    conn.query("SELECT 1")
    return conn


def print_json(value: Any) -> None:
    json.dump(value, sys.stdout, indent=2, default=str)
    sys.stdout.write("\n")
