"""Names inside SQL text, ``Top(order_by=...)`` and dict rows: run-time twins of
``typing_snippets/blind_spots.py`` (the same mistake, the same attribute named, when the
query is built)."""

from __future__ import annotations

from datetime import date
from types import SimpleNamespace
from typing import Literal

import pytest

import typedj as tj
from typedj import Computed, Key, Manual, Ref
from typedj.query.sqltext import identifiers


@pytest.mark.parametrize(("text", "names"), [
    ("weight > 10", ["weight"]),
    ("max(sesion_date)", ["sesion_date"]),
    ("session_date > '2024-01-01' AND subjct_id = 1", ["session_date", "subjct_id"]),
    ("`weight` >= 1 OR name LIKE 'a%'", ["weight", "name"]),
    ("date_add(d, INTERVAL 1 DAY) < now()", ["d"]),
    ("CAST(x AS SIGNED) > 1 AND y IS NOT NULL", ["x", "y"]),
    ("count(*)", []),
    ("name COLLATE utf8mb4_bin = 'it''s'", ["name"]),
    ("x IN (SELECT a FROM b)", None),  # a subquery: other tables' names
    ("t.a = 1", None),  # a qualified name
    ("@v := 1", None),
    ("'unbalanced", None),
])
def test_identifiers_of_sql_text(text: str, names: list[str] | None) -> None:
    assert identifiers(text) == names


@pytest.fixture
def lab(schema: tj.Schema) -> SimpleNamespace:
    @schema
    class Subject(Manual):
        subject_id: Key[int]
        sex: Literal["M", "F", "U"] = "U"
        date_of_birth: date | None = None

    @schema
    class Session(Manual):
        subject: Key[Ref[Subject]]
        session_id: Key[int]
        session_date: date

    @schema
    class Tally(Computed):
        session: Key[Ref[Session]]
        n_trials: int

        def make(self, key: dict[str, object]) -> None:
            self.insert1({**key, "n_trial": 3})

    Subject.insert([(1, "F", date(2020, 1, 1)), (2, "M", None)])
    Session.insert([(1, 1, date(2024, 1, 2)), (1, 2, date(2024, 2, 3)), (2, 1, date(2024, 1, 5))])
    return SimpleNamespace(Subject=Subject, Session=Session, Tally=Tally)


@pytest.mark.parametrize(("build", "attribute"), [
    (lambda lab: lab.Session & "session_date > '2024-01-01' AND sesion_id = 1", "sesion_id"),
    (lambda lab: lab.Subject - tj.Not("date_of_brth IS NULL"), "date_of_brth"),
    (lambda lab: lab.Subject & ["sex = 'F'", "spieces = 'rat'"], "spieces"),
    (lambda lab: lab.Subject.aggr(lab.Session, last="max(sesion_date)"), "sesion_date"),
    (lambda lab: lab.Session.proj(later="date_add(sesion_date, INTERVAL 1 DAY)"), "sesion_date"),
    (lambda lab: lab.Subject & tj.Top(2, order_by="date_of_brth DESC"), "date_of_brth"),
    (lambda lab: lab.Subject & tj.Top(2, ["sexx", "KEY"]), "sexx"),
])
def test_names_in_text_fail_when_the_query_is_built(lab: SimpleNamespace, build: object,
                                                     attribute: str) -> None:
    with pytest.raises(tj.UnknownAttributeError) as error:
        build(lab)  # type: ignore[operator]
    assert error.value.attribute == attribute


def test_valid_text_still_runs(lab: SimpleNamespace) -> None:
    Subject, Session = lab.Subject, lab.Session
    assert len(Session & "session_date > '2024-01-01' AND session_id = 1") == 2
    counted = Subject.aggr(Session, n="count(*)", last="max(session_date)")
    assert (counted & {"subject_id": 1}).fetch1("n") == 2
    assert [s.subject_id for s in Subject & tj.Top(1, order_by="date_of_birth DESC")] == [1]
    assert len(Subject & "subject_id IN (SELECT 1)") == 1  # a subquery is not judged


def test_dict_rows_name_the_attribute(lab: SimpleNamespace) -> None:
    with pytest.raises(tj.TypedjError, match="speces"):
        lab.Subject.insert1({"subject_id": 3, "speces": "mouse"})
    assert len(lab.Subject) == 2
    lab.Tally.populate(suppress_errors=True)
    assert len(lab.Tally) == 0
    with pytest.raises(tj.TypedjError, match="n_trial"):
        lab.Tally.populate()


def test_a_query_parameter_keeps_its_attributes(lab: SimpleNamespace) -> None:
    def females(q: tj.Query[object], sex: str = "sex") -> tj.Query[object]:
        return q & {sex: "F"}

    assert [s.subject_id for s in females(lab.Subject & True)] == [1]
    with pytest.raises(tj.UnknownAttributeError) as error:
        females(lab.Subject & True, "sexx")
    assert error.value.attribute == "sexx"
    with pytest.raises(tj.UnknownAttributeError) as error:
        lab.Session.fetch(order_by="session_idd")
    assert error.value.attribute == "session_idd"
