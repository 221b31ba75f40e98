"""Many workers, one jobs table: 1, 4, 16 and 64 worker processes (and a Dask cluster).

Run: ``python3 benchmarks/bench_workers.py [--keys 2000] [--make 0.005] [--workers 1,4,16,64] [--dask 4]``.

Every worker is an independent process calling ``Result.populate(reserve_jobs=True)`` over
the whole key source, as workers on a cluster do: they coordinate only through the jobs
table. Reported per run: keys per second; the share of the workers' time spent reserving
and completing jobs (``Jobs.reserve_many`` / ``complete_many``, timed inside each worker);
deadlock retries (the log lines of ``retrying``); and duplicates: each make() also inserts
a row into ``Made`` inside its transaction, so a key made twice shows as two rows (must be
0). datajoint-python runs the same with its own populate for comparison, and the floor is
the work itself: keys x make time / workers.
"""

from __future__ import annotations

import argparse
import logging
import multiprocessing
import os
import sys
import time
import warnings
from pathlib import Path
from typing import Any

from _common import bench_server, fresh_name

HERE = Path(__file__).resolve().parent


class _Counter(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.deadlocks = 0

    def emit(self, record: logging.LogRecord) -> None:
        if "deadlock victim" in record.getMessage():
            self.deadlocks += 1


def _instrument() -> tuple[dict[str, float], _Counter]:
    """Time spent in the jobs table's batch statements, and deadlock retries, in this process."""
    from typedj.populate.jobs import Jobs

    spent = {"jobs": 0.0}
    for name in ("reserve_many", "complete_many"):
        original = getattr(Jobs, name)

        def timed(self: Any, *args: Any, _original: Any = original, **kwargs: Any) -> Any:
            t0 = time.perf_counter()
            try:
                return _original(self, *args, **kwargs)
            finally:
                spent["jobs"] += time.perf_counter() - t0

        setattr(Jobs, name, timed)
    counter = _Counter()
    logging.getLogger("typedj").addHandler(counter)
    logging.getLogger("typedj").setLevel(logging.INFO)
    return spent, counter


def _worker(_: int) -> dict[str, float]:
    spent, counter = _instrument()
    import _workers_pipeline as pipe

    t0 = time.perf_counter()
    result = pipe.Result.populate(reserve_jobs=True, suppress_errors=True)
    total = time.perf_counter() - t0
    return {"made": result.success_count, "failed": len(result.failed), "seconds": total,
            "jobs": spent["jobs"], "deadlocks": counter.deadlocks}


def _dj_worker(args: tuple[str, str, float]) -> int:
    url, name, make = args
    from _common import datajoint_connection

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        conn = datajoint_connection(url)
        tables = _dj_pipeline(conn, name, make)
        tables["Result"].populate(reserve_jobs=True, suppress_errors=True)
    return 0


def _dj_pipeline(conn: Any, name: str, make: float) -> dict[str, Any]:
    import datajoint as dj

    schema = dj.Schema(name, connection=conn)

    @schema
    class Source(dj.Manual):
        definition = """
        source_id : int64
        """

    @schema
    class Result(dj.Computed):
        definition = """
        -> Source
        ---
        value : float64
        """

        def make(self, key: dict[str, Any]) -> None:
            time.sleep(make)
            self.insert1({**key, "value": 1.0})

    return {"Source": Source, "Result": Result}


def _reset(pipe: Any) -> None:
    pipe.Result.jobs.delete()
    conn = pipe.schema.connection
    d = conn.dialect
    for table in ("__result", "made"):
        conn.query(f"DELETE FROM {d.table(pipe.SCHEMA, table)}")


def _dups(pipe: Any) -> int:
    conn = pipe.schema.connection
    d = conn.dialect
    made = d.table(pipe.SCHEMA, "made")
    row = conn.query(f"SELECT COUNT(*) - COUNT(DISTINCT source_id) FROM {made}").fetchone()
    return int(row[0])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keys", type=int, default=2000)
    parser.add_argument("--make", type=float, default=0.005, help="seconds each make() sleeps")
    parser.add_argument("--workers", default="1,4,16,64")
    parser.add_argument("--dask", type=int, default=4, help="Dask LocalCluster workers (0: skip)")
    parser.add_argument("--datajoint", action="store_true", help="also run datajoint-python's workers")
    args = parser.parse_args()
    counts = [int(w) for w in args.workers.split(",")]
    sys.path.insert(0, str(HERE))
    with bench_server() as url:
        name = fresh_name("bench_workers")
        os.environ["TYPEDJ_BENCH_WORKERS_SCHEMA"] = name
        os.environ["TYPEDJ_BENCH_WORKERS_MAKE"] = str(args.make)
        os.environ["TYPEDJ_DATABASE_URL"] = url
        import typedj as tj

        tj.config.database_url = url
        import _workers_pipeline as pipe

        conn = pipe.schema.connection
        conn.query("SET GLOBAL max_connections = 500")
        pipe.Source.insert([{"source_id": i} for i in range(args.keys)])
        floor = args.keys * args.make
        lines = []
        try:
            for n in counts:
                _reset(pipe)
                pipe.Result.jobs.refresh(pipe.Result.key_source - pipe.Result.proj())
                conn.close()  # no inherited socket in the forked workers
                ctx = multiprocessing.get_context("fork")
                t0 = time.perf_counter()
                with ctx.Pool(n) as pool:
                    stats = pool.map(_worker, range(n))
                wall = time.perf_counter() - t0
                made = sum(s["made"] for s in stats)
                busy = sum(s["seconds"] for s in stats)
                lines.append((f"{n} processes", n, wall, made, sum(s["jobs"] for s in stats) / busy,
                              sum(s["deadlocks"] for s in stats), _dups(pipe), len(pipe.Result)))
            if args.dask:
                from dask.distributed import Client, LocalCluster

                _reset(pipe)
                with LocalCluster(n_workers=args.dask, threads_per_worker=1, processes=True,
                                  dashboard_address=None) as cluster, Client(cluster) as client:
                    client.run(lambda: sys.path.insert(0, str(HERE)))
                    t0 = time.perf_counter()
                    result = pipe.Result.populate(reserve_jobs=True, executor=client.get_executor(),
                                                  suppress_errors=True)
                    wall = time.perf_counter() - t0
                lines.append((f"dask LocalCluster, {args.dask} workers", args.dask, wall, result.success_count,
                              float("nan"), 0, _dups(pipe), len(pipe.Result)))
        finally:
            conn.query(f"DROP DATABASE IF EXISTS `{name}`")
        dj_lines = []
        if args.datajoint:
            for n in counts:
                dj_name = fresh_name("bench_workers_dj")
                from _common import datajoint_connection

                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    tables = _dj_pipeline(datajoint_connection(url), dj_name, args.make)
                    tables["Source"].insert([{"source_id": i} for i in range(args.keys)])
                ctx = multiprocessing.get_context("fork")
                t0 = time.perf_counter()
                with ctx.Pool(n) as pool:
                    pool.map(_dj_worker, [(url, dj_name, args.make)] * n)
                wall = time.perf_counter() - t0
                made = len(tables["Result"])
                dj_lines.append((n, wall, made))
                conn.query(f"DROP DATABASE IF EXISTS `{dj_name}`")
    print(f"\nbench_workers: {args.keys} keys, make() sleeps {args.make * 1000:.0f} ms and inserts 2 rows; "
          f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    print(f"{'run':<30} {'wall s':>7} {'keys/s':>8} {'floor keys/s':>12} {'made':>6} {'in jobs table':>13} "
          f"{'deadlock retries':>16} {'duplicates':>10}")
    for label, n, wall, made, share, deadlocks, dups, rows in lines:
        ideal = n / args.make
        print(f"{label:<30} {wall:7.2f} {made / wall:8.0f} {ideal:12.0f} {made:6d} {share:13.1%} "
              f"{deadlocks:16d} {dups:10d}")
        assert rows == args.keys, (label, rows)
    for n, wall, made in dj_lines:
        print(f"{'datajoint, ' + str(n) + ' processes':<30} {wall:7.2f} {made / wall:8.0f}")
    print(f"floor keys/s = workers / make time (the sleep alone; {floor:.1f} s of make for one worker)")


if __name__ == "__main__":
    main()
