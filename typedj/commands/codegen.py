"""``typedj codegen``: write typed classes for existing schemas (a module, or a package)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from ..codegen import generate, generate_package
from ..config import config
from ..errors import ConfigError
from . import open_connection


def register(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "codegen",
        help="write typed table classes for existing schemas",
        description="Print (or write with -o) a Python module declaring a typed class for every "
        "table of an existing schema, made by typedj or datajoint-python. SOURCE is a schema "
        "name on the configured server or a URL mysql://user:pass@host:port/schema. With several "
        "SOURCEs (or --package), -o names a folder that becomes a package: one module per schema, "
        "the schemas they reference included, importing each other.",
    )
    p.add_argument("source", metavar="SOURCE", nargs="+", help="schema name, or mysql://.../schema")
    p.add_argument("-o", "--output", metavar="PATH", help="write the module to PATH instead of stdout "
                   "(a folder for a package)")
    p.add_argument("--package", action="store_true", help="write a package (needs -o FOLDER)")
    p.add_argument("--contents", action="store_true", help="write the rows of Lookup tables as contents")
    p.add_argument("--refs", action="store_true",
                   help="write references as Ref fields, not inherited columns as Link columns")
    p.set_defaults(func=run)


def split_source(source: str) -> tuple[str | None, str]:
    """``mysql://u:p@h:1/db`` -> ``("mysql://u:p@h:1", "db")``; a bare name -> ``(None, name)``."""
    if "://" not in source:
        return None, source
    try:
        parts = urlsplit(source)
    except ValueError:
        raise ConfigError("SOURCE: malformed URL; percent-encode special characters") from None
    schema = parts.path.strip("/")
    if not schema or "/" in schema:
        raise ConfigError("SOURCE: the URL must end with /<schema name> "
                          "(mysql://user:password@host:port/schema; the password percent-encoded)")
    return urlunsplit((parts.scheme, parts.netloc, "", parts.query, "")), schema


def run(args: argparse.Namespace) -> int:
    schemas = []
    for source in args.source:
        url, schema = split_source(source)
        if url is not None:
            config.set_database_url(url, source="SOURCE")
        schemas.append(schema)
    package = args.package or len(schemas) > 1
    if package and not args.output:
        raise ConfigError("a package (several schemas, or --package) is written to a folder: -o FOLDER")
    conn = open_connection()
    if package:
        folder = Path(args.output)
        files = generate_package(schemas, connection=conn, contents=args.contents, links=not args.refs)
        folder.mkdir(parents=True, exist_ok=True)
        for name, text in files.items():
            (folder / name).write_text(text)
        print(f"wrote {len(files)} files to {folder}", file=sys.stderr)
        return 0
    source = generate(schemas[0], connection=conn, contents=args.contents, links=not args.refs)
    if args.output:
        Path(args.output).write_text(source)
        print(f"wrote {args.output}", file=sys.stderr)
    else:
        sys.stdout.write(source)
    return 0
