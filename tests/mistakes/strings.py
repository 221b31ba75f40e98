"""The mistakes corpus, string idiom: references by ``Ref``, attribute names in strings.

Each mistake ``# Mnn`` has a correct twin ``# OKnn``; a checker catches a mistake when it
reports its line and not its twin's. Counted by ``tests/test_mistakes.py``; the table is
in docs/typechecking.md.
"""

# ruff: noqa: F841
from __future__ import annotations

from datetime import date
from typing import Literal

import typedj as tj
from typedj import Attr, Computed, Key, Link, Lookup, Manual, Ref

schema = tj.Schema("mistakes_strings")


@schema
class Species(Lookup):
    species: Key[str] = Attr(max_length=32)


@schema
class Subject(Manual):
    subject_id: Key[int]
    species: Ref[Species]
    sex: Literal["M", "F", "U"] = "U"
    date_of_birth: date | None = None
    weight: float = 0.0
    notes: str = ""


@schema
class Session(Manual):
    subject: Key[Ref[Subject]]
    session_id: Key[int]
    session_date: date


@schema
class Note(Manual):
    note_id: Key[int]
    notes: str


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
class Trace(Computed):
    session: Key[Ref[Session]]
    n_samples: int

    def make(self, key: tj.KeyOf[Session]) -> None:
        self.insert1({**key, "n_samples": 3})  # OK33
        self.insert1({**key, "n_sample": 3})  # M33
        a = key["session_id"]  # OK34
        b = key["sesion_id"]  # M34
        c: int = key["session_id"]  # OK39
        d: str = key["session_id"]  # M39


def females(q: tj.Query[Subject]) -> None:
    a = q & {"sex": "F"}  # OK40
    b = q & {"sexx": "F"}  # M40


row = Subject.fetch1()
summary = Subject.aggr(Session, n="count(*)")

ok01 = Subject & {"subject_id": 1}  # OK01
m01 = Subject & {"subjct_id": 1}  # M01
ok02 = Subject & {"subject_id": 2}  # OK02
m02 = Subject & {"subject_id": "two"}  # M02
ok03 = Subject & {"sex": "F"}  # OK03
m03 = Subject & {"sex": "X"}  # M03
ok04 = Subject & "weight > 10"  # OK04
m04 = Subject & "wieght > 10"  # M04
ok05 = Subject & "weight > 10.5"  # OK05
m05 = Subject & "weight > 'heavy'"  # M05
ok06 = Subject - {"sex": "M"}  # OK06
m06 = Subject - {"sexx": "M"}  # M06
ok07 = Session & {"session_date": date(2024, 1, 2)}  # OK07
m07 = Session & {"session_date": 20240102}  # M07
ok08 = Subject & tj.Not({"sex": "M"})  # OK08
m08 = Subject & tj.Not({"sexx": "M"})  # M08
ok09 = Subject.proj("sex")  # OK09
m09 = Subject.proj("sexx")  # M09
ok10 = Subject.proj(born="date_of_birth")  # OK10
m10 = Subject.proj(born="date_of_brth")  # M10
ok11 = Subject.proj(..., "-notes")  # OK11
m11 = Subject.proj(..., "-subject_id")  # M11
ok12 = Subject.proj(kg="weight / 1000")  # OK12
m12 = Subject.proj(kg="wieght / 1000")  # M12
ok13 = Subject.aggr(Session, "sex", n="count(*)")  # OK13
m13 = Subject.aggr(Session, "sexx", n="count(*)")  # M13
ok14 = Subject.aggr(Session, last="max(session_date)")  # OK14
m14 = Subject.aggr(Session, last="max(sesion_date)")  # M14
ok15 = Subject.aggr(Session, n="count(*)")  # OK15
m15 = Session.aggr(Subject, n="count(*)")  # M15
ok16 = Subject.fetch("sex")  # OK16
m16 = Subject.fetch("sexx")  # M16
ok17 = (Subject & {"subject_id": 1}).fetch1("date_of_birth")  # OK17
m17 = (Subject & {"subject_id": 1}).fetch1("dob")  # M17
ok18 = Subject.fetch(order_by="date_of_birth DESC")  # OK18
m18 = Subject.fetch(order_by="dob DESC")  # M18
ok19 = Subject.to_dicts(order_by="weight")  # OK19
m19 = Subject.to_dicts(order_by="weigth")  # M19
ok20 = Subject & tj.Top(3, order_by="weight DESC")  # OK20
m20 = Subject & tj.Top(3, order_by="wieght DESC")  # M20
ok21 = tj.U("species").aggr(Subject, n="count(*)")  # OK21
m21 = tj.U("specie").aggr(Subject, n="count(*)")  # M21
ok22 = tj.U("session_date") & Session  # OK22
m22 = tj.U("sex") & Session  # M22
ok23 = Subject * Session  # OK23
m23 = Subject * Note  # M23
ok24 = Subject + Subject  # OK24
m24 = Subject + Session  # M24
ok25 = Session.join(Subject, left=True)  # OK25
m25 = Subject.join(Session, left=True)  # M25
ok26 = Subject(subject_id=1, species="mouse")  # OK26
m26 = Subject(subject_id=1, speces="mouse")  # M26
ok27 = Subject(subject_id=2, species="mouse")  # OK27
m27 = Subject(subject_id="2", species="mouse")  # M27
Subject.insert1(subject_id=1, species="mouse")  # OK28
Subject.insert1(subject_id=1, speces="mouse")  # M28
Session.insert1(subject=1, session_id=1, session_date=date(2024, 1, 2))  # OK29
Session.insert1(subject=1, session_id="one", session_date=date(2024, 1, 2))  # M29
Subject.insert1({"subject_id": 1, "species": "mouse"})  # OK30
Subject.insert1({"subject_id": 1, "speces": "mouse"})  # M30
Subject.insert1({"subject_id": 3, "species": "mouse"})  # OK31
Subject.insert1({"subject_id": "x", "species": "mouse"})  # M31
Subject.insert([{"subject_id": 1, "species": "rat"}])  # OK32
Subject.insert([{"subject_id": 1, "speces": "rat"}])  # M32
ok35 = row.date_of_birth  # OK35
m35 = row.dat_of_birth  # M35
n: str = row.sex  # OK36
m: int = row.sex  # M36
ok37 = Synapse & {"pre_cell_id": 1}  # OK37
m37 = Synapse & {"cell_id": 1}  # M37
ok38 = summary.fetch1()["n"]  # OK38
m38 = summary.fetch1()["cnt"]  # M38
