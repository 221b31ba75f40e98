"""A small pipeline whose completions the editor test asks for (see test_completion.py)."""

import typedj as tj
from typedj import Computed, Key, Link, Manual

schema = tj.Schema("completion")


@schema
class Subject(Manual):
    subject_id: Key[int]
    species: str


@schema
class Session(Manual):
    subject_id: Key[int] = Link(Subject)
    session_idx: Key[int]
    note: str = ""


@schema
class Summary(Computed):
    subject_id: Key[int] = Link(Session)
    session_idx: Key[int] = Link(Session)
    total: float

    def make(self, key: tj.KeyOf["Summary"]) -> None:
        self.insert1({**key, "total": 0.0})


row = Session.fetch1()
made = Summary.fetch1()
