"""populate() and make(): transactions, key sources, the three-part make, summaries."""

from __future__ import annotations

import logging
import typing
from typing import Any

import pytest

import typedj as tj
from typedj import Computed, Key, Lookup, Manual, Part, Ref


@pytest.fixture
def pipeline(schema: tj.Schema) -> Any:
    """Subject x Method -> Scaled (master) with Scaled.Item parts; make fails on request."""

    @schema
    class Subject(Manual):
        subject_id: Key[int]
        weight: float

    @schema
    class Method(Lookup):
        method: Key[str] = tj.Attr(max_length=16)
        contents = [("a",), ("b",)]

    @schema
    class Scaled(Computed):
        subject: Key[Ref[Subject]]
        method: Key[Ref[Method]]
        value: float

        class Item(Part):
            scaled: Key[Ref[Scaled]]
            item: Key[int]
            size: float

        calls = []  # type: ignore[var-annotated]  # not annotated: not an attribute
        fail_after_parts = set()  # type: ignore[var-annotated]

        def make(self, key: dict[str, Any]) -> None:
            Scaled.calls.append(dict(key))
            weight = (Subject & key).fetch1("weight")
            self.insert1({**key, "value": weight * (2 if key["method"] == "a" else 3)})
            Scaled.Item.insert([{**key, "item": i, "size": weight + i} for i in range(3)])
            if key["subject_id"] in Scaled.fail_after_parts:
                raise RuntimeError(f"bad subject {key['subject_id']}")

    Subject.insert([(i, float(i)) for i in range(1, 5)])
    Scaled.calls = []
    Scaled.fail_after_parts = set()
    return Subject, Method, Scaled


def test_populate_makes_every_key_once_with_parts(pipeline: Any) -> None:
    _Subject, _Method, Scaled = pipeline
    assert Scaled.progress() == (8, 8)
    result = Scaled.populate()
    assert result.success_count == 8 and result.failed == [] and result.skipped == 0
    assert sorted((k["subject_id"], k["method"]) for k in result.succeeded) == [
        (s, m) for s in range(1, 5) for m in "ab"
    ]
    assert len(Scaled) == 8 and len(Scaled.Item) == 24
    assert (Scaled & {"subject_id": 3, "method": "b"}).fetch1("value") == 9.0
    assert Scaled.progress() == (0, 8)
    again = Scaled.populate()
    assert again.success_count == 0 and len(Scaled.calls) == 8


def test_each_key_commits_alone_and_opens_the_next_in_the_same_statement(
    pipeline: Any, conn: tj.Connection, caplog: pytest.LogCaptureFixture
) -> None:
    """Where the server can (``COMMIT AND CHAIN``), a key's commit opens the next key's
    transaction: one ``START TRANSACTION`` per run instead of one per key."""
    _Subject, _Method, Scaled = pipeline
    Scaled.fail_after_parts = {3}
    with caplog.at_level(logging.DEBUG, logger="typedj.sql"):
        result = Scaled.populate(suppress_errors=True)
    sent = [r.getMessage() for r in caplog.records if r.name == "typedj.sql"]
    assert result.success_count == 6 and len(result.failed) == 2
    assert len(Scaled) == 6 and len(Scaled.Item) == 18 and len(Scaled & {"subject_id": 3}) == 0
    begins = sent.count(conn.dialect.begin_transaction)
    chain = conn.dialect.commit_and_chain
    if chain is None:
        assert begins == 8
        return
    # keys 1a 1b 2a 2b chain; 3a fails (rolled back: the chain ends), 3b begins again and
    # fails; 4a begins, 4b chains; the block's end commits the last, empty transaction
    assert begins == 3 and sent.count(chain) == 6 and sent.count("ROLLBACK") == 2
    assert sent[-1] == "COMMIT"


def test_default_key_source_is_join_of_primary_parents(pipeline: Any) -> None:
    _Subject, _Method, Scaled = pipeline
    keys = Scaled.key_source.keys(order_by="KEY")
    assert keys[:3] == [
        {"subject_id": 1, "method": "a"}, {"subject_id": 1, "method": "b"}, {"subject_id": 2, "method": "a"},
    ]
    assert Scaled.key_source.primary_key == ["subject_id", "method"]


def test_restrictions_max_calls_and_order(pipeline: Any) -> None:
    _Subject, _Method, Scaled = pipeline
    assert Scaled.progress({"method": "a"}) == (4, 4)
    first = Scaled.populate({"method": "a"}, max_calls=2)
    assert first.succeeded == [{"subject_id": 1, "method": "a"}, {"subject_id": 2, "method": "a"}]
    reverse = Scaled.populate("subject_id > 2", order="reverse", max_calls=1)
    assert reverse.succeeded == [{"subject_id": 4, "method": "b"}]
    rest = Scaled.populate(order="random")
    assert rest.success_count == 5 and len(Scaled) == 8


def test_master_and_parts_all_or_nothing_on_failure(pipeline: Any) -> None:
    _Subject, _Method, Scaled = pipeline
    Scaled.fail_after_parts = {2}
    with pytest.raises(RuntimeError, match="bad subject 2"):
        Scaled.populate({"subject_id": 2})
    assert len(Scaled & {"subject_id": 2}) == 0
    assert len(Scaled.Item & {"subject_id": 2}) == 0

    result = Scaled.populate(suppress_errors=True)
    assert result.success_count == 6
    assert [f.key for f in result.failed] == [
        {"subject_id": 2, "method": "a"}, {"subject_id": 2, "method": "b"},
    ]
    assert result.failed[0].error == "RuntimeError: bad subject 2"
    assert "raise RuntimeError" in result.failed[0].traceback
    assert result.error_list[0] == ({"subject_id": 2, "method": "a"}, "RuntimeError: bad subject 2")
    assert len(Scaled & {"subject_id": 2}) == 0 and len(Scaled.Item & {"subject_id": 2}) == 0
    assert len(Scaled.Item) == 18


def test_direct_insert_refused_outside_make(pipeline: Any) -> None:
    _Subject, _Method, Scaled = pipeline
    with pytest.raises(tj.TypedjError, match="auto-populated") as info:
        Scaled.insert1({"subject_id": 1, "method": "a", "value": 1.0})
    assert info.value.table == "Scaled"
    with pytest.raises(tj.TypedjError, match="auto-populated"):
        Scaled.Item.insert1({"subject_id": 1, "method": "a", "item": 0, "size": 1.0})
    assert len(Scaled) == 0 and len(Scaled.Item) == 0
    Scaled.insert1({"subject_id": 1, "method": "a", "value": 1.0}, allow_direct_insert=True)
    assert len(Scaled) == 1
    assert Scaled.__dict__.get("_allow_insert", 0) == 0
    Scaled.populate()
    assert Scaled.__dict__.get("_allow_insert", 0) == 0


def test_custom_key_source_query_and_property(schema: tj.Schema) -> None:
    @schema
    class Cell(Manual):
        cell_id: Key[int]
        good: bool

    @schema
    class Response(Computed):
        cell: Key[Ref[Cell]]
        score: float
        key_source = Cell & {"good": True}

        def make(self, key: dict[str, Any]) -> None:
            self.insert1({**key, "score": key["cell_id"] / 10})

    @schema
    class Summary(Computed):
        cell: Key[Ref[Cell]]
        n: int

        @property
        def key_source(self) -> Any:
            return Cell & "cell_id < 3"

        def make(self, key: dict[str, Any]) -> None:
            self.insert1({**key, "n": len(Response & key)})

    Cell.insert([(i, i % 2 == 0) for i in range(6)])
    assert Response.progress() == (3, 3)
    assert Response.populate().success_count == 3
    assert sorted(Response.fetch("cell_id").tolist()) == [0, 2, 4]
    assert Summary.populate().success_count == 3
    assert dict(zip(*Summary.fetch("cell_id", "n"), strict=True)) == {0: 1, 1: 0, 2: 1}


def test_key_source_with_attributes_the_table_lacks_is_refused(schema: tj.Schema) -> None:
    @schema
    class Trial(Manual):
        trial_id: Key[int]
        block: Key[int]

    @schema
    class Block(Manual):
        block: Key[int]

    @schema
    class Odd(Computed):
        block: Key[Ref[Block]]
        n: int
        key_source = Trial

        def make(self, key: dict[str, Any]) -> None:
            pass

    with pytest.raises(tj.QueryError, match="trial_id") as info:
        Odd.populate()
    assert info.value.attribute == "trial_id"


def test_three_part_make_and_changed_inputs(schema: tj.Schema) -> None:
    @schema
    class Signal(Manual):
        signal_id: Key[int]
        gain: float

    @schema
    class Filtered(Computed):
        signal: Key[Ref[Signal]]
        total: float

        log = []  # type: ignore[var-annotated]
        change_during_compute = False

        def make_fetch(self, key: dict[str, Any]) -> tuple[float]:
            Filtered.log.append("fetch")
            return ((Signal & key).fetch1("gain"),)

        def make_compute(self, key: dict[str, Any], gain: float) -> tuple[float]:
            Filtered.log.append("compute")
            if Filtered.change_during_compute:
                Signal.update1({**key, "gain": gain + 1})
            return (gain * 10,)

        def make_insert(self, key: dict[str, Any], total: float) -> None:
            Filtered.log.append("insert")
            self.insert1({**key, "total": total})

    Signal.insert([(1, 0.5), (2, 2.0)])
    result = Filtered.populate({"signal_id": 1})
    assert result.success_count == 1
    assert Filtered.log == ["fetch", "compute", "fetch", "insert"]
    assert (Filtered & {"signal_id": 1}).fetch1("total") == 5.0

    Filtered.change_during_compute = True
    with pytest.raises(tj.InputsChangedError, match="upstream rows changed") as info:
        Filtered.populate({"signal_id": 2})
    assert info.value.table == "__filtered"
    assert len(Filtered & {"signal_id": 2}) == 0
    Filtered.change_during_compute = False
    assert Filtered.populate().success_count == 1
    assert (Filtered & {"signal_id": 2}).fetch1("total") == 30.0


def test_make_key_restricts_tables_with_fewer_attributes(pipeline: Any) -> None:
    Subject, _Method, Scaled = pipeline
    seen: list[Any] = []
    original = Scaled.make

    def make(self: Any, key: dict[str, Any]) -> None:
        seen.append((type(key), (Subject & key).fetch1("subject_id"), {**key}))
        original(self, key)

    Scaled.make = make
    try:
        Scaled.populate({"subject_id": 1, "method": "a"})
    finally:
        Scaled.make = original
    kind, subject, plain = seen[0]
    assert issubclass(kind, dict) and subject == 1 and plain == {"subject_id": 1, "method": "a"}


def test_populate_arguments_are_checked(pipeline: Any, conn: tj.Connection) -> None:
    _Subject, _Method, Scaled = pipeline
    with pytest.raises(ValueError, match="order"):
        Scaled.populate(order="sideways")
    with pytest.raises(ValueError, match="processes"):
        Scaled.populate(processes=0)
    with conn.transaction(), pytest.raises(tj.TypedjError, match="inside a transaction"):
        Scaled.populate()
    assert len(Scaled) == 0


def test_table_without_make_is_refused(schema: tj.Schema) -> None:
    @schema
    class Thing(Manual):
        thing_id: Key[int]

    @schema
    class Nothing(Computed):
        thing: Key[Ref[Thing]]

    Thing.insert1({"thing_id": 1})
    with pytest.raises(tj.TypedjError, match="defines no make"):
        Nothing.populate()


def test_display_progress_uses_tqdm(pipeline: Any, capsys: pytest.CaptureFixture[str]) -> None:
    _Subject, _Method, Scaled = pipeline
    Scaled.populate(display_progress=True)
    err = capsys.readouterr().err
    assert "Scaled" in err and "8/8" in err
    assert Scaled.progress(display=True) == (0, 8)
    assert "8/8 made" in capsys.readouterr().out


def test_key_made_meanwhile_is_skipped_but_a_duplicate_part_fails(schema: tj.Schema) -> None:
    @schema
    class Unit(Manual):
        unit_id: Key[int]

    @schema
    class Greedy(Computed):
        unit: Key[Ref[Unit]]
        n: int

        class Spike(Part):
            greedy: Key[Ref[Greedy]]
            spike: Key[int]

        def make(self, key: dict[str, Any]) -> None:
            self.insert1({**key, "n": 1})
            if key["unit_id"] == 1:
                self.insert1({"unit_id": 2, "n": 2})
            if key["unit_id"] == 3:
                Greedy.Spike.insert([{**key, "spike": 0}, {**key, "spike": 0}])

    Unit.insert([(1,), (2,), (3,)])
    result = Greedy.populate(suppress_errors=True)
    assert result.succeeded == [{"unit_id": 1}] and result.skipped == 1
    assert [f.key for f in result.failed] == [{"unit_id": 3}]
    assert result.failed[0].error.startswith("DuplicateError")
    assert dict(zip(*Greedy.fetch("unit_id", "n"), strict=True)) == {1: 1, 2: 2}
    assert len(Greedy.Spike) == 0


def test_worker_command_refuses_bad_targets(capsys: pytest.CaptureFixture[str]) -> None:
    from typedj.cli import main

    assert main(["populate", "no_colon"]) == 2
    assert "module:Class" in capsys.readouterr().err
    assert main(["populate", "typedj_no_such_module_xyz:Table"]) == 2
    assert "cannot import" in capsys.readouterr().err
    assert main(["populate", "typedj:Manual"]) == 2
    assert "not an Imported or Computed table" in capsys.readouterr().err


def test_make_annotated_with_key_of_populates(schema: tj.Schema) -> None:
    """``make(self, key: tj.KeyOf[T])`` is a real annotation; the key is a KeyOf at run time."""

    @schema
    class Subject(Manual):
        subject_id: Key[int]
        weight: float

    @schema
    class Doubled(Computed):
        subject: Key[Ref[Subject]]
        value: float

        def make(self, key: tj.KeyOf[Subject]) -> None:
            assert isinstance(key, tj.KeyOf)
            self.insert1({**key, "value": 2 * (Subject & key).fetch1("weight")})

    hints = typing.get_type_hints(Doubled.make, localns={"Subject": Subject})
    assert hints["key"] == tj.KeyOf[Subject] and typing.get_origin(hints["key"]) is tj.KeyOf
    Subject.insert([(1, 1.5), (2, 4.0)])
    result = Doubled.populate()
    assert result.success_count == 2 and result.failed == []
    assert sorted((r["subject_id"], r["value"]) for r in Doubled.to_dicts()) == [(1, 3.0), (2, 8.0)]
