"""The ``typedj`` command.

Each subcommand is a module of ``typedj.commands`` (listed in its ``SUBCOMMANDS``) that
exposes ``register(subparsers)``, which adds its parser and sets ``func``; this module
only dispatches.

Exit codes: 0 success, 1 the work failed (for example jobs ended in error), 2 bad
usage or configuration (including a login the server refuses), 3 the database could not
be reached. A failure prints one line, never a traceback (``-v`` adds one for failures
that are not typedj errors).
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys
import traceback
from collections.abc import Sequence

from .commands import SUBCOMMANDS
from .errors import AccessError, ConfigError, TypedjError, UnreachableError

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_UNREACHABLE = 0, 1, 2, 3


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="typedj",
        description="Work with typedj / DataJoint pipelines from the shell.",
        epilog="exit codes: 0 success; 1 the work failed or found problems (jobs in error, "
        "differences); 2 bad usage or configuration (also a wrong user or password); 3 the "
        "database could not be reached. "
        "'typedj COMMAND --help' explains each command.",
    )
    p.add_argument("--database-url", help="mysql://user:pass@host:port or sqlite:///file.db "
                   "(default: TYPEDJ_DATABASE_URL, DJ_HOST..., or pyproject.toml)")
    p.add_argument("-v", "--verbose", action="store_true", help="log what is done")
    sub = p.add_subparsers(dest="command", metavar="COMMAND")
    for command in SUBCOMMANDS:
        name = f"typedj.commands.{command}"
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
    func = getattr(args, "func", None)
    if func is None:
        p.print_help()
        return EXIT_USAGE
    try:
        if args.database_url:
            from .config import config

            config.set_database_url(args.database_url, source="--database-url")
        result: int = func(args)
        return result
    except KeyboardInterrupt:
        print("typedj: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:
        code, message = _failure(exc)
        print(f"typedj: {message}", file=sys.stderr)
        if args.verbose and not isinstance(exc, TypedjError):
            traceback.print_exc()
        return code


def _failure(exc: Exception) -> tuple[int, str]:
    """The exit code and the one line a failed command prints (a traceback only with -v)."""
    first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    if isinstance(exc, ConfigError) or (isinstance(exc, AccessError) and exc.login):
        return EXIT_USAGE, first
    if isinstance(exc, UnreachableError):
        return EXIT_UNREACHABLE, first
    if isinstance(exc, TypedjError):
        return EXIT_FAILED, str(exc)
    if isinstance(exc, ConnectionError):
        return EXIT_UNREACHABLE, f"cannot reach the database: {first}"
    return EXIT_FAILED, f"{type(exc).__name__}: {first} (-v shows where)"


if __name__ == "__main__":
    sys.exit(main())
