"""``make(self, key: tj.KeyOf[T])``: with the plugin, ``key[...]`` is checked against T's key."""

from __future__ import annotations

import numpy as np

import typedj as tj
from typedj import Blob, Computed, Key, Part, Ref

from .pipeline import Cell, Session, Synapse, schema


@schema
class Activity(Computed):
    session: Key[Ref[Session]]
    total: float

    class Trial(Part):
        trial_id: Key[int]
        trace: Blob[np.ndarray]

    def make(self, key: tj.KeyOf[Session]) -> None:
        session_id: int = key["session_id"]
        subject_id: int = key["subject_id"]
        (Session & key).fetch1()
        self.insert1({**key, "total": float(session_id + subject_id)})
        key["session_idd"]  # E: typedj-attr The key of Session has no attribute "session_idd" (subscript)
        key["session_date"]  # E: typedj-attr The key of Session has no attribute "session_date"
        print(key["session_id"] + "")  # E: operator


def trial(key: tj.KeyOf[Activity.Trial]) -> int:
    """A part's key starts with its master's."""
    total: int = key["subject_id"] + key["session_id"] + key["trial_id"]
    return total


def synapse(key: tj.KeyOf[Synapse]) -> int:
    """Renamed links keep their new names."""
    key["cell_id"]  # E: typedj-attr did you mean "pre_cell_id"?
    total: int = key["pre_cell_id"] + key["post_cell_id"] + len(Cell & {"cell_id": key["pre_cell_id"]})
    return total
