"""Tables declared inside a function (as tests do): parts find their master all the same."""

from __future__ import annotations

from typing import Any

import numpy as np

import typedj as tj
from typedj import Blob, Computed, Key, Manual, Part, Ref


def declare(schema: tj.Schema) -> None:
    @schema
    class Subject(Manual):
        subject_id: Key[int]
        name: str

    @schema
    class Spikes(Computed):
        subject: Key[Ref[Subject]]
        n: int

        class Unit(Part):
            unit_id: Key[int]
            waveform: Blob[np.ndarray]

        def make(self, key: dict[str, Any]) -> None:
            self.insert1({**key, "n": 1})
            self.Unit.insert1({**key, "unit_id": 1, "waveform": np.zeros(2)})
            print((self & {"subject_id": 1}).fetch1().n)

    units = Spikes.Unit & {"subject_id": 1, "unit_id": 2}
    wrong = Spikes.Unit & {"subject_idd": 1}  # E: typedj-attr Unit has no attribute "subject_idd"
    names = [r["name"] for r in (Subject * Spikes).proj("name").fetch()]
    print(units, wrong, names)
