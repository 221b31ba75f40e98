"""Fetch cost per row from 1e3 to 1e6 rows, every result format, both backends, and memory.

Run: ``python3 benchmarks/bench_scale.py [--sizes 1000,10000,100000,1000000] [--backends mysql,sqlite]``.

One table (int key, float, varchar, date) holds the largest size; each size is the key range
``id < n`` of it. typedj, datajoint-python (MySQL only: it has no SQLite backend) and the raw
driver's ``fetchall()`` of tuples (the floor) run interleaved at each size. The garbage
collector stays **on** while timing, as in a user's program: that is where a per-row cost
that grows with the result shows up. ``growth`` is the time at this size over the time at the
previous (10x smaller) size: 10 means a flat cost per row.

A second floor, ``same values``, is what a hand-written client pays for the same result:
the driver's tuples turned into the same Python objects in the same shape (dicts; on SQLite
the dates decoded from their text; a structured array; a DataFrame) by the obvious code.

``--memory`` adds a pass under ``tracemalloc``: the peak of each format over the size of the
result it returns (what is still allocated afterwards), and the peak while streaming the
same rows with ``for row in table`` (keeping none).
"""

from __future__ import annotations

import argparse
import gc
import sqlite3
import tempfile
import time
import tracemalloc
import warnings
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from _common import Timing, bench_server, datajoint_connection, fresh_name

import typedj as tj
from typedj import Attr, Key, Manual

FORMATS = ["fetch", "to_dicts", "to_arrays", "to_pandas", "iterate"]


def rows(n: int) -> list[dict[str, Any]]:
    start = date(2024, 1, 1)
    return [
        {"reading_id": i, "value": i / 7, "label": f"r{i:09d}", "day": start + timedelta(days=i % 1000)}
        for i in range(n)
    ]


def declare(conn: tj.Connection, name: str) -> Any:
    schema = tj.Schema(name, connection=conn)

    @schema
    class Reading(Manual):
        reading_id: Key[tj.int32]
        value: float
        label: str = Attr(max_length=16)
        day: date

    return Reading


def declare_dj(dj_conn: Any, name: str) -> Any:
    import datajoint as dj

    schema = dj.Schema(name, connection=dj_conn)

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


def with_gc(fn: Callable[[], object], repeats: int) -> Timing:
    """Wall and CPU seconds of ``fn`` with the collector left on (as users run it)."""
    seconds, cpu = [], []
    for _ in range(repeats):
        gc.collect()
        c0, t0 = time.process_time(), time.perf_counter()
        result = fn()
        seconds.append(time.perf_counter() - t0)
        cpu.append(time.process_time() - c0)
        del result
    return Timing(seconds, cpu)


def same_values(floor: Callable[[str], Any], fmt: str, text_dates: bool) -> Callable[[str], Any]:
    """The floor's rows as the result ``fmt`` gives, written the obvious way by hand."""
    import numpy as np

    names = ["reading_id", "value", "label", "day"]
    day: Callable[[Any], Any] = date.fromisoformat if text_dates else (lambda d: d)

    def tuples(where: str) -> list[tuple[Any, ...]]:
        return [(a, b, c, day(d)) for a, b, c, d in floor(where)]

    if fmt == "to_arrays":
        dtype = np.dtype([("reading_id", "i8"), ("value", "f8"), ("label", "O"), ("day", "O")])
        return lambda where: np.array(tuples(where), dtype=dtype)
    if fmt == "to_pandas":
        import pandas as pd

        return lambda where: pd.DataFrame.from_records(tuples(where), columns=names, index="reading_id")
    return lambda where: [dict(zip(names, r, strict=True)) for r in tuples(where)]


def contenders(table: Any, dj_table: Any, floor: Callable[[str], Any], n: int,
               text_dates: bool) -> dict[str, dict[str, Any]]:
    q = table & f"reading_id < {n}"
    out: dict[str, dict[str, Any]] = {
        "fetch": {"typedj": q.fetch},
        "to_dicts": {"typedj": q.to_dicts},
        "to_arrays": {"typedj": q.to_arrays},
        "to_pandas": {"typedj": q.to_pandas},
        "iterate": {"typedj": lambda: sum(1 for _ in q)},
    }
    if dj_table is not None:
        d = dj_table & f"reading_id < {n}"
        out["fetch"]["datajoint"] = d.fetch  # numpy record array: datajoint's default
        out["to_dicts"]["datajoint"] = lambda: d.fetch(as_dict=True)
        out["to_arrays"]["datajoint"] = d.to_arrays
        out["to_pandas"]["datajoint"] = d.to_pandas
    for fmt in out:
        out[fmt]["floor"] = lambda: floor(f"reading_id < {n}")
        by_hand = same_values(floor, fmt, text_dates)
        out[fmt]["values"] = lambda f=by_hand: f(f"reading_id < {n}")
    return out


def ms(t: Timing | None) -> str:
    return "-" if t is None else f"{t.best * 1000:,.1f}"


def report(backend: str, results: dict[tuple[str, int], dict[str, Timing]], sizes: list[int]) -> None:
    import os

    print(f"\nbench_scale [{backend}]: best wall ms (client cpu ms), GC on; load average "
          f"{os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    head = ["format", "rows", "typedj", "cpu", "us/row", "growth", "cpu growth", "datajoint", "cpu", "dj/tj",
            "floor", "cpu", "tj/floor", "cpu tj/floor", "floor growth", "same values cpu", "cpu tj/values"]
    lines = [head]
    for fmt in FORMATS:
        prev: dict[str, float] = {}
        for n in sizes:
            t = results.get((fmt, n))
            if t is None:
                continue
            tj_t, dj_t, fl = t["typedj"], t.get("datajoint"), t["floor"]
            growth = f"{tj_t.best / prev['typedj']:.1f}" if "typedj" in prev else "-"
            cgrowth = f"{tj_t.best_cpu / prev['cpu']:.1f}" if "cpu" in prev else "-"
            fgrowth = f"{fl.best / prev['floor']:.1f}" if "floor" in prev else "-"
            lines.append([
                fmt, f"{n:,}", ms(tj_t), f"{tj_t.best_cpu * 1000:,.1f}", f"{tj_t.best / n * 1e6:.2f}", growth, cgrowth,
                ms(dj_t), f"{dj_t.best_cpu * 1000:,.1f}" if dj_t else "-",
                f"{dj_t.best / tj_t.best:.2f}" if dj_t else "-",
                ms(fl), f"{fl.best_cpu * 1000:,.1f}", f"{tj_t.best / fl.best:.2f}",
                f"{tj_t.best_cpu / fl.best_cpu:.2f}", fgrowth,
                f"{t['values'].best_cpu * 1000:,.1f}", f"{tj_t.best_cpu / t['values'].best_cpu:.2f}",
            ])
            prev = {"typedj": tj_t.best, "cpu": tj_t.best_cpu, "floor": fl.best}
    widths = [max(len(r[i]) for r in lines) for i in range(len(head))]
    for i, r in enumerate(lines):
        print("  ".join(v.rjust(w) if i and j > 1 else v.ljust(w) for j, (v, w) in enumerate(zip(r, widths))))
        if i == 0:
            print("  ".join("-" * w for w in widths))


def memory(table: Any, n: int) -> None:
    q = table & f"reading_id < {n}"
    print(f"\nmemory, {n:,} rows (tracemalloc): peak while building / size of the result")
    for fmt in ["to_arrays", "to_dicts", "fetch", "to_pandas"]:
        gc.collect()
        tracemalloc.start()
        result = getattr(q, fmt)()
        size, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        print(f"  {fmt:10s} result {size / 1e6:8.1f} MB  peak {peak / 1e6:8.1f} MB  peak/result {peak / size:.2f}")
        del result
    gc.collect()
    tracemalloc.start()
    count = sum(1 for _ in q)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    print(f"  streaming  {count:,} rows, none kept: peak {peak / 1e6:.1f} MB")


def run_backend(backend: str, conn: tj.Connection, dj_conn: Any, floor_factory: Callable[[str], Any],
                sizes: list[int], repeats: int, with_memory: bool) -> None:
    name = fresh_name("bench_scale")
    data = rows(max(sizes))
    try:
        table = declare(conn, name)
        table.insert(data)
        dj_table = None
        if dj_conn is not None:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                dj_table = declare_dj(dj_conn, name + "_dj")
                dj_table.insert(data)
        del data
        floor = floor_factory(name)
        results: dict[tuple[str, int], dict[str, Timing]] = {}
        for n in sizes:
            reps = repeats if n < 10**6 else max(1, repeats // 2)
            for fmt, runs in contenders(table, dj_table, floor, n, backend == "sqlite").items():
                for fn in runs.values():  # warm-up, untimed
                    if n <= 10**4:
                        fn()
                timings: dict[str, Timing] = {k: Timing([], []) for k in runs}
                for _ in range(reps):
                    for k, fn in runs.items():
                        one = with_gc(fn, 1)
                        timings[k].seconds += one.seconds
                        timings[k].cpu += one.cpu
                results[(fmt, n)] = timings
        report(backend, results, sizes)
        if with_memory:
            for n in sizes[-2:]:
                memory(table, n)
    finally:
        if backend == "mysql":
            for s in (name, name + "_dj"):
                conn.query(f"DROP DATABASE IF EXISTS `{s}`")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000,10000,100000,1000000")
    parser.add_argument("--backends", default="mysql,sqlite")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--memory", action="store_true")
    args = parser.parse_args()
    warnings.filterwarnings("ignore")
    sizes = [int(float(s)) for s in args.sizes.split(",")]
    backends = args.backends.split(",")
    if "sqlite" in backends:
        path = Path(tempfile.mkdtemp(prefix="typedj-bench-")) / "scale.db"
        conn = tj.connect(f"sqlite:///{path}")

        def sqlite_floor(name: str) -> Callable[[str], Any]:
            raw = sqlite3.connect(path)
            sql = f'SELECT reading_id, value, label, day FROM "{name}.reading" WHERE '
            return lambda where: raw.execute(sql + where).fetchall()

        run_backend("sqlite", conn, None, sqlite_floor, sizes, args.repeats, args.memory)
    if "mysql" in backends:
        with bench_server() as url:
            conn = tj.connect(url)

            def mysql_floor(name: str) -> Callable[[str], Any]:
                sql = f"SELECT reading_id, value, label, day FROM `{name}`.`reading` WHERE "
                return lambda where: conn.query(sql + where).fetchall()

            run_backend("mysql", conn, datajoint_connection(url), mysql_floor, sizes, args.repeats, args.memory)


if __name__ == "__main__":
    main()
