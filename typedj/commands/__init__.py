"""Subcommands of the ``typedj`` command that are not part of another module.

Each module exposes ``register(subparsers)``; helpers shared by them live here.
"""

from __future__ import annotations

import json
import sys
from typing import Any

from ..backend.connection import Connection, connect


def open_connection() -> Connection:
    """The configured connection, checked: a server that cannot be reached raises
    ``UnreachableError`` (exit code 3), a refused login ``AccessError`` (exit code 2)."""
    conn = connect()
    conn.query("SELECT 1")
    return conn


def print_json(value: Any) -> None:
    json.dump(value, sys.stdout, indent=2, default=str)
    sys.stdout.write("\n")
