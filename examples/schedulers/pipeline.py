"""A pipeline for the scheduler examples: recordings and a slow per-recording analysis.

Workers find the database through ``TYPEDJ_DATABASE_URL`` (the embedded ``typedj.db``
when unset) and the schema name through ``PIPELINE_SCHEMA``.
"""

from __future__ import annotations

import os
import time

import typedj as tj
from typedj import Computed, Key, Manual, Ref

schema = tj.Schema(os.environ.get("PIPELINE_SCHEMA", "scheduler_demo"))


@schema
class Recording(Manual):
    recording: Key[int]
    samples: int


@schema
class Analysis(Computed):
    """One slow computation per recording; MAKE_SECONDS sets how slow."""

    recording: Key[Ref[Recording]]
    total: int
    worker: int

    def make(self, key: tj.KeyOf[Analysis]) -> None:
        samples: int = (Recording & key).fetch1("samples")
        time.sleep(float(os.environ.get("MAKE_SECONDS", "0.05")))
        if samples < 0:
            raise ValueError(f"recording {key['recording']} has a negative sample count")
        self.insert1({**key, "total": sum(range(samples)), "worker": os.getpid()})
