"""The pipeline of bench_workers.py, importable by worker processes (dask imports it by name).

The schema name and the make's duration come from the environment, so every process,
forked or spawned, declares the same tables.
"""

from __future__ import annotations

import os
import time
from typing import Any

import typedj as tj
from typedj import Computed, Key, Manual, Ref

SCHEMA = os.environ.get("TYPEDJ_BENCH_WORKERS_SCHEMA", "bench_workers")
MAKE_SECONDS = float(os.environ.get("TYPEDJ_BENCH_WORKERS_MAKE", "0.005"))

schema = tj.Schema(SCHEMA)


@schema
class Source(Manual):
    source_id: Key[int]


@schema
class Made(Manual):
    """One row per committed make() call: a key made twice shows as two rows."""

    made_id: Key[int] = tj.Attr(auto_increment=True)
    source_id: int
    pid: int


@schema
class Result(Computed):
    source: Key[Ref[Source]]
    value: float

    def make(self, key: dict[str, Any]) -> None:
        time.sleep(MAKE_SECONDS)
        self.insert1({**key, "value": 1.0})
        Made.insert1({"source_id": key["source_id"], "pid": os.getpid()})  # in make's transaction
