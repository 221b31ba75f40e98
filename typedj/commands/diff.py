"""``typedj diff``: how a pipeline's classes differ from their tables on the server."""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

from ..drift import Difference, tolerating
from ..errors import ConfigError
from ..schema import Schema
from . import open_connection, print_json


def register(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "diff",
        help="list differences between a pipeline's classes and the server",
        description="Import MODULE (a .py file or a dotted module name) with its classes bound "
        "to the tables as they are, and list every difference (attributes added, removed or "
        "changed; comments; indexes; references). Exit code 0 when there is none, 1 when there "
        "are differences. Apply the safe ones with Table.alter().",
    )
    p.add_argument("module", metavar="MODULE", help="pipeline module: path/to/pipeline.py or package.module")
    p.add_argument("--json", action="store_true", help="print JSON instead of text")
    p.set_defaults(func=run)


def load_module(target: str) -> ModuleType:
    path = Path(target)
    if path.suffix == ".py":
        if not path.is_file():
            raise ConfigError(f"no such file: {target}")
        sys.path.insert(0, str(path.resolve().parent))
        spec = importlib.util.spec_from_file_location(path.stem, path)
        if spec is None or spec.loader is None:
            raise ConfigError(f"cannot import {target}")
        module = importlib.util.module_from_spec(spec)
        sys.modules[path.stem] = module
        spec.loader.exec_module(module)
        return module
    sys.path.insert(0, str(Path.cwd()))
    try:
        return importlib.import_module(target)
    except ModuleNotFoundError as exc:
        raise ConfigError(f"cannot import {target}: {exc}") from exc


def run(args: argparse.Namespace) -> int:
    open_connection()
    with tolerating():
        module = load_module(args.module)
    schemas = [v for v in vars(module).values() if isinstance(v, Schema)]
    if not schemas:
        raise ConfigError(f"{args.module} defines no tj.Schema")
    differences: list[Difference] = [d for s in schemas for d in s.diff()]
    if args.json:
        print_json([d.as_dict() for d in differences])
    elif not differences:
        print(f"no differences ({', '.join(s.name for s in schemas)})")
    else:
        for d in differences:
            print(d)
        unsafe = sum(not d.safe for d in differences)
        print(f"{len(differences)} difference(s), {unsafe} not alterable")
    return 1 if differences else 0
