"""``self.insert1(...)`` with keywords inside ``make``: needs the plugin under mypy."""

from __future__ import annotations

from typing import Any

from typedj import Computed, Key, Manual, Ref

from .pipeline import Session, schema


@schema
class Summary(Computed):
    session: Key[Ref[Session]]
    n_trials: int

    def make(self, key: dict[str, Any]) -> None:
        self.insert1(session=key, n_trials=3)
        self.insert1(session=key, n_trial=3)  # E: call-overload


def load(table: type[Manual], rows: list[dict[str, Any]]) -> None:
    """Any table: its constructor (so insert1) takes any attributes."""
    for row in rows:
        table.insert1(**row)
    table.insert1(trace_id=1, rate=30.0)
