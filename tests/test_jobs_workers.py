"""Workers in other processes: the worker command, signals, SIGKILL, process pools, dask,
and a datajoint-python worker sharing the queue.

The pipeline lives in a module written to a temporary folder, so that every worker
process can import it; each make() appends a line to a log file, which counts calls.
"""

from __future__ import annotations

import importlib
import os
import signal
import subprocess
import sys
import textwrap
import time
from collections import Counter
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context
from pathlib import Path
from typing import Any

import pytest

import typedj as tj

PIPELINE = '''
import os
import time
from pathlib import Path

import typedj as tj
from typedj import Computed, Key, Manual, Part, Ref

schema = tj.Schema({schema!r})
LOG = Path({log!r})
PAUSE = Path({pause!r})
STARTED = Path({started!r})


@schema
class Source(Manual):
    source_id: Key[int]
    value: float


@schema
class Result(Computed):
    source: Key[Ref[Source]]
    doubled: float

    class Piece(Part):
        result: Key[Ref["Result"]]
        piece: Key[int]

    def make(self, key):
        with LOG.open("a") as log:
            log.write(f"tj {{os.getpid()}} {{key['source_id']}}\\n")
        value = (Source & key).fetch1("value")
        self.insert1({{**key, "doubled": 2 * value}})
        Result.Piece.insert([{{**key, "piece": i}} for i in range(2)])
        if PAUSE.exists():
            STARTED.write_text(str(key["source_id"]))
            time.sleep(120)
        if value >= 1000:
            raise ValueError(f"too big: {{value}}")
'''

DJ_WORKER = '''
import os
import sys
import time
from pathlib import Path

import datajoint as dj

host, port, schema_name, log = sys.argv[1:5]
dj.config["database.host"] = host
dj.config["database.port"] = int(port)
dj.config["database.user"] = "root"
dj.config["database.password"] = ""
LOG = Path(log)
schema = dj.Schema(schema_name)


@schema
class Source(dj.Manual):
    definition = """
    source_id : int32
    ---
    value : float64
    """


@schema
class Result(dj.Computed):
    definition = """
    -> Source
    ---
    doubled : float64
    """

    class Piece(dj.Part):
        definition = """
        -> master
        piece : int32
        """

    def make(self, key):
        with LOG.open("a") as f:
            f.write(f"dj {os.getpid()} {key['source_id']}\\n")
        deadline = time.monotonic() + 120
        while "tj " not in LOG.read_text() and time.monotonic() < deadline:
            time.sleep(0.05)  # until the typedj worker has started too: the two overlap
        value = (Source & key).fetch1("value")
        self.insert1({**key, "doubled": 2 * value})
        self.Piece.insert([{**key, "piece": i} for i in range(2)])
        time.sleep(0.04)


Result.populate(reserve_jobs=True)
'''


class Pipeline:
    def __init__(self, folder: Path, schema_name: str, url: str):
        self.folder = folder
        self.url = url
        self.log = folder / "makes.log"
        self.pause = folder / "pause"
        self.started = folder / "started"
        self.module_name = f"pipe_{schema_name}"
        (folder / f"{self.module_name}.py").write_text(
            PIPELINE.format(schema=schema_name, log=str(self.log), pause=str(self.pause),
                            started=str(self.started))
        )
        sys.path.insert(0, str(folder))
        self.module = importlib.import_module(self.module_name)
        self.Source = self.module.Source
        self.Result = self.module.Result

    def calls(self) -> list[tuple[str, int, int]]:
        if not self.log.exists():
            return []
        out = []
        for line in self.log.read_text().splitlines():
            who, pid, key = line.split()
            out.append((who, int(pid), int(key)))
        return out

    def worker(self, *args: str) -> subprocess.Popen[str]:
        return subprocess.Popen(
            [sys.executable, "-m", "typedj.cli", "--database-url", self.url, "populate",
             f"{self.module_name}:Result", *args],
            cwd=self.folder, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )

    def close(self) -> None:
        sys.path.remove(str(self.folder))
        sys.modules.pop(self.module_name, None)


@pytest.fixture
def pipe(request: pytest.FixtureRequest, tmp_path: Path, schema_name: str, conn: tj.Connection) -> Any:
    url = request.getfixturevalue("mysql_url") if conn.dialect.name == "mysql" else str(conn.url)
    p = Pipeline(tmp_path, schema_name, url)
    yield p
    p.close()


def _wait_for(path: Path, process: subprocess.Popen[str], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not path.exists():
        if process.poll() is not None:
            out, err = process.communicate()
            raise AssertionError(f"worker exited early ({process.returncode}): {out}\n{err}")
        assert time.monotonic() < deadline, "the worker never reached make()"
        time.sleep(0.05)


def _session_gone(conn: tj.Connection, session: int) -> None:
    if conn.dialect.name != "mysql":  # the session is the worker's process, already reaped
        return
    alive = "SELECT 1 FROM information_schema.processlist WHERE id = %s"
    for _ in range(200):
        if not conn.query(alive, (session,)).fetchall():
            return
        time.sleep(0.05)
    raise AssertionError(f"session {session} still alive")


def test_four_worker_processes_make_each_key_exactly_once(pipe: Pipeline) -> None:
    pipe.Source.insert([(i, float(i % 500)) for i in range(2000)])
    workers = [pipe.worker("--reserve-jobs", "--order", "random") for _ in range(4)]
    outputs = [w.communicate(timeout=600) for w in workers]
    assert [w.returncode for w in workers] == [0, 0, 0, 0], outputs
    calls = pipe.calls()
    per_key = Counter(key for _, _, key in calls)
    assert len(calls) == 2000 and set(per_key) == set(range(2000)) and max(per_key.values()) == 1
    assert len({pid for _, pid, _ in calls}) >= 2
    assert len(pipe.Result) == 2000 and len(pipe.Result.Piece) == 4000
    assert pipe.Result.jobs.progress()["total"] == 0
    made = sum(int(out.split(": ")[1].split(" made")[0]) for out, _ in outputs)
    assert made == 2000


def test_worker_killed_mid_make_leaves_nothing_and_its_job_is_recovered(
    pipe: Pipeline, conn: tj.Connection
) -> None:
    pipe.Source.insert([(1, 1.0), (2, 2.0)])
    pipe.pause.touch()
    worker = pipe.worker("--reserve-jobs", "--max-calls", "1")
    _wait_for(pipe.started, worker)
    reserved = pipe.Result.jobs.reserved.to_dicts()
    assert [r["source_id"] for r in reserved] == [1] and reserved[0]["pid"] == worker.pid
    worker.send_signal(signal.SIGKILL)
    worker.wait(timeout=30)
    _session_gone(conn, reserved[0]["connection_id"])
    assert len(pipe.Result) == 0 and len(pipe.Result.Piece) == 0
    assert [r["source_id"] for r in pipe.Result.jobs.reserved.to_dicts()] == [1]

    pipe.pause.unlink()
    result = pipe.Result.populate(reserve_jobs=True)
    assert sorted(k["source_id"] for k in result.succeeded) == [1, 2]
    assert len(pipe.Result) == 2 and len(pipe.Result.Piece) == 4
    assert pipe.Result.jobs.progress()["total"] == 0


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_sigterm_and_ctrl_c_roll_back_and_release_the_job(pipe: Pipeline, sig: signal.Signals) -> None:
    pipe.Source.insert([(1, 1.0)])
    pipe.pause.touch()
    worker = pipe.worker("--reserve-jobs")
    _wait_for(pipe.started, worker)
    worker.send_signal(sig)
    worker.communicate(timeout=60)
    assert worker.returncode == (143 if sig == signal.SIGTERM else 130)
    assert len(pipe.Result) == 0 and len(pipe.Result.Piece) == 0
    jobs = pipe.Result.jobs.query.to_dicts()
    assert [(j["source_id"], j["status"], j["connection_id"]) for j in jobs] == [(1, "pending", 0)]
    pipe.pause.unlink()
    assert pipe.Result.populate(reserve_jobs=True).succeeded == [{"source_id": 1}]


def test_sigterm_to_a_parent_reaches_its_worker_processes(pipe: Pipeline) -> None:
    pipe.Source.insert([(1, 1.0), (2, 2.0)])
    pipe.pause.touch()
    worker = pipe.worker("--reserve-jobs", "--processes", "2")
    _wait_for(pipe.started, worker)
    deadline = time.monotonic() + 30
    while len(pipe.Result.jobs.reserved) < 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    worker.send_signal(signal.SIGTERM)
    worker.communicate(timeout=240)  # on SQLite the second worker waits for the file's lock
    assert worker.returncode == 143
    assert len(pipe.Result) == 0 and len(pipe.Result.Piece) == 0
    jobs = pipe.Result.jobs.query.to_dicts(order_by="source_id")
    assert [(j["source_id"], j["status"]) for j in jobs] == [(1, "pending"), (2, "pending")]


def test_processes_run_disjoint_keys_in_parallel(pipe: Pipeline) -> None:
    pipe.Source.insert([(i, float(i)) for i in range(40)])
    result = pipe.Result.populate(processes=2, display_progress=False)
    assert result.success_count == 40 and result.failed == []
    calls = pipe.calls()
    assert sorted(k for _, _, k in calls) == list(range(40))
    assert len({pid for _, pid, _ in calls}) == 2 and os.getpid() not in {pid for _, pid, _ in calls}
    assert len(pipe.Result.Piece) == 80


def test_process_pool_executor_with_reserved_jobs(pipe: Pipeline) -> None:
    pipe.Source.insert([(i, float(i)) for i in range(30)])
    with ProcessPoolExecutor(2, mp_context=get_context("spawn")) as pool:
        result = pipe.Result.populate(reserve_jobs=True, executor=pool)
    assert result.success_count == 30
    assert sorted(k for _, _, k in pipe.calls()) == list(range(30))
    assert pipe.Result.jobs.progress()["total"] == 0


def test_failures_in_worker_processes(pipe: Pipeline) -> None:
    pipe.Source.insert([(i, float(i)) for i in range(6)])
    pipe.Source.update1({"source_id": 3, "value": 1000.0})
    result = pipe.Result.populate(processes=2, suppress_errors=True)
    assert result.success_count == 5
    [failure] = result.failed
    assert failure.key == {"source_id": 3} and failure.error == "ValueError: too big: 1000.0"
    assert "in make" in failure.traceback and failure.exception is None
    assert len(pipe.Result & {"source_id": 3}) == 0 and len(pipe.Result.Piece) == 10
    with pytest.raises(tj.PopulateError, match="too big") as info:
        pipe.Result.populate(processes=2)
    assert info.value.result.failed[0].key == {"source_id": 3}


def test_dask_distributed_cluster(pipe: Pipeline) -> None:
    distributed = pytest.importorskip("distributed")
    pipe.Source.insert([(i, float(i)) for i in range(20)])
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None) as cluster, distributed.Client(cluster) as client:
        result = pipe.Result.populate(reserve_jobs=True, executor=client.get_executor())
    assert result.success_count == 20 and result.failed == []
    calls = pipe.calls()
    assert sorted(k for _, _, k in calls) == list(range(20))
    assert os.getpid() not in {pid for _, pid, _ in calls}
    assert len(pipe.Result) == 20


@pytest.mark.requires("datajoint_peer", reason="datajoint-python works on MySQL servers only")
def test_typedj_and_datajoint_workers_share_the_queue(pipe: Pipeline, mysql_url: str) -> None:
    pytest.importorskip("datajoint")
    pipe.Source.insert([(i, float(i)) for i in range(150)])
    url = tj.DatabaseURL.parse(mysql_url)
    script = pipe.folder / "dj_worker.py"
    script.write_text(textwrap.dedent(DJ_WORKER))
    dj = subprocess.Popen(
        [sys.executable, str(script), url.host, str(url.port), pipe.Result._def.schema, str(pipe.log)],
        cwd=pipe.folder, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    deadline = time.monotonic() + 120
    while not any(who == "dj" for who, _, _ in pipe.calls()):
        if dj.poll() is not None:
            raise AssertionError(f"datajoint worker exited: {dj.communicate()}")
        assert time.monotonic() < deadline
        time.sleep(0.05)
    tj_worker = pipe.worker("--reserve-jobs")
    tj_out = tj_worker.communicate(timeout=300)
    dj_out = dj.communicate(timeout=300)
    assert tj_worker.returncode == 0, tj_out
    assert dj.returncode == 0, dj_out
    calls = pipe.calls()
    per_key = Counter(key for _, _, key in calls)
    assert set(per_key) == set(range(150)) and max(per_key.values()) == 1
    by_worker = Counter(who for who, _, _ in calls)
    assert by_worker["dj"] > 0 and by_worker["tj"] > 0, by_worker
    assert len(pipe.Result) == 150 and len(pipe.Result.Piece) == 300


def test_worker_command_restricts_and_reports_failures(pipe: Pipeline) -> None:
    pipe.Source.insert([(1, 1.0), (2, 1000.0), (3, 3.0)])
    first = pipe.worker("--reserve-jobs", "--restrict", '{"source_id": 3}')
    out, err = first.communicate(timeout=120)
    assert first.returncode == 0, err
    assert out.strip() == "Result: 1 made, 0 failed, 0 skipped, 0 remaining"
    second = pipe.worker("--reserve-jobs")
    out, err = second.communicate(timeout=120)
    assert second.returncode == 1
    assert out.strip() == "Result: 1 made, 1 failed, 0 skipped, 1 remaining"
    assert "{'source_id': 2}: ValueError: too big: 1000.0" in err
    [error] = pipe.Result.jobs.errors.to_dicts()
    assert error["source_id"] == 2 and "Traceback" in error["error_stack"]
    assert sorted(pipe.Result.fetch("source_id").tolist()) == [1, 3]
    stop = pipe.worker("--stop-on-error")
    out, err = stop.communicate(timeout=120)
    assert stop.returncode == 1 and "stopped at a failed make(): ValueError: too big: 1000.0" in err
