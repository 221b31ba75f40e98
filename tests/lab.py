"""A small lab pipeline used by the foundation tests, declared into a given schema."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Literal
from uuid import UUID

import numpy as np

import typedj as tj
from typedj import Attr, Blob, Computed, Key, Link, Lookup, Manual, Part, Ref


@dataclass
class Lab:
    Species: type
    Subject: type
    Session: type
    Cell: type
    Synapse: type
    Device: type
    Note: type
    Spikes: type
    Config: type


def declare_lab(schema: tj.Schema) -> Lab:
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
        notes: str = Attr(default="", max_length=1024, comment="free text")
        indexes = [tj.Index("sex", "weight")]

    @schema
    class Session(Manual):
        subject: Key[Ref[Subject]]
        session_id: Key[tj.int16]
        session_date: date
        started: datetime = Attr(precision=3, default=tj.CURRENT_TIMESTAMP)

    @schema
    class Cell(Manual):
        cell_id: Key[int]
        depth: tj.float32 = 0.0

    @schema
    class Synapse(Manual):
        """A connection between two cells."""

        pre: Key[Ref[Cell]] = Link(rename={"cell_id": "pre_cell"})
        post: Key[Ref[Cell]] = Link(rename={"cell_id": "post_cell"})
        weight: float

    @schema
    class Device(Manual):
        device_id: Key[tj.uint8]
        serial: UUID
        active: bool = True
        settings: dict[str, object] | None = None
        firmware: bytes | None = None
        owner: Ref[Subject] | None = None

    @schema
    class Note(Manual):
        """A table without a primary key attribute."""

        text: str = Attr(max_length=200)

    @schema
    class Spikes(Computed):
        session: Key[Ref[Session]]
        n_units: int

        class Unit(Part):
            unit_id: Key[int]
            waveform: Blob[np.ndarray] | None = None

    @schema
    class Config(Lookup):
        config_id: Key[int] = Attr(auto_increment=True)
        name: str = Attr(max_length=64)
        indexes = [tj.Index("name", unique=True)]

    return Lab(Species, Subject, Session, Cell, Synapse, Device, Note, Spikes, Config)
