"""``typedj diagram``: draw schemas or parts of them in DataJoint's notation."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from ..diagram import Diagram
from ..errors import ConfigError
from . import open_connection

TEXT_FORMATS = ("mermaid", "dot", "svg")


def register(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "diagram",
        help="draw schemas as SVG, PNG, PDF, dot or Mermaid",
        description="Draw the tables of one or more schemas (SCHEMA) or single tables "
        "(SCHEMA.Class or SCHEMA.table_name), with their neighbours when --up/--down are given. "
        "Writes FILE with -o (format from its suffix: .svg .png .pdf .dot .mmd) or prints "
        "Mermaid, dot or SVG text.",
    )
    p.add_argument("targets", nargs="+", metavar="TARGET", help="schema, schema.Class or schema.table")
    p.add_argument("-o", "--output", metavar="FILE", help="write the drawing to FILE")
    p.add_argument("-f", "--format", choices=("svg", "png", "pdf", "dot", "mermaid"),
                   help="output format (default: from FILE's suffix, else mermaid)")
    p.add_argument("--up", type=int, default=0, metavar="N", help="add N generations of parents")
    p.add_argument("--down", type=int, default=0, metavar="N", help="add N generations of children")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    conn = open_connection()
    diagram = Diagram(list(args.targets), connection=conn)
    if args.down:
        diagram = diagram + args.down
    if args.up:
        diagram = diagram - args.up
    if args.output:
        path = diagram.save(args.output, args.format)
        print(f"wrote {path} ({len(diagram)} tables)", file=sys.stderr)
        return 0
    fmt = args.format or "mermaid"
    if fmt not in TEXT_FORMATS:
        raise ConfigError(f"{fmt} is binary: give a file with -o")
    text = {"mermaid": diagram.to_mermaid, "dot": lambda: diagram.to_dot().source,
            "svg": diagram.make_svg}[fmt]()
    sys.stdout.write(text)
    return 0
