"""The pipeline the web app's tests, browser tests and screenshots use."""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Literal

import numpy as np

import typedj as tj
from typedj import Attr, Blob, Computed, Key, Lookup, Manual, Part, Ref


@dataclass
class WebLab:
    Species: type
    Subject: type
    Session: type
    Analysis: type
    Rig: type


def declare_web(schema: tj.Schema) -> WebLab:
    @schema
    class Species(Lookup):
        """Species of experimental animals."""

        species: Key[str] = Attr(max_length=32)
        contents = [("mouse",), ("rat",)]

    @schema
    class Subject(Manual):
        """Experimental subjects."""

        subject_id: Key[int] = Attr(comment="subject id")
        species: Ref[Species]
        sex: Literal["M", "F", "U"] = "U"
        date_of_birth: date | None = None
        weight: Decimal = Attr(precision=5, scale=2, default=Decimal("20.00"))
        notes: str = Attr(default="", max_length=200, comment="free text")

    @schema
    class Session(Manual):
        """Recording sessions."""

        subject: Key[Ref[Subject]]
        session_id: Key[tj.int16]
        session_date: date
        operator: str = Attr(default="", max_length=80)
        signal: Blob[np.ndarray] | None = None
        frame: Blob[np.ndarray] | None = None
        protocol: tj.Attach | None = None

        class Trial(Part):
            trial_id: Key[int]
            outcome: Literal["hit", "miss"]

    @schema
    class Rig(Lookup):
        """Recording rigs and their settings."""

        rig: Key[str] = Attr(max_length=16)
        active: bool = True
        settings: dict[str, object] | None = None

    @schema
    class Analysis(Computed):
        """Mean of each session's signal."""

        session: Key[Ref[Session]]
        mean: float

        def make(self, key: dict[str, object]) -> None:
            operator = (Session & key).fetch1("operator")
            if operator == "fails":
                raise RuntimeError(f"cannot analyse the session of <b>{operator}</b>")
            signal = (Session & key).fetch1("signal")
            self.insert1({**key, "mean": float(np.mean(signal)) if signal is not None else 0.0})

    return WebLab(Species, Subject, Session, Analysis, Rig)


def fill(lab: WebLab, subjects: int = 3) -> None:
    """A few subjects with sessions (one whose analysis fails) and trials."""
    protocol = Path(tempfile.mkdtemp(prefix="typedj-web-test-")) / "protocol.txt"
    protocol.write_text("1. record\n2. <b>analyse</b>\n")
    lab.Subject.insert(
        [
            {
                "subject_id": i,
                "species": "mouse" if i % 2 else "rat",
                "sex": "MF"[i % 2],
                "date_of_birth": date(2024, 1, i),
                "notes": f"subject {i}",
            }
            for i in range(1, subjects + 1)
        ]
    )
    lab.Session.insert(
        [
            {
                "subject_id": 1,
                "session_id": 1,
                "session_date": date(2024, 5, 1),
                "operator": "ana",
                "signal": np.sin(np.linspace(0, 12, 400)),
                "frame": np.outer(np.arange(32), np.arange(48)).astype(float),
                "protocol": protocol,
            },
            {"subject_id": 1, "session_id": 2, "session_date": date(2024, 5, 2), "operator": "fails"},
            {
                "subject_id": 2,
                "session_id": 1,
                "session_date": date(2024, 5, 3),
                "operator": "ben",
                "signal": np.arange(10.0),
            },
        ]
    )
    lab.Session.Trial.insert(
        [
            {"subject_id": 1, "session_id": 1, "trial_id": t, "outcome": "hit" if t % 3 else "miss"}
            for t in range(1, 6)
        ]
    )
