"""The plugin-free idiom: inherited columns declared ``= Link(Parent)`` and class-level columns.

Checked by mypy --strict (without and with the plugin) and pyright --strict; the marked
lines are errors in all three, every other line is clean. The run-time twin is
``tests/test_columns.py``.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Literal

import typedj as tj
from typedj import Attr, Key, Link, Lookup, Manual

schema = tj.Schema("typing_columns")


@schema
class Species(Lookup):
    species: Key[str] = Attr(max_length=32)


@schema
class Subject(Manual):
    subject: Key[str] = Attr(max_length=16)
    species: str = Link(Species)
    sex: Literal["M", "F", "U"] = "U"
    weight: Decimal = Attr(precision=5, scale=2, default=Decimal("20.00"))


@schema
class Session(Manual):
    subject: Key[str] = Link(Subject)
    session_id: Key[int]
    session_date: date


@schema
class Scan(Manual):
    subject: Key[str] = Link(Session)
    session_id: Key[int] = Link(Session)
    scan_id: Key[int]
    depth: float = 0.0


@schema
class Cell(Manual):
    cell_id: Key[int]


@schema
class Synapse(Manual):
    pre_cell_id: Key[int] = Link(Cell, "cell_id")
    post_cell_id: Key[int] = Link(Cell, "cell_id")
    strength: float


# rows and constructors: every column, declared or inherited, typed
Session.insert1(subject="S1", session_id=1, session_date=date(2024, 1, 2))
Scan.insert1(Scan(subject="S1", session_id=1, scan_id=1))
Synapse.insert1(pre_cell_id=1, post_cell_id=2, strength=0.5)
scan = Scan.fetch1()
who: str = scan.subject
which: int = scan.session_id
pre: int = Synapse.fetch1().pre_cell_id

# class-level columns in queries, mixed with the string forms
mice = Subject & (Subject.species == "mouse")
heavy_females = Subject & ((Subject.weight > 25) & (Subject.sex == "F")) & "species != 'rat'"
either = Subject & ((Subject.sex == "M") | (Subject.sex == "F"))
dated = Session.proj(Session.session_date)
renamed = Session.proj(when=Session.session_date)
per_subject = Subject.aggr(Session, Subject.sex, n="count(*)")
ordered = Subject.fetch(order_by=tj.desc(Subject.weight))
ordered_too = Subject.fetch(order_by=[Subject.species, tj.col(Subject.weight).desc()])
first_two = Subject & tj.Top(2, order_by=tj.desc(Subject.weight))
rats = Subject & tj.col(Subject.species).in_(["rat"])
deep = Scan & (Scan.depth >= 100.0) & (Scan.subject == "S1")
rows: list[Subject] = mice.fetch()

# mistakes caught by mypy and pyright alike, without a plugin
Session.insert1(subject="S1", session_id="one", session_date=date(2024, 1, 2))  # E: call-overload
Scan(subject="S1", sesion_id=1, scan_id=1)  # E: call-arg
bad_row: str = scan.session_id  # E: assignment
typo = Subject & (Subject.wieght > 25)  # E: attr-defined
wrong_value = Subject & (Subject.weight > "heavy")  # E: operator
wrong_enum = Subject & (Subject.sex == 3)  # E: comparison-overlap
bad_proj = Session.proj(Session.sesion_date)  # E: attr-defined
bad_order = Subject.fetch(order_by=tj.desc(Subject.wieght))  # E: attr-defined
bad_in = Subject & tj.col(Subject.species).in_([1, 2])  # E: list-item
bad_synapse = Synapse.fetch1().pre_cell  # E: attr-defined
