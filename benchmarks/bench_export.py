"""Export and import of a large slice: time and peak memory (issue 18).

A pipeline of ``Recording`` rows, each with an in-table blob (256 kB of random float64)
and a stored blob in a file store (1 MB), and a child table ``Sample`` with many narrow
rows, about ``--size-mb`` MB in all (default 1024). Each step runs in a fresh process,
so its peak resident memory (``ru_maxrss``) is its own:

1. ``export`` of every recording (restriction: all), ``Sample`` included, to a folder;
2. ``verify`` of the folder against its manifest;
3. ``import`` into a fresh embedded database and a fresh file store.

The source is MariaDB (``TYPEDJ_BENCH_DATABASE_URL``, or a throwaway server) or, with
``--embedded``, an embedded database::

    python3 benchmarks/bench_export.py --size-mb 256
    python3 benchmarks/bench_export.py --embedded
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))

import typedj as tj  # noqa: E402
from typedj import Blob, External, Key, Manual, Ref  # noqa: E402

IN_TABLE = 256 * 1024
STORED = 1024 * 1024
SAMPLES_PER_RECORDING = 250


def declare(schema: tj.Schema) -> tuple[Any, Any]:
    @schema
    class Recording(Manual):
        rec_id: Key[int]
        rate: float
        trace: Blob[np.ndarray]
        movie: Blob[np.ndarray] = External("bench")

    @schema
    class Sample(Manual):
        recording: Key[Ref[Recording]]
        sample_id: Key[int]
        value: float
        label: str = tj.Attr(max_length=32)

    return Recording, Sample


def fill(schema: tj.Schema, size_mb: int) -> int:
    Recording, Sample = declare(schema)
    count = max(1, size_mb * 1024 * 1024 // (IN_TABLE + STORED))
    rng = np.random.default_rng(1)
    for start in range(0, count, 16):
        ids = range(start, min(start + 16, count))
        Recording.insert({"rec_id": i, "rate": 30.0, "trace": rng.random(IN_TABLE // 8),
                          "movie": rng.random(STORED // 8)} for i in ids)
        Sample.insert({"rec_id": i, "sample_id": j, "value": float(j), "label": f"s{j}"}
                      for i in ids for j in range(SAMPLES_PER_RECORDING))
    return count


def _step(args: argparse.Namespace) -> None:
    """One measured step, in this (fresh) process; prints a JSON line."""
    tj.config.stores["bench"] = {"protocol": "file", "location": args.store}
    started = time.perf_counter()
    result: dict[str, Any] = {}
    if args.step == "export":
        conn = tj.connect(os.environ["TYPEDJ_BENCH_STEP_URL"])
        schema = tj.Schema(args.schema, connection=conn, create_schema=False, create_tables=False)
        Recording, Sample = declare(schema)
        report = tj.export(Recording, include=[Sample], to=args.dest, progress=False)
        result = {"rows": sum(report.rows.values()), "objects": report.objects}
    elif args.step == "verify":
        result = {"ok": tj.verify(args.dest).ok}
    else:
        conn = tj.connect(os.environ["TYPEDJ_BENCH_STEP_URL"])
        report = tj.import_dataset(args.dest, connection=conn, verify=False, progress=False)
        result = {"inserted": sum(report.inserted.values())}
    result["seconds"] = time.perf_counter() - started
    result["peak_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps(result))


def _run(step: str, url: str = "", **options: str) -> dict[str, Any]:
    """Run a step in a fresh process (the URL, which may hold a password, in its environment)."""
    argv = [sys.executable, __file__, "--step", step]
    for k, v in options.items():
        argv += [f"--{k}", v]
    env = {**os.environ, "TYPEDJ_BENCH_STEP_URL": url}
    out = subprocess.run(argv, check=True, capture_output=True, text=True, env=env)
    result: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def _size(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())


@contextlib.contextmanager
def _source(embedded: bool, work: Path) -> Iterator[str]:
    if embedded:
        yield f"sqlite:///{work / 'source.db'}"
        return
    from _common import bench_server

    with bench_server() as url:
        yield url


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--size-mb", type=int, default=1024)
    p.add_argument("--embedded", action="store_true", help="source in an embedded database")
    p.add_argument("--step", choices=("export", "verify", "import"), help=argparse.SUPPRESS)
    for hidden in ("schema", "dest", "store"):
        p.add_argument(f"--{hidden}", help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.step:
        _step(args)
        return
    work = Path(tempfile.mkdtemp(prefix="typedj-bench-export-"))
    try:
        with _source(args.embedded, work) as url:
            tj.config.stores["bench"] = {"protocol": "file", "location": str(work / "store")}
            schema = tj.Schema(f"bench_export_{os.getpid()}", connection=tj.connect(url))
            started = time.perf_counter()
            count = fill(schema, args.size_mb)
            setup = time.perf_counter() - started
            stored = _size(work / "store")
            dest = work / "dataset"
            exported = _run("export", url=url, schema=schema.name, dest=str(dest), store=str(work / "store"))
            dataset = _size(dest)
            verified = _run("verify", dest=str(dest), store=str(work / "store"))
            imported = _run("import", url=f"sqlite:///{work / 'copy.db'}", dest=str(dest),
                            store=str(work / "store-copy"))
            schema.drop(force=True)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    load = os.getloadavg()[0]
    source = "embedded database" if args.embedded else "MariaDB"
    print(f"\n{count} recordings, {count * SAMPLES_PER_RECORDING} samples; source {source}; "
          f"objects in the store {stored / 2**20:.0f} MB; dataset {dataset / 2**20:.0f} MB "
          f"(filled in {setup:.0f} s); load average {load:.1f}\n")
    print("| step | time | throughput | peak memory (RSS) |")
    print("|---|---|---|---|")
    for name, r in (("export", exported), ("verify", verified), ("import into SQLite", imported)):
        print(f"| {name} | {r['seconds']:.1f} s | {dataset / 2**20 / r['seconds']:.0f} MB/s "
              f"| {r['peak_mb']:.0f} MB |")


if __name__ == "__main__":
    main()
