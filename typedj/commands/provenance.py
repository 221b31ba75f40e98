"""``typedj provenance module:Table``: which code, host and time made each key."""

from __future__ import annotations

import argparse
import json
from typing import Any

from ..errors import ConfigError
from . import print_json
from .populate import load


def register(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "provenance",
        help="show which code version, host and time made each key of a computed table",
        description="List the provenance that populate recorded for each key of an Imported or "
        "Computed table: code version (git commit or distribution version, +dirty when "
        "uncommitted), typedj version, host, process, user, start time and duration.",
    )
    p.add_argument("target", help="the table class as module:Class (e.g. pipeline.ephys:SpikeSort)")
    p.add_argument("--restrict", action="append", default=[], metavar="JSON",
                   help='restrict the keys, e.g. \'{"subject_id": 3}\' (repeat for AND)')
    p.add_argument("--json", action="store_true", help="print JSON instead of text")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    table = load(args.target)
    try:
        restrictions = [json.loads(r) for r in args.restrict]
    except json.JSONDecodeError as exc:
        raise ConfigError(f"--restrict takes JSON: {exc}") from exc
    records = table.provenance(*restrictions)
    if args.json:
        print_json(records)
        return 0
    key_names = table.primary_key
    for r in records:
        key = ", ".join(f"{n}={r[n]!r}" for n in key_names)
        code = (r["code_version"][:12] + ("+dirty" if r["code_dirty"] else "")) or "unknown"
        print(f"{key}: code {code} ({r['code_origin'] or 'no version'}), typedj {r['typedj_version']}, "
              f"{r['user']} on {r['host']} pid {r['pid']}, {r['started']:%Y-%m-%d %H:%M:%S} "
              f"for {r['duration']:.3f} s")
    print(f"{len(records)} key(s) with provenance of {len(table)} row(s)")
    return 0
