"""Shared helpers for the benchmarks: a server, both clients, timing, the ratio table.

A benchmark is a plain script with a ``main()``::

    from _common import Case, bench_server, datajoint_connection, fresh_name, interleaved, print_table

    def main() -> None:
        with bench_server() as url:
            conn = tj.connect(url)
            dj_conn = datajoint_connection(url)          # None when datajoint is missing
            t = interleaved({"typedj": (ours, empty_ours), "datajoint": (theirs, empty_theirs)})
            print_table("insert", [Case("insert 10k rows", t["typedj"], t["datajoint"])])

``timed(fn, repeats=, setup=)`` times one contender alone; ``interleaved`` alternates
several round by round (prefer it: the machine's load changes while a benchmark runs).

The server is ``TYPEDJ_BENCH_DATABASE_URL`` when set (``mysql://root:simple@127.0.0.1:3307``),
otherwise a throwaway MariaDB started with ``../shared/scripts/start-mariadb.sh`` on a free
port and stopped at the end. Both clients talk to the same server, so the ratio compares
the clients, not the servers.
"""

from __future__ import annotations

import contextlib
import gc
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
import warnings
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
START_SCRIPT = Path(
    os.environ.get("TYPEDJ_START_MARIADB", ROOT.parent / "shared" / "scripts" / "start-mariadb.sh")
)
PASSWORD = "simple"


def free_port(low: int = 3310, high: int = 3399) -> int:
    """A loopback port in the benchmark range that nothing listens on."""
    start = low + os.getpid() % (high - low)
    for offset in range(high - low + 1):
        port = low + (start - low + offset) % (high - low + 1)
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) != 0:
                return port
    raise RuntimeError(f"no free port in {low}-{high}")


@contextlib.contextmanager
def bench_server() -> Iterator[str]:
    """The URL of a MariaDB for this run: the configured one, or a fresh one stopped after."""
    url = os.environ.get("TYPEDJ_BENCH_DATABASE_URL")
    if url:
        yield url
        return
    if not START_SCRIPT.is_file():
        raise SystemExit(f"set TYPEDJ_BENCH_DATABASE_URL or provide {START_SCRIPT}")
    port = free_port()
    base = Path(tempfile.mkdtemp(prefix="typedj-bench-db-"))
    out = subprocess.run(
        ["bash", str(START_SCRIPT), str(base), str(port), PASSWORD],
        check=True, capture_output=True, text=True,
    )
    pid = int(out.stdout.strip().splitlines()[-1])
    try:
        yield f"mysql://root:{PASSWORD}@127.0.0.1:{port}"
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGTERM)
            for _ in range(100):
                os.kill(pid, 0)
                time.sleep(0.1)
        shutil.rmtree(base, ignore_errors=True)


def fresh_name(prefix: str) -> str:
    """A database name no other run uses (benchmarks may share a server)."""
    return f"{prefix}_{os.getpid()}_{uuid.uuid4().hex[:6]}"


def datajoint_connection(url: str) -> Any:
    """datajoint-python connected to ``url`` through ``dj.config``, or None if not installed."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            import datajoint as dj
    except ImportError:
        return None
    from typedj.config import DatabaseURL

    parsed = DatabaseURL.parse(url)
    dj.config["database.host"] = parsed.host
    dj.config["database.port"] = parsed.port
    dj.config["database.user"] = parsed.user
    dj.config["database.password"] = parsed.password
    import logging

    logging.getLogger("datajoint").setLevel(logging.WARNING)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return dj.conn(reset=True)


@dataclass
class Timing:
    """Seconds per run over several repeats; ``best`` is what the tables report.

    ``cpu`` is this process's CPU time per run: the client's own work, which the load
    other processes put on a shared machine (and on the server) hardly changes.
    """

    seconds: list[float]
    cpu: list[float] = field(default_factory=list)

    @property
    def best_cpu(self) -> float:
        return min(self.cpu) if self.cpu else float("nan")

    @property
    def best(self) -> float:
        return min(self.seconds)

    @property
    def median(self) -> float:
        return statistics.median(self.seconds)

    def __str__(self) -> str:
        return f"{self.best * 1000:.1f} ms (median {self.median * 1000:.1f})"


def timed(fn: Callable[[], object], *, repeats: int = 5, setup: Callable[[], object] | None = None,
          warmup: int = 1) -> Timing:
    """Time ``fn`` ``repeats`` times, each after ``setup`` (untimed); GC off while timing."""
    for _ in range(warmup):
        if setup is not None:
            setup()
        fn()
    seconds, cpu = [], []
    for _ in range(repeats):
        if setup is not None:
            setup()
        gc.collect()
        gc.disable()
        try:
            c0, t0 = time.process_time(), time.perf_counter()
            fn()
            seconds.append(time.perf_counter() - t0)
            cpu.append(time.process_time() - c0)
        finally:
            gc.enable()
    return Timing(seconds, cpu)


def interleaved(runs: dict[str, tuple[Callable[[], object], Callable[[], object] | None]], *,
                repeats: int = 5, warmup: int = 1) -> dict[str, Timing]:
    """Time several ``(fn, setup)`` in alternation, round after round.

    On a shared machine the load changes from second to second; alternating the
    contenders exposes each to the same conditions, so their ratio is steadier than when
    one is timed after the other.
    """
    for _ in range(warmup):
        for fn, setup in runs.values():
            if setup is not None:
                setup()
            fn()
    out = {name: Timing([], []) for name in runs}
    for _ in range(repeats):
        for name, (fn, setup) in runs.items():
            one = timed(fn, repeats=1, setup=setup, warmup=0)
            out[name].seconds += one.seconds
            out[name].cpu += one.cpu
    return out


@dataclass
class Case:
    """One measured operation: typedj's timing and, when available, the reference's."""

    name: str
    typedj: Timing
    reference: Timing | None = None
    extra: dict[str, Timing] = field(default_factory=dict)

    @property
    def speedup(self) -> float | None:
        """How many times faster typedj is than datajoint-python (best of each)."""
        return None if self.reference is None else self.reference.best / self.typedj.best

    @property
    def cpu_speedup(self) -> float | None:
        """The same ratio over client CPU time."""
        return None if self.reference is None else self.reference.best_cpu / self.typedj.best_cpu


def print_table(title: str, cases: Sequence[Case], *, file: Any = None) -> None:
    """A plain-text table: best and median per client, and the speed-up over the reference."""
    out = file or sys.stdout
    extra_names = list(dict.fromkeys(n for c in cases for n in c.extra))
    header = ["case", "typedj best", "median", "datajoint best", "median", "speed-up", "client cpu (tj/dj)",
              "cpu speed-up"]
    header += extra_names
    rows = []
    for c in cases:
        ref = c.reference
        rows.append([
            c.name,
            f"{c.typedj.best * 1000:.1f} ms",
            f"{c.typedj.median * 1000:.1f} ms",
            f"{ref.best * 1000:.1f} ms" if ref else "-",
            f"{ref.median * 1000:.1f} ms" if ref else "-",
            f"{c.speedup:.2f}x" if c.speedup is not None else "-",
            f"{c.typedj.best_cpu * 1000:.0f}/{ref.best_cpu * 1000:.0f} ms" if ref else "-",
            f"{c.cpu_speedup:.2f}x" if c.cpu_speedup is not None else "-",
            *[f"{c.extra[n].best * 1000:.1f} ms" if n in c.extra else "-" for n in extra_names],
        ])
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(header)]
    print(f"\n{title}", file=out)
    if hasattr(os, "getloadavg"):  # wall times mean little on a busy machine: say how busy it was
        print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores", file=out)
    print("  ".join(h.ljust(w) for h, w in zip(header, widths, strict=True)), file=out)
    print("  ".join("-" * w for w in widths), file=out)
    for r in rows:
        print("  ".join(v.ljust(w) for v, w in zip(r, widths, strict=True)), file=out)
    print("speed-up = datajoint-python best wall time / typedj best wall time (>1: typedj is faster); "
          "cpu = this process's CPU time (the client's own work)", file=out)
