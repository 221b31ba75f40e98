"""``typedj jobs``: the state of the jobs tables (``~~x``) of auto-populated tables.

Reads the tables with SQL through the catalog, so it shows jobs of any DataJoint
pipeline, whoever made them.
"""

from __future__ import annotations

import argparse
from typing import Any

from ..backend.connection import Connection
from ..codegen import open_schema
from . import open_connection, print_json

STATUSES = ("pending", "reserved", "error", "ignore", "success")


def register(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "jobs",
        help="count jobs by status and show errors, per auto-populated table",
        description="For every jobs table (~~name) of the given schemas (default: all), count "
        "the jobs by status and show the most recent errors. Exit code 1 when any job is in "
        "error, so scripts can check a pipeline's health.",
    )
    p.add_argument("schemas", nargs="*", metavar="SCHEMA", help="schemas to report (default: all)")
    p.add_argument("--errors", type=int, default=5, metavar="N",
                   help="show up to N error messages per table (default 5; 0 for none)")
    p.add_argument("--json", action="store_true", help="print JSON instead of text")
    p.set_defaults(func=run)


def table_jobs(conn: Connection, schema_name: str, errors: int) -> list[dict[str, Any]]:
    """Status counts and the latest errors of each jobs table of one schema."""
    schema = open_schema(schema_name, conn)
    q = conn.dialect.quote
    out = []
    for name, jobs in sorted(schema.tables.items()):
        if not name.startswith("~~"):
            continue
        stem = name[2:]
        target = next((t for t in (f"__{stem}", f"_{stem}") if t in schema.tables), stem)
        table = conn.dialect.table(schema_name, name)
        counts = dict.fromkeys(STATUSES, 0)
        for status, n in conn.query(f"SELECT {q('status')}, COUNT(*) FROM {table} GROUP BY {q('status')}"):
            counts[str(status)] = int(n)
        recent = []
        if errors > 0 and counts["error"]:
            key = jobs.heading.primary_key
            columns = ", ".join(q(c) for c in [*key, "error_message"])
            rows = conn.query(
                f"SELECT {columns} FROM {table} WHERE {q('status')} = 'error' "
                f"ORDER BY {q('completed_time')} DESC LIMIT {int(errors)}"
            ).fetchall()
            recent = [{"key": dict(zip(key, row[:-1], strict=True)), "error": row[-1]} for row in rows]
        out.append({"schema": schema_name, "table": target, "jobs_table": name, "counts": counts,
                    "errors": recent})
    return out


def _schemas_with_jobs(conn: Connection) -> list[str]:
    """The schemas holding a jobs table, without reading every schema's catalog."""
    return conn.catalog.schemas_with_tables("~~")


def run(args: argparse.Namespace) -> int:
    conn = open_connection()
    names = args.schemas or _schemas_with_jobs(conn)
    report = [entry for name in names for entry in table_jobs(conn, name, args.errors)]
    failed = any(entry["counts"]["error"] for entry in report)
    if args.json:
        print_json(report)
        return 1 if failed else 0
    if not report:
        print("no jobs tables in " + (", ".join(names) if args.schemas else "any schema"))
        return 0
    width = max(len(f"{e['schema']}.{e['table']}") for e in report)
    print(f"{'table':<{width}}  " + "  ".join(f"{s:>8}" for s in STATUSES))
    for entry in report:
        counts = entry["counts"]
        print(f"{entry['schema'] + '.' + entry['table']:<{width}}  "
              + "  ".join(f"{counts[s]:>8}" for s in STATUSES))
        for err in entry["errors"]:
            message = " ".join(str(err["error"]).split())
            print(f"    error {err['key']}: {message[:200]}")
    return 1 if failed else 0
