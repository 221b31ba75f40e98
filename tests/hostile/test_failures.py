"""Failures in the middle of work: kill -9 and KILL QUERY during insert and delete, a
stopped S3 server, a full disk. Each leaves nothing half-written and is a typed error."""

from __future__ import annotations

import multiprocessing
import os
import resource
import signal
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import typedj as tj
from typedj import Attr, Blob, External, Key, Manual, Ref

from .. import test_stores_rig as rig
from ..test_stores_rig import file_store, s3_store

store_config = rig.store_config
BATCH = 40_000


def declare(schema: tj.Schema) -> tuple[type[Manual], type[Manual]]:
    @schema
    class Parent(Manual):
        parent_id: Key[int]

    @schema
    class Child(Manual):
        parent: Key[Ref[Parent]]
        child_id: Key[int]
        note: str = Attr(max_length=32, default="")

    return Parent, Child



def _run(queue: Any, action: Any) -> None:
    try:
        queue.put("started")
        action()
        queue.put("done")
    except BaseException as exc:
        queue.put(exc)


def _killed_midway(action: Any, delay: float) -> int | None:
    """Run ``action`` in a forked process and SIGKILL it ``delay`` seconds after it starts."""
    ctx = multiprocessing.get_context("fork")
    queue = ctx.Queue()
    worker = ctx.Process(target=_run, args=(queue, action))
    worker.start()
    assert queue.get(timeout=60) == "started"
    time.sleep(delay)
    os.kill(worker.pid or 0, signal.SIGKILL)
    worker.join(30)
    return worker.exitcode


def test_kill_9_during_insert_and_delete_leaves_all_or_nothing(schema: tj.Schema) -> None:
    Parent, Child = declare(schema)
    Parent.insert([{"parent_id": 1}, {"parent_id": 2}])
    n = 3 * BATCH  # long enough (~1 s) to be killed while inserting on a fast machine
    rows = [{"parent_id": 1, "child_id": i, "note": "x" * 20} for i in range(n)]
    code = _killed_midway(lambda: Child.insert(rows), 0.3)
    assert code == -signal.SIGKILL  # killed while inserting, not after
    assert len(Child) == 0  # the transaction was rolled back
    Child.insert(rows)
    code = _killed_midway(lambda: (Parent & {"parent_id": 1}).delete(), 0.05)
    assert len(Child) in (0, n)  # the cascade is one transaction
    assert len(Child) == n if code == -signal.SIGKILL else len(Child) == 0
    assert len(Parent & {"parent_id": 1}) == (1 if len(Child) else 0)


def _kill_when_running(url: Any, marker: str, kill: str, timeout: float = 30) -> bool:
    """KILL QUERY (or CONNECTION) the statement containing ``marker`` once the server runs it."""
    killer = tj.Connection(url)
    try:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            rows = killer.query(
                "SELECT id FROM information_schema.processlist WHERE info LIKE %s AND id <> CONNECTION_ID()",
                [f"%{marker}%"],
            ).fetchall()
            if rows:
                killer.query(f"KILL {kill} {int(rows[0][0])}")
                return True
            time.sleep(0.005)
        return False
    finally:
        killer.close()


@pytest.mark.requires("supports_kill", "mysql_server", reason="KILL is a server statement")
@pytest.mark.parametrize("kill", ["QUERY", "CONNECTION"])
def test_server_kill_during_insert_and_delete(schema: tj.Schema, kill: str) -> None:
    Parent, Child = declare(schema)
    Parent.insert([{"parent_id": 1}])
    rows = [{"parent_id": 1, "child_id": i, "note": "x" * 20} for i in range(BATCH)]
    name = "`" + schema.name
    for action, marker, before in [
        (lambda: Child.insert(rows), f"INSERT INTO {name}", 0),
        (lambda: (Parent & {"parent_id": 1}).delete(), f"DELETE FROM {name}", BATCH),
    ]:
        ctx = multiprocessing.get_context("fork")
        queue = ctx.Queue()
        worker = ctx.Process(target=_run, args=(queue, action))
        worker.start()
        assert queue.get(timeout=60) == "started"
        killed = _kill_when_running(schema.connection.url, marker, kill)
        outcome = queue.get(timeout=60)
        worker.join(30)
        if killed and outcome != "done":
            assert isinstance(outcome, tj.TypedjError), repr(outcome)
            expected = tj.QueryInterruptedError if kill == "QUERY" else tj.ConnectionLostError
            assert isinstance(outcome, expected), repr(outcome)
            assert len(Child) == before  # nothing of the statement remains
            if before == 0:
                Child.insert(rows)
        else:
            assert len(Child) == BATCH - before


@pytest.fixture
def stoppable_s3(store_config: dict[str, Any]) -> Any:
    server_module = pytest.importorskip("moto.server")
    port = rig._free_port()
    server = server_module.ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    s3_store(store_config, f"http://127.0.0.1:{port}")
    yield server
    server.stop()


def test_stopped_s3_server_is_a_typed_error_and_writes_nothing(
    stoppable_s3: Any, schema: tj.Schema
) -> None:
    @schema
    class Trace(Manual):
        trace_id: Key[int]
        trace: Blob[np.ndarray] = External("raw")

    Trace.insert1({"trace_id": 1, "trace": np.arange(10.0)})
    stoppable_s3.stop()
    started = time.monotonic()
    with pytest.raises(tj.StoreError):
        Trace.insert1({"trace_id": 2, "trace": np.arange(20.0)})
    with pytest.raises(tj.FetchError, match=r"'trace'.*\{'trace_id': 1\}|\{'trace_id': 1\}.*'trace'"):
        Trace.fetch()
    assert Trace.fetch("trace_id") == [1]  # nothing of the failed insert
    assert time.monotonic() - started < 30


def _insert_with_small_disk(table: Any, value: Any, queue: Any) -> None:
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (64 * 1024, resource.RLIM_INFINITY))
    try:
        table.insert1({"trace_id": 1, "trace": value})
        queue.put("inserted")
    except BaseException as exc:
        queue.put(exc)


def test_full_disk_in_a_file_store_is_a_typed_error(
    store_config: dict[str, Any], tmp_path: Path, schema: tj.Schema
) -> None:
    root = file_store(store_config, tmp_path / "store")

    @schema
    class Trace(Manual):
        trace_id: Key[int]
        trace: Blob[np.ndarray] = External("raw")

    noise = np.random.default_rng(0).random(50_000)  # 400 kB: past the 64 kB file limit
    ctx = multiprocessing.get_context("fork")
    queue = ctx.Queue()
    worker = ctx.Process(target=_insert_with_small_disk, args=(Trace, noise, queue))
    worker.start()
    outcome = queue.get(timeout=60)
    worker.join(30)
    assert isinstance(outcome, tj.StoreError) and "File too large" in str(outcome), repr(outcome)
    assert len(Trace) == 0
    assert [p for p in root.rglob("*") if p.is_file()] == []  # no partial object left behind


def _insert_rows_with_small_disk(table: Any, limit: int, queue: Any) -> None:
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (limit, resource.RLIM_INFINITY))
    try:
        table.insert([{"row_id": i, "text": "x" * 1000} for i in range(1, 2000)])
        queue.put("inserted")
    except BaseException as exc:
        queue.put(exc)


def test_full_disk_under_the_embedded_database_is_a_typed_error(tmp_path: Path) -> None:
    """The SQLite file cannot grow: the insert is a typed error, nothing of it is written,
    and the database stays usable (its own file, so the shared test database is not at risk)."""
    conn = tj.Connection(tj.DatabaseURL.parse(f"sqlite:///{tmp_path / 'full.db'}"))
    schema = tj.Schema("full", connection=conn)

    @schema
    class Row(Manual):
        row_id: Key[int]
        text: str = Attr(max_length=1000)

    Row.insert1({"row_id": 0, "text": "first"})
    size = max(p.stat().st_size for p in tmp_path.glob("full.db*"))
    ctx = multiprocessing.get_context("fork")
    queue = ctx.Queue()
    worker = ctx.Process(target=_insert_rows_with_small_disk, args=(Row, size + 50_000, queue))
    worker.start()
    outcome = queue.get(timeout=60)
    worker.join(30)
    assert isinstance(outcome, tj.TypedjError) and "disk" in str(outcome), repr(outcome)
    assert Row.fetch("row_id") == [0]
    Row.insert1({"row_id": 1, "text": "after"})
    assert len(Row) == 2
    conn.close()
