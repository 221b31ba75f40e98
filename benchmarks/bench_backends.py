"""The embedded backend (SQLite) beside MariaDB: the insert, fetch and populate workloads.

The same typedj code runs on both, interleaved round by round. Cases (the sizes of
bench_insert, bench_fetch and bench_populate):

- insert 10,000 narrow rows in one call (validated), into an emptied table;
- read them back as dicts, as instances and as a record array; a join + restriction, and
  an aggregation over the join (200 subjects x 50 trials);
- populate 1,000 keys with a trivial make() (one transaction per key), without and with
  job reservation.

ratio = MariaDB's best wall time / SQLite's (>1: the embedded backend is faster). The
SQLite file lives in a temporary folder (WAL, synchronous=NORMAL); MariaDB is
``TYPEDJ_BENCH_DATABASE_URL`` or a throwaway server (see _common.py).

Run: ``python3 benchmarks/bench_backends.py [--repeats N]``.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sqlite3
import sys
import tempfile
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import Timing, bench_server, fresh_name, interleaved

import typedj as tj
from typedj import Attr, Computed, Key, Manual, Ref

ROWS = 10_000
SUBJECTS = 200
KEYS = 1000


def pipeline(conn: tj.Connection, name: str) -> dict[str, Any]:
    schema = tj.Schema(name, connection=conn)

    @schema
    class Reading(Manual):
        reading_id: Key[tj.int32]
        value: float
        label: str = Attr(max_length=64)

    @schema
    class Subject(Manual):
        subject_id: Key[int]
        group_name: str = Attr(max_length=16)

    @schema
    class Trial(Manual):
        subject: Key[Ref[Subject]]
        trial: Key[int]
        score: float
        label: str = Attr(max_length=32)

    @schema
    class Source(Manual):
        source_id: Key[int]

    @schema
    class Result(Computed):
        source: Key[Ref[Source]]
        value: float

        def make(self, key: dict[str, Any]) -> None:
            self.insert1({**key, "value": 1.0})

    Subject.insert([(s, f"g{s % 4}") for s in range(SUBJECTS)])
    per_subject = ROWS // SUBJECTS
    Trial.insert([
        (s, t, (s * 31 + t) % 97 / 7, f"t{t % 5}") for s in range(SUBJECTS) for t in range(per_subject)
    ])
    Source.insert([(i,) for i in range(KEYS)])
    return {"schema": schema, "Reading": Reading, "Subject": Subject, "Trial": Trial, "Result": Result}


def cases(p: dict[str, Any]) -> dict[str, tuple[Any, Any]]:
    Reading, Subject, Trial, Result = p["Reading"], p["Subject"], p["Trial"], p["Result"]
    rows = [{"reading_id": i, "value": i / 3, "label": f"reading {i}"} for i in range(ROWS)]

    def empty_readings() -> None:
        Reading.delete()

    def empty_results() -> None:
        Result.delete()
        Result.jobs.delete()

    def join() -> object:
        return ((Trial * Subject) & {"group_name": "g1"} & "score > 5").to_dicts()

    def aggregate() -> object:
        return Subject.aggr(Trial & "score > 3", n="count(*)", best="max(score)").to_dicts()

    return {
        f"insert {ROWS:,} rows": (lambda: Reading.insert(rows), empty_readings),
        f"to_dicts(): {ROWS:,} rows": (Trial.to_dicts, None),
        f"fetch(): {ROWS:,} instances": (Trial.fetch, None),
        f"to_arrays(): {ROWS:,} rows": (Trial.to_arrays, None),
        "join + restrict -> dicts": (join, None),
        "aggr over a join": (aggregate, None),
        f"populate {KEYS:,} keys": (Result.populate, empty_results),
        f"populate {KEYS:,} keys, reserve_jobs": (lambda: Result.populate(reserve_jobs=True), empty_results),
    }


def print_ratios(title: str, sqlite: dict[str, Timing], mysql: dict[str, Timing]) -> None:
    header = ["case", "SQLite best", "median", "MariaDB best", "median", "ratio", "client cpu (sqlite/maria)"]
    rows = [
        [
            name,
            f"{s.best * 1000:.1f} ms",
            f"{s.median * 1000:.1f} ms",
            f"{m.best * 1000:.1f} ms",
            f"{m.median * 1000:.1f} ms",
            f"{m.best / s.best:.2f}x",
            f"{s.best_cpu * 1000:.0f}/{m.best_cpu * 1000:.0f} ms",
        ]
        for name, s, m in ((n, sqlite[n], mysql[n]) for n in sqlite)
    ]
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(header)]
    print(f"\n{title}")
    if hasattr(os, "getloadavg"):
        print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    print("  ".join(h.ljust(w) for h, w in zip(header, widths, strict=True)))
    print("  ".join("-" * w for w in widths))
    for r in rows:
        print("  ".join(v.ljust(w) for v, w in zip(r, widths, strict=True)))
    print("ratio = MariaDB best wall time / SQLite best wall time (>1: the embedded backend is faster); "
          "cpu = this process's CPU time")


def main() -> None:
    global ROWS, SUBJECTS, KEYS
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--rows", type=int, default=ROWS)
    parser.add_argument("--keys", type=int, default=KEYS)
    args = parser.parse_args()
    ROWS, KEYS = args.rows, args.keys
    SUBJECTS = max(1, min(SUBJECTS, ROWS // 10))
    folder = Path(tempfile.mkdtemp(prefix="typedj-bench-sqlite-"))
    with bench_server() as url:
        mysql = tj.connect(url)
        sqlite = tj.connect(f"sqlite:///{folder / 'bench.db'}")
        name = fresh_name("bench_backends")
        on_mysql = pipeline(mysql, name)
        on_sqlite = pipeline(sqlite, name)
        try:
            mine, theirs = cases(on_sqlite), cases(on_mysql)
            results: dict[str, dict[str, Timing]] = {"sqlite": {}, "mysql": {}}
            for case in mine:
                t = interleaved({"sqlite": mine[case], "mysql": theirs[case]}, repeats=args.repeats)
                results["sqlite"][case] = t["sqlite"]
                results["mysql"][case] = t["mysql"]
            version = mysql.query("SELECT VERSION()").fetchone()[0]
            title = (f"bench_backends: typedj on SQLite {sqlite3.sqlite_version} vs MariaDB {version}, "
                     f"best of {args.repeats}")
            print_ratios(title, results["sqlite"], results["mysql"])
        finally:
            on_mysql["schema"].drop()
            on_sqlite["schema"].drop()
            shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
