"""Work that must survive: a connection killed in make(), a worker process killed with
SIGKILL in a parallel populate, concurrent inserts that deadlock. Real kills, no mocks."""

from __future__ import annotations

import multiprocessing
import os
import signal
from typing import Any

import pytest

import typedj as tj
from typedj import Computed, Key, Manual, Ref

KILL: dict[str, Any] = {"key": None}
"""The key whose make() kills its own worker process; forked workers inherit it."""


def declare(schema: tj.Schema) -> tuple[type[Manual], type[Computed]]:
    @schema
    class Source(Manual):
        source_id: Key[int]

    @schema
    class Square(Computed):
        source: Key[Ref[Source]]
        value: int

        def make(self, key: dict[str, Any]) -> None:
            self.insert1({**key, "value": key["source_id"] ** 2})
            if key["source_id"] == KILL["key"]:
                os.kill(os.getpid(), signal.SIGKILL)  # after its insert: nothing of it may remain

    return Source, Square


@pytest.mark.requires("supports_kill", "mysql_server", reason="KILL CONNECTION is a server statement")
@pytest.mark.parametrize("reserve_jobs", [False, True])
def test_connection_killed_in_make_is_retried(schema: tj.Schema, reserve_jobs: bool) -> None:
    conn = schema.connection
    killer = tj.Connection(conn.url)
    calls: list[int] = []

    @schema
    class Source(Manual):
        source_id: Key[int]

    @schema
    class Result(Computed):
        source: Key[Ref[Source]]
        value: int

        def make(self, key: dict[str, Any]) -> None:
            calls.append(key["source_id"])
            self.insert1({**key, "value": 1})
            if calls.count(key["source_id"]) == 1 and key["source_id"] == 2:
                killer.query(f"KILL CONNECTION {conn.connection_id}")  # mid-transaction

    Source.insert([{"source_id": i} for i in (1, 2, 3)])
    try:
        result = Result.populate(reserve_jobs=reserve_jobs)
    finally:
        killer.close()
    assert result.failed == [] and result.success_count == 3
    assert calls == [1, 2, 2, 3]  # the killed transaction was rolled back and made again
    assert sorted(Result.fetch("source_id")) == [1, 2, 3]
    if reserve_jobs:
        assert len(Result.jobs.errors) == 0  # type: ignore[attr-defined]


@pytest.mark.parametrize("reserve_jobs", [False, True])
def test_killed_worker_loses_one_key_not_the_run(schema: tj.Schema, reserve_jobs: bool) -> None:
    Source, Square = declare(schema)
    Source.insert([{"source_id": i} for i in range(12)])
    KILL["key"] = 5
    try:
        result = Square.populate(processes=4, suppress_errors=True, reserve_jobs=reserve_jobs)
    finally:
        KILL["key"] = None
    assert [f.key for f in result.failed] == [{"source_id": 5}]
    assert "WorkerLost" in result.failed[0].error and "signal 9" in result.failed[0].error
    assert sorted(Square.fetch("source_id")) == [i for i in range(12) if i != 5]
    assert all(v == i * i for i, v in zip(*Square.fetch("source_id", "value"), strict=True))
    if reserve_jobs:
        errors = Square.jobs.errors.to_dicts()  # type: ignore[attr-defined]
        assert [(e["source_id"], e["error_message"][:10]) for e in errors] == [(5, "WorkerLost")]
        assert Square.jobs.retry() == 1  # type: ignore[attr-defined]  # recoverable: run it again
    again = Square.populate(processes=2, reserve_jobs=reserve_jobs)
    assert again.succeeded == [{"source_id": 5}] and (Square & {"source_id": 5}).fetch1("value") == 25


def test_killed_worker_without_suppress_errors_is_a_populate_error(schema: tj.Schema) -> None:
    Source, Square = declare(schema)
    Source.insert([{"source_id": i} for i in range(6)])
    KILL["key"] = 0
    try:
        with pytest.raises(tj.PopulateError, match="WorkerLost") as info:
            Square.populate(processes=2)
    finally:
        KILL["key"] = None
    assert [f.key for f in info.value.result.failed] == [{"source_id": 0}]
    assert 0 not in Square.fetch("source_id")


def _insert_rounds(table: Any, reverse: bool, rounds: int, queue: Any, barrier: Any) -> None:
    try:
        for r in range(rounds):
            rows = [{"source_id": r * 1000 + i} for i in range(500)]
            barrier.wait(30)  # both start each round together: they meet in the middle
            table.insert(rows[::-1] if reverse else rows, skip_duplicates=True)
        queue.put("ok")
    except BaseException as exc:
        queue.put(f"{type(exc).__name__}: {exc}")


@pytest.mark.requires("supports_row_locks", reason="InnoDB's row locks; SQLite serializes writers")
def test_concurrent_skip_duplicates_inserts_survive_deadlocks(schema: tj.Schema) -> None:
    Source, _ = declare(schema)
    ctx = multiprocessing.get_context("fork")
    queue, barrier = ctx.Queue(), ctx.Barrier(2)
    workers = [
        ctx.Process(target=_insert_rounds, args=(Source, reverse, 15, queue, barrier))
        for reverse in (False, True)
    ]
    for w in workers:
        w.start()
    outcomes = [queue.get(timeout=120) for _ in workers]
    for w in workers:
        w.join(30)
    assert outcomes == ["ok", "ok"]
    assert len(Source) == 15 * 500
