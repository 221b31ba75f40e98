"""Declaring in a notebook: a failed class leaves the schema usable, an undeclared class
says so, and a class waiting for a parent is reported."""

from __future__ import annotations

import warnings

import pytest

import typedj as tj
from typedj import Key, Manual, Part, Ref


def test_schema_accepts_corrected_classes_after_failures(schema: tj.Schema) -> None:
    with pytest.raises(tj.DeclarationError, match="'fetch' is reserved"):
        @schema
        class Subject(Manual):
            subject_id: Key[int]
            fetch: int

    with pytest.raises(tj.DeclarationError, match=r"Ref\[\.\.\.\] takes a table class"):
        @schema
        class Broken(Manual):
            broken_id: Key[int]
            owner: Ref[int]  # type: ignore[type-var]

    @schema
    class Subject(Manual):  # type: ignore[no-redef]  # the corrected cell, run again
        subject_id: Key[int]
        weight: float

    @schema
    class Session(Manual):
        subject: Key[Ref[Subject]]
        session_id: Key[int]

    assert schema.list_tables() == ["subject", "session"]
    assert schema.pending == {}

    @schema
    class Later(Manual):
        later_id: Key[int]

    Subject.insert1((1, 60.0))
    Later.insert1((5,))
    assert Subject.fetch1().weight == 60.0 and Later.fetch("later_id").tolist() == [5]
    assert set(schema.list_tables()) == {"later", "subject", "session"}


def test_part_failure_does_not_block_the_schema(schema: tj.Schema) -> None:
    with pytest.raises(tj.DeclarationError, match=r"Bad\.insert: 'insert' is reserved"):
        @schema
        class Session(Manual):
            session_id: Key[int]

            class Bad(Part):
                session: Key[Ref[Session]]
                insert: int

    @schema
    class Rig(Manual):
        rig_id: Key[int]

    Rig.insert1((1,))
    assert len(Rig) == 1 and "session" in schema.list_tables()


def test_undeclared_class_says_so_everywhere() -> None:
    class Loose(Manual):
        loose_id: Key[int]
        name: str

    operations = {
        "insert": lambda: Loose.insert([(1, "a")]),
        "insert1": lambda: Loose.insert1((1, "a")),
        "describe": lambda: Loose.describe(),
        "heading": lambda: Loose.heading,
        "primary_key": lambda: Loose.primary_key,
        "table_name": lambda: Loose.table_name,
        "full_table_name": lambda: Loose.full_table_name,
        "fetch": lambda: Loose.fetch(),
        "len": lambda: len(Loose),
        "restrict": lambda: Loose & {"loose_id": 1},
        "delete": lambda: Loose.delete(),
        "drop": lambda: Loose.drop(),
        "update1": lambda: Loose.update1({"loose_id": 1, "name": "b"}),
        "row": lambda: Loose(loose_id=1, name="a"),
    }
    for name, operation in operations.items():
        with pytest.raises(tj.NotDeclaredError) as info:
            operation()
        assert str(info.value) == "Loose is not declared yet: decorate it with a Schema (@schema)", name
        assert isinstance(info.value, tj.DeclarationError) and isinstance(info.value, AttributeError)
    assert not hasattr(Loose, "_def") and getattr(Loose, "_node", None) is None
    with pytest.raises(AttributeError, match="no attribute 'nonesuch'"):
        Loose.nonesuch  # type: ignore[attr-defined]  # noqa: B018


def test_waiting_class_warns_and_is_listed(schema: tj.Schema) -> None:
    with pytest.warns(tj.DeclarationPendingWarning, match="Scan waits for Microscope"):
        @schema
        class Scan(Manual):
            scan_id: Key[int]
            microscope: Ref[Microscope]  # noqa: F821  (never declared)

    assert schema.pending == {"Scan": "Scan waits for Microscope, which is not defined yet"}
    assert repr(schema) == (f"Schema({schema.name!r}, {len(schema.tables)} tables, "
                            "Scan pending (Scan waits for Microscope, which is not defined yet))")
    with pytest.raises(tj.NotDeclaredError, match="Scan is not declared yet: Scan waits for Microscope"):
        Scan.insert1({"scan_id": 1})

    class Lens(Manual):
        lens_id: Key[int]

    with pytest.warns(tj.DeclarationPendingWarning, match="Mount waits for Lens"):
        @schema
        class Mount(Manual):
            mount_id: Key[int]
            lens: Ref[Lens]

    assert set(schema.pending) == {"Scan", "Mount"}
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        schema(Lens)
    assert set(schema.pending) == {"Scan"} and "mount" in schema.list_tables()
    Lens.insert1((1,))
    Mount.insert1((1, 1))
    assert Mount.fetch1().lens_id == 1
