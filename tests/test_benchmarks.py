"""Every script in benchmarks/ runs at a tiny size, so none of them rots unnoticed.

Each script's ``main()`` runs in this process (no interpreter start per script) against
the test MariaDB, with sizes that take a second or less, and its printed table must hold
the figures it exists to report. The timings themselves are not asserted (they are the
benchmarks' business); that each figure is there and is a number is.
"""

from __future__ import annotations

import importlib.util
import re
import sys
from pathlib import Path

import pytest

import typedj as tj

BENCHMARKS = Path(__file__).resolve().parent.parent / "benchmarks"
NUMBER = r"[0-9][0-9,]*(?:\.[0-9]+)?"
MS = rf"{NUMBER} ?ms"

RUNS: dict[str, tuple[list[str], list[str]]] = {
    # script: (argv, patterns its output must match, one per figure it reports)
    "bench_insert": (["--rows", "50", "--repeats", "1"], [
        rf"insert 50 rows +{MS} +{MS} +{MS} +{MS} +{NUMBER}x .*{MS}",
        rf"read 50 rows as dicts +{MS}",
        rf"read 50 rows as instances / fetch\(\) +{MS}",
    ]),
    "bench_fetch": (["--rows", "60", "--repeats", "1"], [
        rf"to_dicts\(\): 200 rows +{MS}", rf"fetch\(\): 200 rows +{MS}", rf"to_arrays\(\): 200 rows +{MS}",
        rf"restrict \+ aggr over join +{MS}",
    ]),
    # one process: datajoint-python's Pool forks this multi-threaded pytest, and a fork taken
    # while another thread held a lock hung CI once (the parallel runs are tested in test_jobs_workers)
    "bench_populate": (["--keys", "8", "--repeats", "1", "--processes", "1"], [
        rf"populate 8 keys +{MS} +{MS} +{MS}", rf"populate 8 keys, reserve_jobs +{MS}",
        rf"populate 8 keys, reserve_jobs, provenance off +{MS} +{MS} +{MS}",
        rf"populate 8 keys, provenance off +{NUMBER} +{NUMBER} +{NUMBER} +{NUMBER} +{NUMBER} +{NUMBER}",
        rf"populate 8 keys +{NUMBER} +{NUMBER} +{NUMBER} +-?{NUMBER}",
        rf"reserve_jobs, processes=1 +{MS}",
    ]),
    "bench_backends": (["--rows", "40", "--keys", "4", "--repeats", "1"], [
        rf"insert 40 rows +{MS} +{MS} +{MS} +{MS} +{NUMBER}x", rf"populate 4 keys, reserve_jobs +{MS}",
    ]),
    "bench_blobs": (["--rows", "3", "--repeats", "1"], [
        rf"random: insert 3.* +{MS}", rf"smooth: fetch 3.* +{MS}",
    ]),
    "bench_codec": (["--quick", "--small"], [
        rf"f8 100x100 smooth +{NUMBER} +[Z-]{{2}} \| +{NUMBER} +{NUMBER} +{NUMBER}x",
        rf"geometric mean ratio: encode {NUMBER}x, decode {NUMBER}x",
    ]),
    "bench_compression": (["--rows", "3"], [
        rf"quantized +auto +{NUMBER} +{NUMBER} +{NUMBER}", rf"typedj, auto .*{NUMBER}",
    ]),
    "bench_scale": (["--sizes", "100,300", "--repeats", "1", "--memory"], [
        rf"to_dicts +300 +{NUMBER} +{NUMBER} +{NUMBER} +{NUMBER} +{NUMBER} +{NUMBER} +{NUMBER} +{NUMBER}",
        rf"(?m)^to_arrays +300 .* {NUMBER} +{NUMBER}$",
        rf"to_arrays +300 +{NUMBER} +{NUMBER}",
        rf"to_arrays +result +{NUMBER} MB +peak +{NUMBER} MB",
        rf"streaming +300 rows, none kept: peak {NUMBER} MB",
    ]),
    "bench_web": (["--rows", "300", "--page", "3", "--repeats", "1"], [
        rf"mysql +page 3 \(keyset\) +{MS}", rf"sqlite +page 3 sorted by value \(offset\) +{MS}",
    ]),
    "bench_workers": (["--keys", "12", "--make", "0.001", "--workers", "1,2", "--dask", "0"], [
        rf"2 processes +{NUMBER} +{NUMBER} +{NUMBER} +12 +{NUMBER}% +0 +0\n",
    ]),
    "bench_big": (["--rows", "300", "--in-process"], [
        rf"\| insert \| typedj \| {NUMBER} \| {NUMBER} \| {NUMBER} \| {NUMBER} \| {NUMBER} \| {NUMBER} "
        r"\| 1.00 \|",
        rf"\| to_arrays \| datajoint \| {NUMBER} \|", rf"\| stream \| pymysql \| {NUMBER} \|",
    ]),
    "bench_export": (["--size-mb", "1"], [
        rf"\| export \| {NUMBER} s \| {NUMBER} MB/s \| {NUMBER} MB \|", rf"\| verify \| {NUMBER} s",
        rf"\| import into SQLite \| {NUMBER} s",
    ]),
    "bench_postgres": (["--rows", "50", "--keys", "5", "--blobs", "3", "--repeats", "1"], [
        rf"insert 50 rows +{MS} +{MS} +{MS} +{MS} +{NUMBER}x .*{MS} +{MS}", rf"read 50 rows as dicts +{MS}",
        rf"populate, reserve_jobs=True +{MS}", rf"insert 3 blobs +{MS}", rf"fetch 3 blobs +{MS}",
    ]),
    # mypy's own runs take half a minute cold (it analyses typedj): here the pipeline is generated
    "bench_mypy": (["--tables", "3", "--generate-only"], [
        r"mypy --strict on a 3-table pipeline \(\d+ lines\)",
    ]),
}


def test_every_benchmark_is_smoke_tested() -> None:
    scripts = {p.stem for p in BENCHMARKS.glob("bench_*.py")}
    assert sorted(scripts) == sorted(RUNS), "every benchmark script needs its small run in RUNS"


BROKEN: dict[str, str] = {
    # strict: once it runs, this test fails until the entry is removed
}


@pytest.mark.parametrize("script", [
    pytest.param(s, marks=pytest.mark.xfail(strict=True, raises=tj.TypedjError, reason=BROKEN[s]))
    if s in BROKEN else s for s in sorted(RUNS)
])
def test_benchmark_runs_small(script: str, request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch,
                              capsys: pytest.CaptureFixture[str]) -> None:
    argv, patterns = RUNS[script]
    if "postgres" in script:
        monkeypatch.setenv("TYPEDJ_BENCH_POSTGRES_URL", request.getfixturevalue("postgres_url"))
    else:
        monkeypatch.setenv("TYPEDJ_BENCH_DATABASE_URL", request.getfixturevalue("mysql_url"))
    monkeypatch.setattr(sys, "argv", [str(BENCHMARKS / f"{script}.py"), *argv])
    monkeypatch.syspath_prepend(str(BENCHMARKS))
    spec = importlib.util.spec_from_file_location(f"_smoke_{script}", BENCHMARKS / f"{script}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, spec.name, module)  # its tables' annotations resolve through it
    with tj.config.override():
        spec.loader.exec_module(module)
        module.main()
    out = capsys.readouterr().out
    missing = [p for p in patterns if not re.search(p, out)]
    assert not missing, f"{script} printed no figure for {missing}:\n{out}"
