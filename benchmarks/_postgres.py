"""A PostgreSQL server for the PostgreSQL benchmarks, and datajoint-python connected to it.

The server is ``TYPEDJ_BENCH_POSTGRES_URL`` when set (``postgresql://user:pass@host:port/db``),
otherwise a throwaway cluster made with the installed PostgreSQL binaries (through
``tests/pg_ctl``, which runs them as the ``postgres`` user when this runs as root) on a free
loopback port, with durability off as in the tests (``fsync``, ``synchronous_commit``), and
removed at the end. typedj, datajoint-python and raw psycopg all talk to that one server.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import tempfile
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from _common import free_port

ROOT = Path(__file__).resolve().parent.parent
PG_CTL = ROOT / "tests" / "pg_ctl"


@contextlib.contextmanager
def postgres_server() -> Iterator[str]:
    """The URL of a PostgreSQL database for this run: the configured one, or a fresh cluster."""
    url = os.environ.get("TYPEDJ_BENCH_POSTGRES_URL")
    if url:
        yield url
        return
    port = free_port(5440, 5499)
    base = Path(tempfile.mkdtemp(prefix="typedj-bench-pg-"))
    data = base / "data"
    subprocess.run([str(PG_CTL), "initdb", "--pgdata", str(data), "-o", "--username=postgres --auth=trust"],
                   check=True, capture_output=True)
    options = (f"-F -p {port} -c listen_addresses=127.0.0.1 -c unix_socket_directories='/tmp' "
               "-c synchronous_commit=off -c full_page_writes=off -c max_connections=100")
    subprocess.run([str(PG_CTL), "start", "-D", str(data), "-o", options, "-l", str(base / "log"), "-w"],
                   check=True, capture_output=True)
    try:
        yield f"postgresql://postgres@127.0.0.1:{port}/postgres"
    finally:
        subprocess.run([str(PG_CTL), "stop", "-D", str(data), "-m", "fast"], check=False, capture_output=True)
        shutil.rmtree(base, ignore_errors=True)


def psycopg_connection(url: str) -> Any:
    """A raw psycopg 3 connection in autocommit mode: the floor's client."""
    import psycopg

    u = urlsplit(url)
    return psycopg.connect(host=u.hostname, port=u.port, user=unquote(u.username or ""),
                           password=unquote(u.password or "") or None, dbname=u.path.strip("/") or "postgres",
                           autocommit=True)


def datajoint_postgres(url: str) -> Any:
    """datajoint-python on its PostgreSQL backend (psycopg2), or None when either is missing."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            import datajoint as dj
            import psycopg2  # noqa: F401
    except ImportError:
        return None
    import logging

    logging.getLogger("datajoint").setLevel(logging.WARNING)
    u = urlsplit(url)
    dj.config["database.name"] = u.path.strip("/") or "postgres"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return dj.Connection(u.hostname, unquote(u.username or ""), unquote(u.password or ""), port=u.port,
                             use_tls=False, backend="postgresql")


def typedj_postgres(url: str) -> Any:
    """typedj connected to ``url``, or None while typedj has no PostgreSQL backend."""
    import typedj as tj

    try:
        return tj.connect(url)
    except tj.ConfigError as exc:
        if "postgresql" not in str(exc):
            raise
        return None
