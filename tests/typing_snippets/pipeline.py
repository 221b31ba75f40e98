"""A small pipeline used by the typing tests: type-checked, never imported."""

from __future__ import annotations

from datetime import date
from typing import Any, Literal

import numpy as np

import typedj as tj
from typedj import Attr, Blob, Computed, Imported, Key, Link, Lookup, Manual, Part, Ref

schema = tj.Schema("typing_snippets")


@schema
class Species(Lookup):
    """Species of experimental animals."""

    species: Key[str] = Attr(max_length=32)
    contents = [("mouse",), ("rat",)]


@schema
class Subject(Manual):
    subject_id: Key[int]
    species: Ref[Species]
    sex: Literal["M", "F", "U"] = "U"
    date_of_birth: date | None = None
    notes: str = Attr(default="", max_length=1024, comment="free text")


@schema
class Session(Manual):
    subject: Key[Ref[Subject]]
    session_id: Key[tj.int16]
    session_date: date


@schema
class Trace(Imported):
    session: Key[Ref[Session]]
    rate: float
    trace: Blob[np.ndarray]

    def make(self, key: dict[str, Any]) -> None:
        self.insert1({**key, "rate": 30.0, "trace": np.zeros(3)})


@schema
class Spikes(Computed):
    trace: Key[Ref[Trace]]
    n_units: int

    class Unit(Part):
        unit_id: Key[int]
        waveform: Blob[np.ndarray]

    def make(self, key: dict[str, Any]) -> None:
        rate = (Trace & key).fetch1("rate")
        self.insert1({**key, "n_units": int(rate)})
        Spikes.Unit.insert1({**key, "unit_id": 1, "waveform": np.zeros(4)})


@schema
class Cell(Manual):
    cell_id: Key[int]
    depth: float


@schema
class Synapse(Manual):
    pre: Key[Ref[Cell]] = Link(rename={"cell_id": "pre_cell_id"})
    post: Key[Ref[Cell]] = Link(rename={"cell_id": "post_cell_id"})
    strength: float


@schema
class Note(Manual):
    """Shares the secondary attribute name ``notes`` with Subject."""

    note_id: Key[int]
    notes: str


@schema
class Probe(Manual):
    """Its ``subject_id`` is a different thing (a string) from Subject's."""

    subject_id: Key[str] = Attr(max_length=16)
    channels: int
