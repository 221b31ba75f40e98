"""``self.insert1(...)`` with keywords inside ``make``: needs the plugin under mypy."""

from __future__ import annotations

from typing import Any

from typedj import Computed, Key, Ref

from .pipeline import Session, schema


@schema
class Summary(Computed):
    session: Key[Ref[Session]]
    n_trials: int

    def make(self, key: dict[str, Any]) -> None:
        self.insert1(session=key, n_trials=3)
        self.insert1(session=key, n_trial=3)  # E: call-overload
