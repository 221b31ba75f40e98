"""``typedj codegen``: write typed classes for an existing schema."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from ..codegen import generate
from ..config import config
from ..errors import ConfigError
from . import open_connection


def register(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "codegen",
        help="write typed table classes for an existing schema",
        description="Print (or write with -o) a Python module declaring a typed class for every "
        "table of an existing schema, made by typedj or datajoint-python. SOURCE is a schema "
        "name on the configured server or a URL mysql://user:pass@host:port/schema.",
    )
    p.add_argument("source", metavar="SOURCE", help="schema name, or mysql://.../schema")
    p.add_argument("-o", "--output", metavar="FILE", help="write the module to FILE instead of stdout")
    p.add_argument("--contents", action="store_true", help="write the rows of Lookup tables as contents")
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
    url, schema = split_source(args.source)
    if url is not None:
        config.set_database_url(url, source="SOURCE")
    conn = open_connection()
    source = generate(schema, connection=conn, contents=args.contents)
    if args.output:
        Path(args.output).write_text(source)
        print(f"wrote {args.output}", file=sys.stderr)
    else:
        sys.stdout.write(source)
    return 0
