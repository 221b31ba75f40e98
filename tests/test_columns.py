"""Inherited columns declared with ``Link(Parent)``, references named like their column, and
class-level column objects: run-time twins of ``typing_snippets/columns.py``."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from types import SimpleNamespace
from typing import Literal

import pytest

import typedj as tj
from typedj import Attr, Key, Link, Lookup, Manual, Ref


@pytest.fixture
def lab(schema: tj.Schema) -> SimpleNamespace:
    @schema
    class Species(Lookup):
        species: Key[str] = Attr(max_length=32)
        contents = [("mouse",), ("rat",)]

    @schema
    class Subject(Manual):
        subject: Key[str] = Attr(max_length=16)
        species: Ref[Species]
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

    Subject.insert([{"subject": "S1", "species": "mouse", "sex": "F", "weight": Decimal("21.50")},
                    {"subject": "S2", "species": "rat", "sex": "M", "weight": Decimal("30.00")},
                    {"subject": "S3", "species": "mouse"}])
    Session.insert1(subject="S1", session_id=1, session_date=date(2024, 1, 2))
    Session.insert1(Session(subject="S2", session_id=1, session_date=date(2024, 1, 3)))
    Scan.insert1(subject="S1", session_id=1, scan_id=1, depth=120.0)
    Cell.insert([(1,), (2,)])
    Synapse.insert1(pre_cell_id=1, post_cell_id=2, strength=0.5)
    return SimpleNamespace(**{c.__name__: c for c in (Species, Subject, Session, Scan, Cell, Synapse)})


def test_linked_columns_declare_what_ref_declares(lab: SimpleNamespace, schema_name: str,
                                                   conn: tj.Connection) -> None:
    """``= Link(Parent)`` columns and ``Ref`` make the same heading, keys and DDL."""
    other = tj.Schema(schema_name + "_ref", connection=conn)

    @other
    class Species(Lookup):
        species: Key[str] = Attr(max_length=32)

    @other
    class Subject(Manual):
        subject: Key[str] = Attr(max_length=16)
        species: Ref[Species]
        sex: Literal["M", "F", "U"] = "U"
        weight: Decimal = Attr(precision=5, scale=2, default=Decimal("20.00"))

    @other
    class Session(Manual):
        subject: Key[Ref[Subject]]
        session_id: Key[int]
        session_date: date

    @other
    class Scan(Manual):
        session: Key[Ref[Session]]
        scan_id: Key[int]
        depth: float = 0.0

    @other
    class Cell(Manual):
        cell_id: Key[int]

    @other
    class Synapse(Manual):
        pre: Key[Ref[Cell]] = Link(rename={"cell_id": "pre_cell_id"})
        post: Key[Ref[Cell]] = Link(rename={"cell_id": "post_cell_id"})
        strength: float

    for linked, referenced in [(lab.Session, Session), (lab.Scan, Scan),
                               (lab.Synapse, Synapse)]:
        assert linked.describe() == referenced.describe()
        assert linked.heading.names == referenced.heading.names
        assert [(fk.parent_table, dict(fk.attr_map), fk.in_key) for fk in linked._def.foreign_keys] == [
            (fk.parent_table, dict(fk.attr_map), fk.in_key) for fk in referenced._def.foreign_keys]
        ddl = [s.replace(schema_name + "_ref", schema_name)
               for s in conn.dialect.create_table(referenced._def)]
        assert conn.dialect.create_table(linked._def) == ddl
    assert lab.Scan.describe().splitlines() == [
        "-> Session", "scan_id              : int32", "---", "depth=0.0            : float64"]


def test_rows_hold_columns(lab: SimpleNamespace) -> None:
    scan = lab.Scan.fetch1()
    assert (scan.subject, scan.session_id, scan.scan_id, scan.depth) == ("S1", 1, 1, 120.0)
    synapse = lab.Synapse.fetch1()
    assert (synapse.pre_cell_id, synapse.post_cell_id) == (1, 2)
    assert [s.subject for s in lab.Session.fetch(order_by="subject")] == ["S1", "S2"]


def test_a_reference_named_like_its_column_is_the_column(schema: tj.Schema) -> None:
    @schema
    class Subject(Manual):
        subject: Key[str] = Attr(max_length=16)

    @schema
    class Session(Manual):
        subject: Key[Ref[Subject]]
        session_id: Key[int]

    Subject.insert([("S1",), ("S2",), ("S3",)])
    parent = (Subject & {"subject": "S1"}).fetch1()
    Session.insert1(subject=parent, session_id=1)  # a parent row
    Session.insert1({"subject": {"subject": "S2"}, "session_id": 1})  # a key mapping
    Session.insert1(Session(subject="S3", session_id=1))  # the bare value
    assert [s.subject for s in Session.fetch(order_by="subject")] == ["S1", "S2", "S3"]
    assert Session(subject=parent, session_id=2).subject == "S1"
    assert isinstance(Session.subject, tj.Column)


def test_linked_columns_are_checked(lab: SimpleNamespace, schema: tj.Schema) -> None:
    Subject, Session = lab.Subject, lab.Session

    class WrongType(Manual):
        subject: Key[int] = Link(Subject)

    class Unknown(Manual):
        subj: Key[str] = Link(Subject)

    class Partial(Manual):
        session_id: Key[int] = Link(Session)
        other_id: Key[int]

    for cls, message in [(WrongType, "declared int, but Subject.subject is str"),
                         (Unknown, r"\['subj'\] are not in it"),
                         (Partial, r"\['subject'\] are not declared")]:
        with pytest.raises(tj.DeclarationError, match=message):
            tj.Schema(schema.name, connection=schema.connection)(cls)


def test_class_level_columns_compile_to_the_string_forms(lab: SimpleNamespace) -> None:
    Subject, Session = lab.Subject, lab.Session
    assert isinstance(Subject.weight, tj.Column) and str(Subject.weight) == "weight"
    pairs = [
        (Subject & (Subject.species == "mouse"), Subject & {"species": "mouse"}),
        (Subject - (Subject.sex == "M"), Subject - {"sex": "M"}),
        (Subject & ((Subject.species == "mouse") & (Subject.sex == "F")),
         Subject & tj.AndList([{"species": "mouse"}, {"sex": "F"}])),
        (Subject & ((Subject.sex == "M") | (Subject.sex == "F")), Subject & [{"sex": "M"}, {"sex": "F"}]),
        (Subject & tj.col(Subject.species).in_(["rat"]), Subject & [{"species": "rat"}]),
        (Session.proj(Session.session_date), Session.proj("session_date")),
        (Session.proj(when=Session.session_date), Session.proj(when="session_date")),
        (Subject.aggr(Session, Subject.sex, n="count(*)"), Subject.aggr(Session, "sex", n="count(*)")),
        (Subject & tj.Top(2, order_by=Subject.weight.desc()), Subject & tj.Top(2, order_by="weight DESC")),
    ]
    for typed, text in pairs:
        assert typed.sql == text.sql
        assert typed.to_dicts(order_by="KEY") == text.to_dicts(order_by="KEY")
    assert [s.subject for s in Subject.fetch(order_by=tj.desc(Subject.weight))] == ["S2", "S1", "S3"]
    assert [s.subject for s in Subject.fetch(order_by=[Subject.species, Subject.weight.desc()])] == [
        "S1", "S3", "S2"]
    heavy = Subject & (Subject.weight > Decimal("21"))
    assert sorted(heavy.fetch("subject")) == ["S1", "S2"]
    assert sorted((Subject & (Subject.weight >= 30)).fetch("subject")) == ["S2"]
    assert sorted((Subject & (Subject.sex != "U")).fetch("subject")) == ["S1", "S2"]
    assert list(Subject.fetch(Subject.subject, order_by=Subject.subject)) == ["S1", "S2", "S3"]


def test_inherited_columns_at_class_level(lab: SimpleNamespace) -> None:
    Scan = lab.Scan
    assert (Scan & (Scan.session_id == 1)).fetch1().scan_id == 1
    assert (Scan & (Scan.subject == "S1")).sql == (Scan & {"subject": "S1"}).sql


def test_column_mistakes_fail_when_the_query_is_built(lab: SimpleNamespace) -> None:
    Subject, Session = lab.Subject, lab.Session
    with pytest.raises(tj.UnknownAttributeError) as error:
        Subject & (Session.session_date == date(2024, 1, 2))
    assert error.value.attribute == "session_date"
    with pytest.raises(AttributeError, match="wieght"):
        _ = Subject.wieght  # type: ignore[attr-defined]
    with pytest.raises(tj.QueryError, match="not a truth value"):
        bool(Subject.weight > 3)
    with pytest.raises(tj.UnknownAttributeError):
        Subject.proj(Session.session_date)
