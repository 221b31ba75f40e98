"""``typedj populate module:Table``: the worker that cluster schedulers start on many machines.

Each worker imports the pipeline module (the working directory is on the import path,
as with ``python -m``), then populates until no job it can take is left. Workers
coordinate only through the jobs table, so any number may run at once, anywhere.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import sys
import time
from typing import Any

from ..errors import ConfigError
from ..populate.autopopulate import PopulateResult
from . import print_json

POLL_SECONDS = 2.0
"""How often ``--until-done`` looks again while other workers hold keys."""


def register(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "populate",
        help="make the missing rows of an Imported/Computed table (a worker with --reserve-jobs)",
        description="Call make() for every key of the table's key_source that has no rows yet.",
    )
    p.add_argument("target", help="the table class as module:Class (e.g. pipeline.ephys:SpikeSort)")
    p.add_argument("--reserve-jobs", action="store_true",
                   help="coordinate with other workers through the jobs table")
    p.add_argument("--restrict", action="append", default=[], metavar="JSON",
                   help='restrict the keys, e.g. \'{"subject_id": 3}\' (repeat for AND)')
    p.add_argument("--processes", type=int, default=1, help="worker processes on this machine")
    p.add_argument("--max-calls", type=int, default=None, help="make at most this many keys")
    p.add_argument("--priority", type=int, default=None,
                   help="priority of new jobs; run only jobs of at most this number")
    p.add_argument("--order", choices=("original", "reverse", "random"), default="original")
    p.add_argument("--stop-on-error", action="store_true",
                   help="stop at the first failed make() (default: record it and go on)")
    p.add_argument("--keep-completed", action="store_true", help="keep finished jobs as 'success'")
    p.add_argument("--reservation-timeout", type=float, default=None, metavar="SECONDS",
                   help="also free reservations older than this (servers that cannot tell "
                   "whether a worker is alive)")
    p.add_argument("--max-seconds", type=float, default=None, metavar="SECONDS",
                   help="start no new key after this many seconds (a scheduler's time slot); "
                   "keys under way finish")
    p.add_argument("--until-done", action="store_true",
                   help="with --reserve-jobs: while other workers still hold keys, wait and take "
                   "over the keys of workers that died; exit once nothing is left to make")
    p.add_argument("--require-clean", action="store_true",
                   help="refuse to run from uncommitted code (each made key records its code version)")
    p.add_argument("--json", action="store_true",
                   help="print the outcome as one JSON object (made, failed, remaining, ...)")
    p.add_argument("--progress", action="store_true", help="show a progress bar")
    p.set_defaults(func=run)


def load(target: str) -> Any:
    """The class named by ``module:Class`` (``Class`` may be dotted, for a part)."""
    module_name, sep, qualname = target.partition(":")
    if not sep or not module_name or not qualname:
        raise ConfigError(f"target {target!r}: write it as module:Class")
    if os.getcwd() not in sys.path:
        sys.path.insert(0, os.getcwd())
    try:
        obj: Any = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        raise ConfigError(f"cannot import {module_name!r}: {exc}") from exc
    for part in qualname.split("."):
        if not hasattr(obj, part):
            raise ConfigError(f"{module_name} has no {qualname!r}")
        obj = getattr(obj, part)
    if not callable(getattr(obj, "populate", None)):
        raise ConfigError(f"{target} is not an Imported or Computed table")
    return obj


def run(args: argparse.Namespace) -> int:
    table = load(args.target)
    try:
        restrictions = [json.loads(r) for r in args.restrict]
    except json.JSONDecodeError as exc:
        raise ConfigError(f"--restrict takes JSON: {exc}") from exc
    total = PopulateResult()
    started = time.monotonic()
    status, code, budget_spent = "done", 0, False
    try:
        budget_spent = _work(table, restrictions, args, total, started)
    except KeyboardInterrupt:
        status, code = "interrupted", 130
        print(f"{table.__name__}: interrupted; the current job was rolled back", file=sys.stderr)
    except Exception as exc:
        if not args.stop_on_error:
            raise
        status, code = "failed", 1
        print(f"{table.__name__}: stopped at a failed make(): {type(exc).__name__}: {exc}", file=sys.stderr)
    if code == 0 and total.failed:
        status, code = "failed", 1
    remaining = table.progress(*restrictions)[0] if code != 130 else None
    if code == 0 and remaining and budget_spent:
        status = "partial"
    if args.json:
        print_json({
            "table": args.target, "status": status, "exit_code": code,
            "made": len(total.succeeded), "failed": [{"key": f.key, "error": f.error} for f in total.failed],
            "skipped": total.skipped, "remaining": remaining,
            "seconds": round(time.monotonic() - started, 3),
        })
        return code
    if status != "interrupted":
        print(f"{table.__name__}: {len(total.succeeded)} made, {len(total.failed)} failed, "
              f"{total.skipped} skipped, {remaining} remaining")
    for failure in total.failed:
        print(f"  {failure.key}: {failure.error}", file=sys.stderr)
    return code


def _work(
    table: Any, restrictions: list[Any], args: argparse.Namespace, total: PopulateResult, started: float
) -> bool:
    """Pass after pass until a pass makes nothing (jobs freed by dead workers come back).

    With ``--until-done`` a pass that makes nothing while other workers still hold keys
    waits and looks again, so the worker exits only when the table is complete (or the
    rest are errors), or its time or call budget is spent. True when the budget ended it.
    """
    while True:
        seconds = None if args.max_seconds is None else args.max_seconds - (time.monotonic() - started)
        calls = None if args.max_calls is None else args.max_calls - len(total.succeeded) - len(total.failed)
        if (seconds is not None and seconds <= 0) or calls == 0:
            return True
        result: PopulateResult = table.populate(
            *restrictions, reserve_jobs=args.reserve_jobs, max_calls=calls,
            suppress_errors=not args.stop_on_error, processes=args.processes,
            display_progress=args.progress, priority=args.priority, order=args.order,
            keep_completed=args.keep_completed, reservation_timeout=args.reservation_timeout,
            max_seconds=seconds, require_clean=args.require_clean,
        )
        total.merge(result)
        if not args.reserve_jobs or (result.failed and args.stop_on_error):
            return _spent(args, total, started)
        if not (result.succeeded or result.failed):
            if not (args.until_done and len(table.jobs.reserved)):
                return False
            time.sleep(POLL_SECONDS)


def _spent(args: argparse.Namespace, total: PopulateResult, started: float) -> bool:
    calls = len(total.succeeded) + len(total.failed)
    return (args.max_calls is not None and calls >= args.max_calls) or (
        args.max_seconds is not None and time.monotonic() - started >= args.max_seconds
    )
