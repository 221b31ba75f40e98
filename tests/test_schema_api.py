"""A schema as DataJoint users reach for it: its tables by name, in order, with their jobs."""

from __future__ import annotations

import io
import sys
from typing import Any

import pytest

import typedj as tj
from typedj import Computed, Key, Lookup, Manual, Part, Ref


class _Terminal(io.StringIO):
    """Typed answers on a stdin that says it is a terminal."""

    def isatty(self) -> bool:
        return True


def _declare(schema: tj.Schema) -> dict[str, Any]:
    @schema
    class Species(Lookup):
        species: Key[str]
        contents = [("mouse",), ("rat",)]

    @schema
    class Animal(Manual):
        animal: Key[int]
        species: Ref[Species]

    @schema
    class Weight(Computed):
        animal: Key[Ref[Animal]]
        grams: float

        class Reading(Part):
            reading: Key[int]
            value: float

        def make(self, key: tj.KeyOf[Weight]) -> None:
            self.insert1({**key, "grams": 20.0})
            Weight.Reading.insert1({**key, "reading": 0, "value": 20.0})

    return {"Species": Species, "Animal": Animal, "Weight": Weight}


def test_tables_by_name_in_order_with_their_jobs(schema: tj.Schema) -> None:
    classes = _declare(schema)
    assert schema.exists
    assert schema["Animal"] is classes["Animal"]
    assert schema.get_table("#species") is classes["Species"]
    assert schema["Weight.Reading"] is classes["Weight"].Reading
    assert schema["__weight__reading"] is classes["Weight"].Reading
    assert [c.__name__ for c in schema] == ["Species", "Animal", "Weight", "Reading"]
    assert [j.target for j in schema.jobs] == [classes["Weight"]]
    with pytest.raises(tj.MissingTableError, match=r"has no table 'Animl'.*'animal'"):
        schema["Animl"]


def test_tables_without_classes_get_classes_from_the_catalog(schema: tj.Schema, conn: tj.Connection) -> None:
    classes = _declare(schema)
    classes["Animal"].insert1({"animal": 1, "species": "rat"})
    classes["Weight"].populate()
    fresh = tj.Schema(schema.name, connection=conn)
    assert fresh.classes == {}
    animal = fresh["Animal"]
    assert animal is not classes["Animal"] and animal.table_name == "animal"
    assert animal.to_dicts() == [{"animal": 1, "species": "rat"}]
    assert [c.__name__ for c in fresh] == ["Species", "Animal", "Weight", "Reading"]
    namespace: dict[str, Any] = {"Animal": "mine"}
    added = fresh.make_classes(namespace)
    assert sorted(added) == ["Species", "Weight"] and namespace["Animal"] == "mine"
    assert namespace["Weight"].Reading.fetch1("value") == 20.0
    assert len(fresh.jobs) == 1 and conn.schemas[schema.name] is fresh


def test_make_classes_fills_the_callers_globals(schema: tj.Schema, conn: tj.Connection) -> None:
    _declare(schema)
    fresh = tj.Schema(schema.name, connection=conn)
    added = fresh.make_classes()
    try:
        assert globals()["Animal"] is added["Animal"]
    finally:
        for name in added:
            globals().pop(name, None)


def test_list_schemas_and_exists(schema: tj.Schema, conn: tj.Connection) -> None:
    assert schema.name in tj.list_schemas(conn)
    assert "information_schema" not in tj.list_schemas(conn)
    schema.drop()
    assert not schema.exists and schema.name not in tj.list_schemas(conn)


def test_drop_asks_on_a_terminal(schema: tj.Schema, conn: tj.Connection, monkeypatch: pytest.MonkeyPatch,
                                 capsys: pytest.CaptureFixture[str]) -> None:
    classes = _declare(schema)
    monkeypatch.setattr(sys, "stdin", _Terminal("no\n"))
    schema.drop()
    assert f"{schema.name}.__weight__reading" in capsys.readouterr().err
    assert schema.exists and len(classes["Species"]) == 2
    monkeypatch.setattr(sys, "stdin", _Terminal(""))  # force: nothing is read
    schema.drop(force=True)
    assert not schema.exists and schema.classes == {}


def test_a_part_and_a_table_of_the_same_class_name_are_both_kept(schema: tj.Schema) -> None:
    @schema
    class Session(Manual):
        session: Key[int]

        class Trial(Part):
            trial: Key[int]

    @schema
    class Trial(Manual):
        trial_name: Key[str]

    assert schema.classes == {"session": Session, "session__trial": Session.Trial, "trial": Trial}
    assert schema["session__trial"] is Session.Trial and schema["trial"] is Trial
    assert schema.node("session__trial") is Session.Trial._node and schema.node("trial") is Trial._node
    Session.Trial.drop()
    assert schema.classes == {"session": Session, "trial": Trial}
