"""populate and the jobs table on the embedded backend, with worker processes sharing one file."""

from __future__ import annotations

import signal
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

import typedj as tj
from tests.test_jobs_workers import Pipeline, _wait_for


@pytest.fixture
def pipe(tmp_path: Path) -> Iterator[Pipeline]:
    url = f"sqlite:///{tmp_path / 'jobs.db'}"
    before = tj.config.database_url
    tj.config.database_url = url
    p = Pipeline(tmp_path, "jobs", url)
    yield p
    p.close()
    tj.config.database_url = before


def test_four_worker_processes_make_each_key_exactly_once(pipe: Pipeline) -> None:
    pipe.Source.insert([(i, float(i % 50)) for i in range(200)])
    workers = [pipe.worker("--reserve-jobs", "--order", "random") for _ in range(4)]
    outputs = [w.communicate(timeout=300) for w in workers]
    assert [w.returncode for w in workers] == [0, 0, 0, 0], outputs
    calls = pipe.calls()
    per_key = Counter(key for _, _, key in calls)
    assert len(calls) == 200 and set(per_key) == set(range(200)) and max(per_key.values()) == 1
    # Which workers get keys is not asserted here: writers take turns on the file's lock,
    # and on a loaded machine the first worker may finish 200 quick keys before the others
    # have started. Sharing is shown on MySQL (test_jobs_workers, 2,000 keys).
    assert len(pipe.Result) == 200 and len(pipe.Result.Piece) == 400
    assert pipe.Result.fetch("doubled", order_by="source_id").tolist()[:3] == [0.0, 2.0, 4.0]
    assert pipe.Result.jobs.progress()["total"] == 0
    made = sum(int(out.split(": ")[1].split(" made")[0]) for out, _ in outputs)
    assert made == 200


def test_killed_worker_rolls_back_and_its_job_is_recovered(pipe: Pipeline) -> None:
    pipe.Source.insert([(1, 1.0), (2, 2.0)])
    pipe.pause.write_text("")
    worker = pipe.worker("--reserve-jobs")
    _wait_for(pipe.started, worker)
    key = int(pipe.started.read_text())
    pipe.Result._schema.reload()  # sees the jobs table the worker made: reading needs no write lock
    reserved = pipe.Result.jobs.reserved.to_dicts()
    assert [r["source_id"] for r in reserved] == [key] and reserved[0]["connection_id"] == worker.pid
    worker.send_signal(signal.SIGKILL)
    worker.wait(timeout=30)
    pipe.pause.unlink()
    assert len(pipe.Result) == 0 and len(pipe.Result.Piece) == 0  # the make's transaction is gone
    assert pipe.Result.jobs.recover() == 1
    assert pipe.Result.jobs.reserved.to_dicts() == []
    result = pipe.Result.populate(reserve_jobs=True)
    assert result.success_count == 2 and len(pipe.Result) == 2


def test_errors_are_recorded_and_retried(pipe: Pipeline) -> None:
    pipe.Source.insert([(1, 1.0), (2, 5000.0)])
    result = pipe.Result.populate(reserve_jobs=True, suppress_errors=True)
    assert result.success_count == 1 and [f.key for f in result.failed] == [{"source_id": 2}]
    errors = pipe.Result.jobs.errors.to_dicts()
    assert [e["source_id"] for e in errors] == [2]
    assert errors[0]["error_message"] == "ValueError: too big: 5000.0"
    assert errors[0]["error_stack"].startswith("Traceback")
    assert isinstance(errors[0]["completed_time"], type(errors[0]["created_time"]))
    assert len(pipe.Result & {"source_id": 2}) == 0
    pipe.Source.update1({"source_id": 2, "value": 3.0})
    assert pipe.Result.jobs.retry() == 1
    time.sleep(0.01)
    assert pipe.Result.populate(reserve_jobs=True).success_count == 1
    assert pipe.Result.fetch("doubled", order_by="source_id").tolist() == [2.0, 6.0]
