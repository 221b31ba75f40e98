"""``typedj web``: serve the web app on a module's schemas or on the database's catalog."""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from typing import Any

from ..config import config
from ..errors import ConfigError


def register(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "web",
        help="browse, enter and compute in a web browser (needs typedj[web])",
        description="Serve a web app for the pipeline: a clickable diagram, paged and filtered "
        "tables, entry forms generated from the typed tables, and the state of computations. "
        "People sign in with their own database accounts. Serves the schemas of MODULE (a module "
        "of table classes, importable from the working directory), or those given with --schema, "
        "or every schema the account can see.",
    )
    p.add_argument("module", nargs="?", metavar="MODULE", help="module of table classes (e.g. pipeline.lab)")
    p.add_argument(
        "--schema", action="append", default=[], metavar="NAME", help="serve this schema (repeatable)"
    )
    p.add_argument(
        "--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1: this machine only)"
    )
    p.add_argument("--port", type=int, default=8765, help="port (default 8765)")
    p.add_argument(
        "--secret",
        default=os.environ.get("TYPEDJ_WEB_SECRET"),
        help="key signing the session cookies (default TYPEDJ_WEB_SECRET, else random per start)",
    )
    p.add_argument("--https", action="store_true", help="mark cookies Secure (behind a TLS proxy)")
    p.set_defaults(func=run)


def module_schemas(name: str) -> list[str]:
    """The schema names a module of table classes declares into."""
    from ..schema import Schema

    sys.path.insert(0, os.getcwd())
    try:
        module = importlib.import_module(name)
    except ImportError as exc:
        raise ConfigError(f"cannot import {name!r}: {exc}") from exc
    found = sorted({v.name for v in vars(module).values() if isinstance(v, Schema)})
    if not found:
        raise ConfigError(f"module {name!r} holds no tj.Schema")
    return found


def run(args: argparse.Namespace) -> int:
    try:
        import uvicorn

        from ..web.app import create_app
    except ImportError as exc:
        raise ConfigError(
            f"typedj web needs its extra: pip install 'typedj[web]' ({exc.name} is missing)"
        ) from exc
    schemas = list(args.schema)
    if args.module:
        schemas += module_schemas(args.module)
    app = create_app(config.database_url, schemas=schemas or None, secret=args.secret, https=args.https)
    if not app.state.web.sessions.needs_login and args.host not in {"127.0.0.1", "localhost", "::1"}:
        print(
            "typedj web: warning: the embedded database has no accounts; everyone who reaches "
            f"{args.host}:{args.port} may read and change it",
            file=sys.stderr,
        )
    host = f"[{args.host}]" if ":" in args.host else args.host
    print(f"typedj web: serving on http://{host}:{args.port}/  (Ctrl-C stops)", flush=True)
    uvicorn.run(app, host=args.host, port=args.port, log_level="warning")
    return 0
