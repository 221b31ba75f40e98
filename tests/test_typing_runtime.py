"""Runtime twins of the plugin's static errors: the same mistake, the same attribute named.

Each case repeats a line of ``typing_snippets/plugin_checks.py`` (or the cross-module
snippet) against a real schema and checks the runtime error and its ``attribute``.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from types import SimpleNamespace
from typing import Any, Literal

import numpy as np
import pytest

import typedj as tj
from typedj import Attr, Key, Link, Lookup, Manual, Ref

pytestmark = pytest.mark.filterwarnings("ignore::typedj.DeclarationPendingWarning")  # Session waits for Rig


@pytest.fixture
def lab(schema: tj.Schema) -> SimpleNamespace:
    @schema
    class Species(Lookup):
        species: Key[str] = Attr(max_length=32)
        contents = [("mouse",), ("rat",)]

    @schema
    class Subject(Manual):
        subject_id: Key[int]
        species: Ref[Species]
        sex: Literal["M", "F", "U"] = "U"
        date_of_birth: date | None = None
        notes: str = Attr(default="", max_length=1024)

    @schema
    class Session(Manual):
        subject: Key[Ref[Subject]]
        session_id: Key[tj.int16]
        rig: Ref[Rig] = Link(rename={"rig_id": "rig"})
        session_date: date

    @schema
    class Rig(Manual):
        rig_id: Key[str] = Attr(max_length=8)
        room: str

    @schema
    class Note(Manual):
        note_id: Key[int]
        notes: str

    @schema
    class Probe(Manual):
        subject_id: Key[str] = Attr(max_length=16)
        channels: int

    Subject.insert1(subject_id=1, species="mouse", sex="M")
    Rig.insert1(rig_id="A", room="1")
    Session.insert1(subject=1, session_id=1, rig="A", session_date=date(2024, 1, 2))
    return SimpleNamespace(Subject=Subject, Session=Session, Rig=Rig, Note=Note, Probe=Probe)


Case = tuple[str, Callable[[Any], Any], type[Exception], str]
Unknown = tj.UnknownAttributeError

CASES: list[Case] = [
    ("restriction key", lambda L: (L.Subject & {"subjct_id": 1}).fetch(), Unknown, "subjct_id"),
    ("restriction by dict()", lambda L: (L.Session & dict(session_idd=1)).fetch(), Unknown,
     "session_idd"),
    ("restriction list", lambda L: (L.Subject - [{"subject_id": 1}, {"speces": "rat"}]).fetch(),
     Unknown, "speces"),
    ("restriction Not", lambda L: (L.Subject & tj.Not({"sexx": "M"})).fetch(), Unknown, "sexx"),
    ("renamed reference", lambda L: (L.Session & {"rig_id": "A"}).fetch(), Unknown, "rig_id"),
    ("proj name", lambda L: L.Subject.proj("sexx"), Unknown, "sexx"),
    ("proj rename", lambda L: L.Subject.proj(born="date_of_brith"), Unknown, "date_of_brith"),
    ("proj exclusion", lambda L: L.Subject.proj(..., "-note"), Unknown, "note"),
    ("proj drops key", lambda L: L.Subject.proj(..., "-subject_id"), tj.QueryError, ""),
    ("derived restriction", lambda L: (L.Subject.proj("sex", born="date_of_birth") & {"notes": ""}).fetch(),
     Unknown, "notes"),
    ("aggr kept name", lambda L: L.Subject.aggr(L.Session, "sexx", n="count(*)"), Unknown,
     "sexx"),
    ("aggr source", lambda L: L.Subject.aggr(L.Session, first="session_dat"), Unknown,
     "session_dat"),
    ("fetch name", lambda L: L.Subject.fetch("sexx"), Unknown, "sexx"),
    ("order_by", lambda L: L.Subject.fetch(order_by="subject_idd DESC"), Unknown,
     "subject_idd"),
    ("order_by list", lambda L: L.Subject.to_dicts(order_by=["sex", "dob"]), Unknown, "dob"),
    ("fetch1 name", lambda L: L.Subject.fetch1("date_of_brth"), Unknown, "date_of_brth"),
    ("fetch1 of a join", lambda L: (L.Subject * L.Session).fetch1("session"), Unknown,
     "session"),
    ("U aggr", lambda L: tj.U("specie").aggr(L.Subject, n="count(*)"), Unknown, "specie"),
    ("U restrict", lambda L: tj.U("sexes") & L.Subject, Unknown, "sexes"),
    ("U promote", lambda L: L.Session * tj.U("date"), Unknown, "date"),
    ("join, secondary", lambda L: L.Subject * L.Note, tj.QueryError, "notes"),
    ("join, other origin", lambda L: L.Subject * L.Probe, tj.QueryError, "subject_id"),
    ("semijoin", lambda L: (L.Subject & L.Probe).fetch(), tj.QueryError, "subject_id"),
    ("left join", lambda L: L.Subject.join(L.Session, left=True), tj.QueryError, ""),
    ("union keys", lambda L: L.Subject + L.Session, tj.QueryError, ""),
]


@pytest.mark.parametrize(("what", "mistake", "error", "attribute"), CASES, ids=[c[0] for c in CASES])
def test_runtime_twin(lab: SimpleNamespace, what: str, mistake: Callable[[Any], Any],
                      error: type[Exception], attribute: str) -> None:
    with pytest.raises(error) as raised:
        mistake(lab)
    assert isinstance(raised.value, tj.TypedjError)
    if attribute:
        assert raised.value.attribute == attribute
        assert attribute in str(raised.value)


def test_the_passing_cases_run(lab: SimpleNamespace) -> None:
    S, Se = lab.Subject, lab.Session
    assert (S & {"subject_id": 1, "sex": "M"}).fetch1().subject_id == 1
    rows = S.proj("sex", born="date_of_birth").fetch()
    assert rows == [{"subject_id": 1, "sex": "M", "born": None}]
    assert S.aggr(Se, n="count(*)").fetch1("n") == 1
    assert tj.U("species").aggr(S, n="count(*)").to_dicts() == [{"species": "mouse", "n": 1}]
    assert (S * lab.Probe.proj(probe_subject="subject_id")).to_dicts() == []
    assert (Se & {"subject_id": 1, "rig": "A"}).fetch1("rig") == "A"
    assert len(Se * lab.Rig.proj(rig="rig_id")) == 1
    assert Se.join(S, left=True).fetch1("species") == "mouse"
    assert len(Se & {"session_date": "2024-01-02"}) == 1  # text for a date, as the plugin allows
    assert len(Se & {"session_id": np.int16(1), "subject_id": np.int64(1)}) == 1
    both = ((S & {"sex": "M"}) + (S & {"sex": "F"})).fetch()
    assert [type(r) for r in both] == [S]
    assert (S.proj("sex") + S.proj(sex="notes")).to_dicts() == [{"subject_id": 1, "sex": "M"}]
