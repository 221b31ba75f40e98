"""Rows at scale on MariaDB: insert, fetch and stream 1e7 narrow rows, typedj beside datajoint-python.

Each step runs in a fresh process, so its peak resident memory (``ru_maxrss``) is its own:
insert the rows in chunks of 100,000 (one ``insert`` call per chunk, both clients), read
them all as a structured array (``to_arrays``), as dicts (``to_dicts``), and stream them
(``for row in table``, keeping none; datajoint-python has no streaming). The floor is
pymysql's ``executemany`` / ``fetchall`` of tuples in the same chunks.

Run: ``python benchmarks/bench_big.py --rows 10000000`` (``TYPEDJ_BENCH_DATABASE_URL`` to
reuse a server; ``--steps`` and ``--clients`` to run a part).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
import warnings
from collections.abc import Callable, Iterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import typedj as tj  # noqa: E402
from typedj import Attr, Key, Manual  # noqa: E402

CHUNK = 100_000
STEPS = ("insert", "to_arrays", "to_dicts", "stream")
CLIENTS = ("typedj", "datajoint", "pymysql")
START = date(2024, 1, 1)
SUFFIX = {"typedj": "tj", "datajoint": "dj"}


def chunks(n: int) -> Iterator[list[dict[str, Any]]]:
    for first in range(0, n, CHUNK):
        yield [{"reading_id": i, "value": i / 7, "label": f"r{i:09d}",
                "day": START + timedelta(days=i % 1000)} for i in range(first, min(n, first + CHUNK))]


def _typedj(url: str, schema_name: str) -> Any:
    schema = tj.Schema(schema_name, connection=tj.connect(url))

    @schema
    class Reading(Manual):
        reading_id: Key[tj.int32]
        value: float
        label: str = Attr(max_length=16)
        day: date

    return Reading


def _datajoint(url: str, schema_name: str) -> Any:
    from _common import datajoint_connection

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import datajoint as dj

        schema = dj.Schema(schema_name, connection=datajoint_connection(url))

        @schema
        class Reading(dj.Manual):
            definition = """
            reading_id : int32
            ---
            value : float64
            label : varchar(16)
            day : date
            """

    return Reading


def _pymysql(url: str) -> Any:
    import pymysql

    from typedj.config import DatabaseURL

    u = DatabaseURL.parse(url)
    return pymysql.connect(host=u.host, port=u.port, user=u.user, password=u.password, autocommit=True)


def _step(url: str, client: str, step: str, rows: int, schema: str) -> dict[str, Any]:
    """One measured step in this process; the rows it handled, seconds, CPU, peak RSS."""
    work: Callable[[], int]
    if client == "pymysql":
        raw = _pymysql(url)
        cur = raw.cursor()
        table = f"`{schema}_tj`.`reading`"  # the floor reads and writes typedj's table's twin
        if step == "insert":
            cur.execute(f"CREATE TABLE IF NOT EXISTS `{schema}_tj`.`floor` LIKE {table}")
            sql = f"INSERT INTO `{schema}_tj`.`floor` (reading_id, value, label, day) VALUES (%s, %s, %s, %s)"

            def work() -> int:
                for chunk in chunks(rows):
                    cur.executemany(sql, [tuple(r.values()) for r in chunk])
                return rows
        elif step == "stream":
            def work() -> int:
                streaming = raw.cursor(__import__("pymysql").cursors.SSCursor)
                streaming.execute(f"SELECT * FROM {table}")
                return sum(1 for _ in streaming)
        else:
            def work() -> int:
                cur.execute(f"SELECT * FROM {table}")
                return len(cur.fetchall())
    else:
        table = (_typedj if client == "typedj" else _datajoint)(url, f"{schema}_{SUFFIX[client]}")
        if step == "insert":
            def work() -> int:
                for chunk in chunks(rows):
                    table.insert(chunk)
                return rows
        elif step == "to_arrays":
            def work() -> int:
                return len(table.to_arrays())
        elif step == "to_dicts":
            def work() -> int:
                return len(table.to_dicts())
        else:
            def work() -> int:
                return sum(1 for _ in table)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # the interpreter, modules loaded
    c0, t0 = time.process_time(), time.perf_counter()
    count = work()
    return {"rows": count, "seconds": time.perf_counter() - t0, "cpu": time.process_time() - c0,
            "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, "before_mb": before}


def _run(url: str, client: str, step: str, rows: int, schema: str, fresh: bool = True) -> dict[str, Any]:
    """A step in a fresh process (the URL, which may hold a password, in its environment);
    without ``fresh`` in this one (the smoke test: its peak RSS is then this process's)."""
    if not fresh:
        return _step(url, client, step, rows, schema)
    argv = [sys.executable, __file__, "--step", step, "--client", client, "--rows", str(rows),
            "--schema", schema]
    out = subprocess.run(argv, check=False, capture_output=True, text=True,
                         env={**os.environ, "TYPEDJ_BENCH_STEP_URL": url})
    if out.returncode != 0:
        raise RuntimeError(f"{client} {step} failed:\n{out.stderr[-3000:]}")
    result: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--steps", default=",".join(STEPS))
    parser.add_argument("--clients", default=",".join(CLIENTS))
    parser.add_argument("--in-process", action="store_true",
                        help="every step in this process (quick; the peak RSS figures mean nothing then)")
    parser.add_argument("--step", choices=STEPS, help=argparse.SUPPRESS)
    parser.add_argument("--client", choices=CLIENTS, help=argparse.SUPPRESS)
    parser.add_argument("--schema", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.step:
        print(json.dumps(_step(os.environ["TYPEDJ_BENCH_STEP_URL"], args.client, args.step, args.rows,
                               args.schema)))
        return
    from _common import bench_server, fresh_name

    steps = [s for s in STEPS if s in args.steps.split(",")]
    clients = [c for c in CLIENTS if c in args.clients.split(",")]
    if "datajoint" in clients:
        try:
            import datajoint  # noqa: F401
        except ImportError:
            clients.remove("datajoint")
    if "pymysql" in clients and "typedj" not in clients:
        clients.remove("pymysql")  # the floor uses typedj's table
    with bench_server() as url:
        conn = tj.connect(url)
        schema = fresh_name("bench_big")
        results: dict[tuple[str, str], dict[str, Any]] = {}
        try:
            for step in steps:
                for client in clients:
                    if client == "datajoint" and step == "stream":
                        continue
                    r = _run(url, client, step, args.rows, schema, not args.in_process)
                    results[(step, client)] = r
                    assert r["rows"] == args.rows, (step, client, r)
                    print(f"  {step} {client}: {r['seconds']:.1f} s, peak {r['peak_mb']:.0f} MB",
                          file=sys.stderr, flush=True)
        finally:
            for suffix in SUFFIX.values():
                conn.query(f"DROP DATABASE IF EXISTS `{schema}_{suffix}`")
    load = os.getloadavg()[0]
    where = "all steps in one process" if args.in_process else "each step a fresh process"
    print(f"\nbench_big: {args.rows:,} rows (reading_id int32, value float64, label varchar(16), "
          f"day date); MariaDB; load average {load:.1f} on {os.cpu_count()} cores; {where}\n")
    print("| step | client | wall s | client CPU s | us/row (CPU) | RSS before MB | peak RSS MB "
          "| wall / floor | CPU vs typedj |")
    print("|---|---|---|---|---|---|---|---|---|")
    for (step, client), r in results.items():
        floor = results.get((step, "pymysql"))
        ours = results.get((step, "typedj"))
        ratio = f"{r['seconds'] / floor['seconds']:.2f}" if floor else "-"
        versus = f"{r['cpu'] / ours['cpu']:.2f}" if ours else "-"
        print(f"| {step} | {client} | {r['seconds']:.1f} | {r['cpu']:.1f} | {r['cpu'] / r['rows'] * 1e6:.2f} "
              f"| {r['before_mb']:.0f} | {r['peak_mb']:.0f} | {ratio} | {versus} |")


if __name__ == "__main__":
    main()
