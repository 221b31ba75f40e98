"""Subcommands of the ``typedj`` command that are not part of another module.

Each module exposes ``register(subparsers)``; helpers shared by them live here.
"""

from __future__ import annotations

import json
import sys
from typing import Any

from ..backend.connection import Connection, connect
from ..errors import TypedjError

_UNREACHABLE = {2002, 2003, 2005, 2006, 2013}


def open_connection() -> Connection:
    """The configured connection, checked; an unreachable server raises ``ConnectionError``.

    ``ConnectionError`` is an ``OSError``, which ``typedj`` reports with exit code 3.
    """
    conn = connect()
    try:
        conn.query("SELECT 1")
    except TypedjError:
        raise
    except Exception as exc:
        code = exc.args[0] if exc.args and isinstance(exc.args[0], int) else None
        if code in _UNREACHABLE or isinstance(exc, OSError):
            raise ConnectionError(f"{conn.url}: {exc}") from exc
        raise
    return conn


def print_json(value: Any) -> None:
    json.dump(value, sys.stdout, indent=2, default=str)
    sys.stdout.write("\n")
