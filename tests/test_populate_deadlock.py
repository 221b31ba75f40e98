"""A make() chosen by InnoDB as a deadlock victim is retried, not recorded as an error."""

from __future__ import annotations

import threading
from typing import Any

import pytest

import typedj as tj
from typedj import Computed, Key, Manual, Ref


@pytest.mark.requires("supports_row_locks", "mysql_server", reason="InnoDB's deadlock detection")
@pytest.mark.parametrize("reserve_jobs", [False, True])
def test_deadlock_victim_is_retried(schema: tj.Schema, mysql_url: str, reserve_jobs: bool) -> None:
    conn = schema.connection
    locks = conn.dialect.table(schema.name, "locks")
    conn.query(f"CREATE TABLE {locks} (id int PRIMARY KEY, v int) ENGINE=InnoDB")
    conn.query(f"INSERT INTO {locks} VALUES (1, 0), (2, 0)" + "".join(f", ({i}, 0)" for i in range(3, 200)))
    other = tj.Connection(mysql_url)
    holds_row_2 = threading.Event()

    def rival() -> None:
        # Heavier than the make (it changes many rows), so InnoDB picks the make as the victim.
        with other.transaction():
            other.query(f"UPDATE {locks} SET v = v + 1 WHERE id >= 3")
            other.query(f"SELECT v FROM {locks} WHERE id = 2 FOR UPDATE")
            holds_row_2.set()
            other.query(f"SELECT v FROM {locks} WHERE id = 1 FOR UPDATE")

    @schema
    class Source(Manual):
        source_id: Key[int]

    @schema
    class Result(Computed):
        source: Key[Ref[Source]]
        value: int

        calls = []  # type: ignore[var-annotated]  # not annotated: not an attribute

        def make(self, key: dict[str, Any]) -> None:
            Result.calls.append(key["source_id"])
            conn.query(f"SELECT v FROM {locks} WHERE id = 1 FOR UPDATE")
            if len(Result.calls) == 1:
                thread = threading.Thread(target=rival)
                thread.start()
                assert holds_row_2.wait(10)
                try:
                    conn.query(f"SELECT v FROM {locks} WHERE id = 2 FOR UPDATE")  # the deadlock
                finally:
                    Result.thread = thread  # type: ignore[attr-defined]
            self.insert1({**key, "value": len(Result.calls)})

    Source.insert1({"source_id": 1})
    Result.calls = []
    result = Result.populate(reserve_jobs=reserve_jobs)
    Result.thread.join(10)  # type: ignore[attr-defined]
    other.close()
    assert result.failed == [] and result.success_count == 1
    assert Result.calls == [1, 1]  # the victim's transaction was rolled back and made again
    assert Result.fetch1("value") == 2
    if reserve_jobs:
        assert len(Result.jobs.query) == 0  # type: ignore[attr-defined]
