"""``typedj export``, ``typedj verify`` and ``typedj import``: datasets from the shell."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from ..codegen import open_schema
from ..diagram import _full_graph
from ..errors import ConfigError
from ..query.expression import Query
from . import open_connection


def register(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "export",
        help="write a slice of a pipeline as a verifiable dataset",
        description="Write the rows of the restricted tables, everything upstream they reference, "
        "the downstream tables given with --include (parts always), and the stored objects of those "
        "rows, to DEST: a folder, or an archive when DEST ends in .zip, .tar or .tar.gz. The dataset "
        "holds an embedded database, Parquet files, the definitions, the diagram and a manifest "
        "(datapackage.json) with a BLAKE3 checksum of every file. Run again to resume.",
    )
    p.add_argument("dest", metavar="DEST", help="dataset folder or archive to write")
    p.add_argument("--schema", action="append", default=[], metavar="SCHEMA",
                   help="every table of SCHEMA (repeatable; a backup of the schema)")
    p.add_argument("--table", action="append", default=[], metavar="TABLE",
                   help="every row of TABLE (schema.table or schema.Class)")
    p.add_argument("--restrict", action="append", nargs=2, default=[], metavar=("TABLE", "CONDITION"),
                   help="the rows of TABLE matching the SQL CONDITION, e.g. lab.Session \"paper = 'x'\"")
    p.add_argument("--include", action="append", default=[], metavar="TABLE",
                   help="a table downstream of the restricted ones to export too")
    p.add_argument("--title", default="")
    p.add_argument("--creator", action="append", default=[], metavar="'NAME <EMAIL>'")
    p.add_argument("--license", help="SPDX license id, e.g. CC-BY-4.0")
    p.add_argument("--description", default="")
    p.add_argument("--doi", help="the dataset's DOI, e.g. 10.5281/zenodo.123")
    p.add_argument("--keyword", action="append", default=[])
    p.add_argument("--no-parquet", action="store_true", help="do not write Parquet files")
    p.add_argument("--workers", type=int, default=8, help="objects copied at once (default 8)")
    p.add_argument("--overwrite", action="store_true", help="replace DEST if it exists")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bars")
    p.set_defaults(func=run_export)

    v = subparsers.add_parser(
        "verify",
        help="check a dataset against its manifest",
        description="Check every file of DATASET (folder or archive) against datapackage.json: present, "
        "same size, same BLAKE3 checksum, and no file the manifest does not list. Exit code 1 when "
        "anything differs.",
    )
    v.add_argument("dataset", metavar="DATASET")
    v.set_defaults(func=run_verify)

    i = subparsers.add_parser(
        "import",
        help="load a dataset into the configured database",
        description="Verify DATASET, then load it into the configured database (--database-url): "
        "tables created parents first, objects into the configured stores, every row in one "
        "transaction. Rows already present with the same content are skipped; a row whose key "
        "exists with different content stops the import and nothing is written.",
    )
    i.add_argument("dataset", metavar="DATASET")
    i.add_argument("--rename", action="append", default=[], metavar="OLD=NEW",
                   help="load schema OLD of the dataset as schema NEW")
    i.add_argument("--no-verify", action="store_true", help="skip the checksum check")
    i.add_argument("--workers", type=int, default=8)
    i.add_argument("-q", "--quiet", action="store_true", help="no progress bars")
    i.set_defaults(func=run_import)


def _table(conn: Any, name: str) -> Query[Any]:
    from ..export.plan import node, resolve_table

    schema = name.partition(".")[0]
    if not schema or "." not in name:
        raise ConfigError(f"{name!r}: give the table as schema.table or schema.Class")
    open_schema(schema, conn)
    return Query(node(conn, resolve_table(conn, _full_graph(conn), name)))


def run_export(args: argparse.Namespace) -> int:
    from ..export import export

    conn = open_connection()
    items: list[Any] = [open_schema(s, conn) for s in args.schema]
    items += [_table(conn, t) for t in args.table]
    items += [_table(conn, t) & condition for t, condition in args.restrict]
    if not items:
        raise ConfigError("nothing to export: give --schema, --table or --restrict")
    include = [_table(conn, t) for t in args.include]
    report = export(*items, to=args.dest, include=include, title=args.title, creators=args.creator,
                    license=args.license, description=args.description, doi=args.doi,
                    keywords=args.keyword, parquet_files=not args.no_parquet, workers=args.workers,
                    progress=not args.quiet, overwrite=args.overwrite)
    print(f"wrote {report}", file=sys.stderr)
    return 0


def run_verify(args: argparse.Namespace) -> int:
    from ..export import verify

    report = verify(args.dataset)
    print(report)
    return 0 if report.ok else 1


def run_import(args: argparse.Namespace) -> int:
    from ..export import import_dataset

    renames = {}
    for item in args.rename:
        old, sep, new = item.partition("=")
        if not sep or not old or not new:
            raise ConfigError(f"--rename {item!r}: write OLD=NEW")
        renames[old] = new
    report = import_dataset(args.dataset, connection=open_connection(), schemas=renames,
                            verify=not args.no_verify, workers=args.workers, progress=not args.quiet)
    print(f"imported: {report}", file=sys.stderr)
    return 0


__all__ = ["register"]
