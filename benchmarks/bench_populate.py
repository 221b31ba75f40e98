"""populate(): 1,000 keys with a trivial make(), typedj beside datajoint-python.

Cases: without job reservation, with it (``reserve_jobs=True``: the jobs table, one
reservation per key), each with provenance on (the default: a ``~provenance`` row per
made key, in the make's transaction) and off, and the scaling of the reserved run over 1,
2 and 4 processes. Two floors, written with pymysql directly, one transaction per key:
``floor`` (begin, INSERT, commit: the row alone) and ``floor+prov`` (begin, INSERT,
INSERT of a provenance row of the same columns, commit: what a hand-written script that
records provenance sends). Per-key overhead = (time per key) - (floor per key).

Run: ``python benchmarks/bench_populate.py`` (``TYPEDJ_BENCH_DATABASE_URL`` to reuse a server).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import sys
import time
import warnings
from datetime import datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import Case, Timing, bench_server, datajoint_connection, fresh_name, interleaved, print_table

import typedj as tj
from typedj import Computed, Key, Manual, Ref

KEYS = 1000
REPEATS = 5
SLOW = 0.002
"""Seconds a make() waits in the scaling runs (as if reading a file): work to spread."""


def typedj_pipeline(conn: tj.Connection, name: str) -> tuple[Any, Any]:
    schema = tj.Schema(name, connection=conn)

    @schema
    class Source(Manual):
        source_id: Key[int]

    @schema
    class Result(Computed):
        source: Key[Ref[Source]]
        value: float

        def make(self, key: dict[str, Any]) -> None:
            self.insert1({**key, "value": 1.0})

    @schema
    class Slow(Computed):
        source: Key[Ref[Source]]
        value: float

        def make(self, key: dict[str, Any]) -> None:
            time.sleep(SLOW)
            self.insert1({**key, "value": 1.0})

    Source.insert([(i,) for i in range(KEYS)])
    return Result, Slow


def datajoint_pipeline(name: str) -> Any:
    import datajoint as dj

    schema = dj.Schema(name)

    @schema
    class Source(dj.Manual):
        definition = """
        source_id : int32
        """

    @schema
    class Result(dj.Computed):
        definition = """
        -> Source
        ---
        value : float64
        """

        def make(self, key: dict[str, Any]) -> None:
            self.insert1({**key, "value": 1.0})

    @schema
    class Slow(dj.Computed):
        definition = """
        -> Source
        ---
        value : float64
        """

        def make(self, key: dict[str, Any]) -> None:
            time.sleep(SLOW)
            self.insert1({**key, "value": 1.0})

    Source.insert([(i,) for i in range(KEYS)])
    return Result, Slow


def main() -> None:
    global KEYS, REPEATS
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keys", type=int, default=KEYS)
    parser.add_argument("--repeats", type=int, default=REPEATS)
    parser.add_argument("--no-scaling", action="store_true", help="skip the runs on several processes")
    parser.add_argument("--processes", default="1,2,4", help="process counts of the scaling runs")
    args = parser.parse_args()
    KEYS, REPEATS = args.keys, args.repeats
    with bench_server() as url:
        conn = tj.connect(url)
        tj.config.database_url = url
        tj_name, dj_name = fresh_name("bench_pop_tj"), fresh_name("bench_pop_dj")
        floor_name = fresh_name("bench_pop_floor")
        dj_conn = datajoint_connection(url)
        try:
            tables = typedj_pipeline(conn, tj_name)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                dj_tables = datajoint_pipeline(dj_name) if dj_conn is not None else (None, None)
            run(conn, tables, dj_tables, floor_name,
                [] if args.no_scaling else [int(p) for p in args.processes.split(",")])
        finally:
            for name in (tj_name, dj_name, floor_name):
                conn.query(f"DROP DATABASE IF EXISTS `{name}`")


def _empty(conn: tj.Connection, schema: str, table: str) -> None:
    """Untimed setup: no results, no jobs (the jobs table itself stays, as in real use)."""
    conn.query(f"DELETE FROM `{schema}`.`{table}`")
    jobs = "~~" + table.lstrip("_")
    if conn.query(f"SHOW TABLES FROM `{schema}` LIKE '{jobs}'").fetchall():
        conn.query(f"DELETE FROM `{schema}`.`{jobs}`")


def run(conn: tj.Connection, tables: tuple[Any, Any], dj_tables: tuple[Any, Any], floor_name: str,
        counts: list[int]) -> None:
    Result, Slow = tables
    DjResult, DjSlow = dj_tables
    schema = Result._def.schema
    floor_run, floor_empty, close_floor = _floor(conn, floor_name)

    def check(table: Any) -> None:
        assert len(table) == KEYS, len(table)

    cases = []
    floors = []
    provenance_was = tj.config.provenance
    for provenance in (True, False):
        tj.config.provenance = provenance
        for reserve in (False, True):
            label = (f"populate {KEYS} keys" + ", reserve_jobs" * reserve
                     + ", provenance off" * (not provenance))
            runs: dict[str, Any] = {
                "typedj": (lambda r=reserve: Result.populate(reserve_jobs=r),
                           lambda: _empty(conn, schema, "__result")),
                "floor": (floor_run, floor_empty),
                "floor+prov": (lambda: floor_run(True), floor_empty),
            }
            if DjResult is not None:
                runs["datajoint"] = (lambda r=reserve: DjResult.populate(reserve_jobs=r),
                                     lambda: _empty(conn, DjResult.database, "__result"))
            t = interleaved(runs, repeats=REPEATS)
            check(Result)
            floors.append(t["floor"])
            cases.append(Case(label, t["typedj"], t.get("datajoint"),
                              {"floor": t["floor"], "floor+prov": t["floor+prov"]}))
    tj.config.provenance = provenance_was
    close_floor()
    print_table(f"populate, trivial make, {KEYS} keys (floor: one transaction + one INSERT per key, "
                "pymysql; floor+prov: and a provenance row)", cases)
    _ratios(cases)
    _overheads(cases, floors)
    if not counts:
        return

    scaling = []
    for processes in counts:
        runs = {"typedj": (lambda p=processes: Slow.populate(reserve_jobs=True, processes=p),
                           lambda: _empty(conn, schema, "__slow"))}
        if DjSlow is not None:
            runs["datajoint"] = (lambda p=processes: DjSlow.populate(reserve_jobs=True, processes=p),
                                 lambda: _empty(conn, DjSlow.database, "__slow"))
        t = interleaved(runs, repeats=min(3, REPEATS), warmup=1 if processes == 1 else 0)
        check(Slow)
        scaling.append(Case(f"reserve_jobs, processes={processes}", t["typedj"], t.get("datajoint")))
    print_table(f"scaling: {KEYS} keys, make() waits {SLOW * 1000:.0f} ms, with job reservation "
                "(wall time; the machine has 2 cores)", scaling)
    base = scaling[0]
    for c in scaling[1:]:
        tj_gain = base.typedj.best / c.typedj.best
        dj_gain = base.reference.best / c.reference.best if c.reference and base.reference else float("nan")
        print(f"  {c.name}: typedj {tj_gain:.2f}x the throughput of 1 process, datajoint {dj_gain:.2f}x")


def _floor(conn: tj.Connection, name: str) -> tuple[Any, Any, Any]:
    """One transaction and one INSERT per key, straight through the driver; with
    ``provenance``, also the INSERT of a row like typedj's ``~provenance`` (the key as
    JSON and its MD5, the code version, host, process, user, start and duration)."""
    import pymysql

    url = conn.url
    raw = pymysql.connect(host=url.host, port=url.port, user=url.user, password=url.password,
                          autocommit=True)
    cur = raw.cursor()
    cur.execute(f"CREATE DATABASE `{name}`")
    cur.execute(f"CREATE TABLE `{name}`.t (k INT NOT NULL PRIMARY KEY, v DOUBLE NOT NULL) ENGINE=InnoDB")
    cur.execute(f"CREATE TABLE `{name}`.p (table_name VARCHAR(64) NOT NULL, key_hash CHAR(32) NOT NULL, "
                "`key` JSON NOT NULL, code_version VARCHAR(64) NOT NULL, code_dirty TINYINT NOT NULL, "
                "host VARCHAR(255) NOT NULL, pid INT NOT NULL, user VARCHAR(255) NOT NULL, "
                "started DATETIME(3) NOT NULL, duration DOUBLE NOT NULL, "
                "PRIMARY KEY (table_name, key_hash)) ENGINE=InnoDB")
    record = (f"REPLACE INTO `{name}`.p (table_name, key_hash, `key`, code_version, code_dirty, host, pid, "
              "user, started, duration) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s)")
    fixed = ("0123456789ab", 0, platform.node(), os.getpid(), f"{url.user}@127.0.0.1")

    def floor_run(provenance: bool = False) -> None:
        for k in range(KEYS):
            started = time.time()
            cur.execute("START TRANSACTION WITH CONSISTENT SNAPSHOT")
            cur.execute(f"INSERT INTO `{name}`.t (k, v) VALUES (%s, %s)", (k, 1.0))
            if provenance:
                text = json.dumps({"source_id": k})
                cur.execute(record, ("t", hashlib.md5(text.encode()).hexdigest(), text, *fixed,
                                     datetime.fromtimestamp(started), time.time() - started))
            raw.commit()

    def floor_empty() -> None:
        cur.execute(f"DELETE FROM `{name}`.t")
        cur.execute(f"DELETE FROM `{name}`.p")

    return floor_run, floor_empty, raw.close


def _ratios(cases: list[Case]) -> None:
    print("\ntypedj per key against the two floors of the same rounds (best wall / best wall; "
          "client CPU / client CPU)")
    print(f"{'case':<52} {'us/key':>7} {'/ floor':>8} {'/ floor+prov':>13} {'cpu / floor':>12} "
          f"{'cpu / floor+prov':>17}")
    for c in cases:
        plain, prov = c.extra["floor"], c.extra["floor+prov"]
        print(f"{c.name:<52} {c.typedj.best / KEYS * 1e6:>7.0f} {c.typedj.best / plain.best:>8.2f} "
              f"{c.typedj.best / prov.best:>13.2f} {c.typedj.best_cpu / plain.best_cpu:>12.2f} "
              f"{c.typedj.best_cpu / prov.best_cpu:>17.2f}")


def _overheads(cases: list[Case], floors: list[Timing]) -> None:
    print("\nper-key cost above the floor measured in the same rounds: wall time, and this "
          "process's CPU time (steadier on a loaded machine)")
    print(f"{'case':<52} {'floor us/key':>12} {'typedj':>8} {'datajoint':>10} {'overhead tj/dj':>15}   "
          f"{'cpu floor':>9} {'typedj':>8} {'datajoint':>10} {'cpu overhead tj/dj':>19}")
    for c, floor in zip(cases, floors, strict=True):
        if c.reference is None:
            continue
        cols = []
        for tj_t, dj_t, fl_t in ((c.typedj.best, c.reference.best, floor.best),
                                 (c.typedj.best_cpu, c.reference.best_cpu, floor.best_cpu)):
            tj_key, dj_key, fl_key = tj_t / KEYS, dj_t / KEYS, fl_t / KEYS
            ratio = (tj_key - fl_key) / (dj_key - fl_key)
            cols.append((fl_key * 1e6, tj_key * 1e6, dj_key * 1e6, ratio))
        (wf, wt, wd, wr), (cf, ct, cd, cr) = cols
        print(f"{c.name:<52} {wf:>12.0f} {wt:>8.0f} {wd:>10.0f} {wr:>15.2f}   "
              f"{cf:>9.0f} {ct:>8.0f} {cd:>10.0f} {cr:>19.2f}")
    print("target: typedj's overhead at most 0.50 of datajoint-python's")


if __name__ == "__main__":
    main()
