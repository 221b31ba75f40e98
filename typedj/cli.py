"""The ``typedj`` command.

Each subcommand lives beside the code it drives and exposes ``register(subparsers)``,
which adds its parser and sets ``func``; this module only dispatches.

Exit codes: 0 success, 1 the work failed (for example jobs ended in error), 2 bad
usage or configuration, 3 the database could not be reached.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys
from collections.abc import Sequence

from .errors import ConfigError, TypedjError

SUBCOMMANDS = (
    "typedj.commands.info",
    "typedj.populate.command",
    "typedj.commands.jobs",
    "typedj.commands.diagram",
    "typedj.commands.codegen",
    "typedj.commands.diff",
    "typedj.export.command",
    "typedj.web.command",
)

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_UNREACHABLE = 0, 1, 2, 3


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="typedj",
        description="Work with typedj / DataJoint pipelines from the shell.",
        epilog="exit codes: 0 success; 1 the work failed or found problems (jobs in error, "
        "differences); 2 bad usage or configuration; 3 the database could not be reached. "
        "'typedj COMMAND --help' explains each command.",
    )
    p.add_argument("--database-url", help="mysql://user:pass@host:port or sqlite:///file.db "
                   "(default: TYPEDJ_DATABASE_URL, DJ_HOST..., or pyproject.toml)")
    p.add_argument("-v", "--verbose", action="store_true", help="log what is done")
    sub = p.add_subparsers(dest="command", metavar="COMMAND")
    for name in SUBCOMMANDS:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name is not None and name.startswith(exc.name):
                continue
            raise
        module.register(sub)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    p = parser()
    args = p.parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING,
                        format="%(levelname)s %(name)s: %(message)s")
    if args.database_url:
        from .config import config

        config.database_url = args.database_url
    func = getattr(args, "func", None)
    if func is None:
        p.print_help()
        return EXIT_USAGE
    try:
        result: int = func(args)
        return result
    except ConfigError as exc:
        print(f"typedj: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except TypedjError as exc:
        print(f"typedj: {exc}", file=sys.stderr)
        return EXIT_FAILED
    except OSError as exc:
        print(f"typedj: cannot reach the database: {exc}", file=sys.stderr)
        return EXIT_UNREACHABLE


if __name__ == "__main__":
    sys.exit(main())
