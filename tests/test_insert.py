"""Inserts: every input form, validation that names row and attribute, all-or-nothing batches."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from uuid import UUID, uuid4

import numpy as np
import pandas as pd
import pytest

import typedj as tj
from tests.lab import Lab, declare_lab


@pytest.fixture
def lab(schema: tj.Schema) -> Lab:
    return declare_lab(schema)


def test_insert_forms_and_read_back(lab: Lab) -> None:
    S = lab.Subject
    S.insert1({"subject_id": 1, "species": "mouse", "sex": "F", "date_of_birth": date(2024, 1, 2)})
    S.insert1(S(subject_id=2, species="rat"))
    S.insert1(subject_id=3, species="mouse", weight=Decimal("25.5"))
    S.insert([(4, "rat", "M", None, Decimal("21.00"), "tuple row")])
    S.insert(pd.DataFrame({"subject_id": [5, 6], "species": ["mouse", "rat"]}).set_index("subject_id"))
    records = np.array([(7, "mouse"), (8, "rat")], dtype=[("subject_id", "i8"), ("species", "U8")])
    S.insert(records)
    S.insert1({"subject_id": np.int64(9), "species": "rat", "weight": np.float64(30.25)})
    assert len(S) == 9
    rows = {r.subject_id: r for r in S.fetch()}
    assert isinstance(rows[1], S)
    assert rows[1].date_of_birth == date(2024, 1, 2) and rows[1].sex == "F"
    assert rows[2].sex == "U" and rows[2].weight == Decimal("20.00") and rows[2].notes == ""
    assert rows[3].weight == Decimal("25.50")
    assert rows[4].notes == "tuple row" and rows[4].sex == "M"
    assert rows[6].species == "rat"  # a reference named like its one column is that column
    assert rows[8].__dict__["species"] == "rat"
    assert rows[9].weight == Decimal("30.25")
    assert S.keys(order_by="KEY")[:2] == [{"subject_id": 1}, {"subject_id": 2}]
    assert (S & {"subject_id": 1}).to_dicts() == [
        {"subject_id": 1, "species": "mouse", "sex": "F", "date_of_birth": date(2024, 1, 2),
         "weight": Decimal("20.00"), "notes": ""}
    ]


def test_refs_accept_rows_mappings_and_scalars(lab: Lab) -> None:
    lab.Subject.insert1({"subject_id": 1, "species": "mouse"})
    subject = lab.Subject.fetch1()
    assert subject.species == "mouse"  # a reference named like its one column is that column
    lab.Session.insert1(lab.Session(subject=subject, session_id=1, session_date=date(2024, 5, 1)))
    lab.Session.insert1({"subject": {"subject_id": 1}, "session_id": 2, "session_date": "2024-05-02"})
    lab.Session.insert1({"subject": 1, "session_id": 3, "session_date": date(2024, 5, 3)})
    sessions = lab.Session.fetch()
    assert [s.session_id for s in sessions] == [1, 2, 3]
    assert sessions[0].subject == {"subject_id": 1}
    assert isinstance(sessions[0].started, datetime)  # CURRENT_TIMESTAMP default
    lab.Cell.insert([{"cell_id": 1}, {"cell_id": 2, "depth": 1.5}])
    lab.Synapse.insert1({"pre": {"cell_id": 1}, "post": 2, "weight": 0.25})
    syn = lab.Synapse.fetch1()
    assert (syn.pre_cell, syn.post_cell) == (1, 2)
    assert syn.pre == {"cell_id": 1} and syn.post == {"cell_id": 2}


def test_types_round_trip(lab: Lab) -> None:
    serial = uuid4()
    lab.Subject.insert1({"subject_id": 1, "species": "mouse"})
    lab.Device.insert([
        {"device_id": 255, "serial": serial, "active": False, "settings": {"gain": 2, "ch": [1, 2]},
         "firmware": b"\x00\x01\xff", "subject_id": 1},
        {"device_id": 0, "serial": str(UUID(int=5))},
    ])
    a, b = lab.Device.fetch(order_by="device_id DESC")
    assert a.device_id == 255 and a.serial == serial and a.active is False
    assert a.settings == {"gain": 2, "ch": [1, 2]} and a.firmware == b"\x00\x01\xff"
    assert a.owner == {"subject_id": 1}
    assert b.serial == UUID(int=5) and b.active is True and b.settings is None and b.subject_id is None
    assert (lab.Device & {"serial": serial}).fetch1("device_id") == 255
    lab.Cell.insert1({"cell_id": 1, "depth": 0.1})
    assert lab.Cell.fetch1("depth") == pytest.approx(0.1, rel=1e-6)  # float32


def test_validation_lists_every_problem_and_writes_nothing(lab: Lab) -> None:
    lab.Subject.insert1({"subject_id": 1, "species": "mouse"})
    bad = [
        {"subject_id": 2, "species": "rat"},                      # fine
        {"subject_id": "two", "species": "rat"},                  # not an int
        {"subject_id": 3, "species": "rat", "sex": "X"},         # not in the enum
        {"subject_id": 4, "species": "rat", "colour": "blue"},   # unknown attribute
        {"species": "rat"},                                       # key missing
        {"subject_id": 2**40, "species": "rat"},                  # out of int32 range
        {"subject_id": 5, "species": "rat", "notes": "x" * 2000},  # too long
        {"subject_id": 6, "species": "rat", "weight": Decimal("1234.5")},  # too many digits
    ]
    with pytest.raises(tj.ValidationError) as info:
        lab.Subject.insert(bad)
    err = info.value
    assert err.table == "Subject"
    where = {(p.row, p.attribute) for p in err.problems}
    assert where == {(1, "subject_id"), (2, "sex"), (3, "colour"), (4, "subject_id"), (5, "subject_id"),
                     (6, "notes"), (7, "weight")}
    text = str(err)
    assert "Subject: 7 row(s) refused, nothing was written" in text
    assert "row 2, attribute 'sex': expected enum('M','F','U')" in text and "got 'X'" in text
    assert "row 3, attribute 'colour': unknown attribute" in text
    assert "row 4, attribute 'subject_id': missing (required int32)" in text
    assert len(lab.Subject) == 1


def test_batch_is_all_or_nothing_on_server_errors(lab: Lab) -> None:
    lab.Subject.insert1({"subject_id": 1, "species": "mouse"})
    with pytest.raises(tj.DuplicateError):
        lab.Subject.insert([{"subject_id": 2, "species": "mouse"}, {"subject_id": 1, "species": "rat"}])
    assert lab.Subject.keys() == [{"subject_id": 1}]
    with pytest.raises(tj.IntegrityError, match="Subject"):
        lab.Subject.insert([{"subject_id": 3, "species": "mouse"}, {"subject_id": 4, "species": "dodo"}])
    assert len(lab.Subject) == 1
    assert lab.Subject.insert([{"subject_id": 1, "species": "rat"}], skip_duplicates=True) == 1
    assert lab.Subject.fetch1("species") == "mouse"
    lab.Subject.insert([{"subject_id": 1, "species": "rat"}], replace=True)
    assert lab.Subject.fetch1("species") == "rat"


def test_extra_fields_and_positional_rows(lab: Lab) -> None:
    lab.Subject.insert([{"subject_id": 1, "species": "mouse", "junk": 1}], ignore_extra_fields=True)
    assert lab.Subject.fetch1("subject_id") == 1
    with pytest.raises(tj.QueryError, match="positional row needs 6"):
        lab.Subject.insert([(2, "mouse")])


def test_nan_is_null_for_nullable_and_refused_otherwise(schema: tj.Schema) -> None:
    @schema
    class Reading(tj.Manual):
        reading_id: tj.Key[int]
        value: float
        optional: float | None = None

    Reading.insert1({"reading_id": 1, "value": 1.0, "optional": float("nan")})
    assert Reading.fetch1("optional") is None or np.isnan(Reading.fetch1("optional"))
    with pytest.raises(tj.ValidationError, match="'value'"):
        Reading.insert1({"reading_id": 2, "value": float("nan")})
    assert len(Reading) == 1


def test_auto_increment_and_hidden_singleton(lab: Lab) -> None:
    lab.Config.insert([{"name": "a"}, {"name": "b"}])
    assert lab.Config.to_dicts(order_by="config_id") == [
        {"config_id": 1, "name": "a"}, {"config_id": 2, "name": "b"}
    ]
    with pytest.raises(tj.DuplicateError):
        lab.Config.insert1({"name": "a"})
    lab.Note.insert1({"text": "only one"})
    assert lab.Note.to_dicts() == [{"text": "only one"}]
    assert lab.Note.heading.primary_key == ["_singleton"]
    with pytest.raises(tj.DuplicateError):
        lab.Note.insert1({"text": "second"})


def test_computed_refuses_direct_insert(lab: Lab) -> None:
    lab.Subject.insert1({"subject_id": 1, "species": "mouse"})
    lab.Session.insert1({"subject_id": 1, "session_id": 1, "session_date": date(2024, 1, 1)})
    with pytest.raises(tj.TypedjError, match="auto-populated"):
        lab.Spikes.insert1({"subject_id": 1, "session_id": 1, "n_units": 3})
    with pytest.raises(tj.TypedjError, match="auto-populated"):
        lab.Spikes.Unit.insert1({"subject_id": 1, "session_id": 1, "unit_id": 1})  # type: ignore[attr-defined]
    lab.Spikes.insert1({"subject_id": 1, "session_id": 1, "n_units": 3}, allow_direct_insert=True)
    assert len(lab.Spikes) == 1


def test_constructor_checks_names(lab: Lab) -> None:
    with pytest.raises(TypeError, match="unexpected attribute 'colour'"):
        lab.Subject(subject_id=1, species="mouse", colour="blue")
    with pytest.raises(TypeError, match=r"missing required attribute\(s\) \['subject_id'\]"):
        lab.Subject(species="mouse")
    s = lab.Subject(subject_id=1, species="mouse")
    assert s == lab.Subject(subject_id=1, species={"species": "mouse"})
    assert repr(s).startswith("Subject(subject_id=1, species='mouse'")
