"""``typedj info``: where the connection goes, what the server is, which schemas it holds."""

from __future__ import annotations

import argparse
from typing import Any

from . import open_connection, print_json


def register(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "info",
        help="show the connection, server version and schemas",
        description="Show the database connection (password hidden), the server's version, "
        "the user, and every schema with its number of tables.",
    )
    p.add_argument("--json", action="store_true", help="print JSON instead of text")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    conn = open_connection()
    version, user = conn.catalog.server()
    counts = conn.catalog.table_counts()
    schemas = {name: int(counts.get(name, 0)) for name in conn.catalog.list_schemas()}
    if args.json:
        print_json({"connection": str(conn.url), "server": version, "user": user, "schemas": schemas})
        return 0
    print(f"connection: {conn.url}")
    print(f"server:     {version}")
    print(f"user:       {user}")
    print(f"schemas:    {len(schemas)}")
    width = max((len(s) for s in schemas), default=0)
    for name, n in schemas.items():
        print(f"  {name:<{width}}  {n} table{'s' if n != 1 else ''}")
    return 0
