"""DataJoint 2.x surface: config.override, delete_quick/drop_quick, safemode, validate,
chunked inserts from any row source, populate(make_kwargs=, refresh=)."""

from __future__ import annotations

import io
import sys
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest

import typedj as tj
from tests.lab import Lab, declare_lab


@pytest.fixture
def lab(schema: tj.Schema) -> Lab:
    lab = declare_lab(schema)
    lab.Subject.insert([{"subject_id": i, "species": "mouse"} for i in (1, 2, 3)])
    lab.Session.insert([
        {"subject_id": s, "session_id": k, "session_date": date(2024, 1, k)} for s in (1, 2) for k in (1, 2)
    ])
    return lab


class _Terminal(io.StringIO):
    """Typed answers on a stdin that says it is a terminal."""

    def isatty(self) -> bool:
        return True


# -- config.override -------------------------------------------------------------------


def test_override_restores_previous_values() -> None:
    before = (tj.config.safemode, tj.config.blob_limit, tj.config.database_url)
    with tj.config.override(safemode=False, blob_limit=123, database_url="sqlite:///x.db") as cfg:
        assert cfg is tj.config
        assert (tj.config.safemode, tj.config.blob_limit) == (False, 123)
        assert str(tj.config.database_url) == "sqlite:///x.db"
    assert (tj.config.safemode, tj.config.blob_limit, tj.config.database_url) == before


def test_override_restores_on_error_and_refuses_unknown_settings() -> None:
    with pytest.raises(RuntimeError), tj.config.override(blob_compression=0):
        assert tj.config.blob_compression == 0
        raise RuntimeError("boom")
    assert tj.config.blob_compression == "auto"
    with pytest.raises(tj.ConfigError, match="colour"), tj.config.override(colour="red", blob_limit=1):
        pass
    assert tj.config.blob_limit == 1 << 30
    with pytest.raises(tj.ConfigError), tj.config.override(database_url="ftp://nowhere"):
        pass
    assert tj.config.blob_limit == 1 << 30


def test_override_restores_stores() -> None:
    with tj.config.override():
        tj.config.stores["tmp"] = {"protocol": "file", "location": "/tmp/x"}
    assert "tmp" not in tj.config.stores


# -- delete_quick / drop_quick ---------------------------------------------------------


def test_delete_quick_deletes_only_restricted_rows(lab: Lab) -> None:
    assert (lab.Session & {"subject_id": 1}).delete_quick() == 2
    assert sorted(lab.Session.fetch("subject_id").tolist()) == [2, 2]
    assert (lab.Subject & {"subject_id": 3}).delete_quick() == 1
    assert sorted(lab.Subject.fetch("subject_id").tolist()) == [1, 2]
    assert (lab.Subject & {"subject_id": 99}).delete_quick() == 0


def test_delete_quick_refused_by_dependents_names_the_table(lab: Lab) -> None:
    with pytest.raises(tj.IntegrityError, match=r"delete_quick from .*subject") as info:
        (lab.Subject & {"subject_id": 2}).delete_quick()
    assert info.value.table == "subject"
    assert isinstance(info.value.__cause__, tj.IntegrityError)
    assert len(lab.Subject) == 3 and len(lab.Session) == 4


def test_drop_quick(lab: Lab, schema: tj.Schema) -> None:
    lab.Cell.insert([(1, 0.0), (2, 0.0)])
    lab.Synapse.insert([(1, 2, 0.5)])
    with pytest.raises(tj.IntegrityError, match="synapse") as info:
        lab.Cell.drop_quick()
    assert info.value.table == "cell"
    assert len(lab.Cell) == 2
    assert lab.Synapse.drop_quick() == [f"{schema.name}.synapse"]
    assert "synapse" not in schema.tables
    assert lab.Cell.drop_quick() == [f"{schema.name}.cell"]
    assert "cell" not in schema.tables and len(lab.Subject) == 3


# -- safemode --------------------------------------------------------------------------


def test_no_terminal_never_asks(lab: Lab, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "stdin", io.StringIO("no\n"))  # not a terminal: the "no" is never read
    assert (lab.Subject & {"subject_id": 1}).delete()[f"{lab.Subject.full_table_name}"] == 1
    assert len(lab.Session) == 2


def test_terminal_asks_with_preview(lab: Lab, monkeypatch: pytest.MonkeyPatch,
                                    capsys: pytest.CaptureFixture[str]) -> None:
    subject, session = lab.Subject.full_table_name, lab.Session.full_table_name
    monkeypatch.setattr(sys, "stdin", _Terminal("no\n"))
    assert (lab.Subject & {"subject_id": 1}).delete() == {}
    err = capsys.readouterr().err
    assert f"{subject}: 1 rows" in err and f"{session}: 2 rows" in err
    assert len(lab.Subject) == 3 and len(lab.Session) == 4
    monkeypatch.setattr(sys, "stdin", _Terminal("yes\n"))
    assert (lab.Subject & {"subject_id": 1}).delete() == {subject: 1, session: 2}
    assert len(lab.Session) == 2
    monkeypatch.setattr(sys, "stdin", _Terminal(""))  # force: nothing is read
    assert lab.Session.delete(force=True) == {session: 2}
    with tj.config.override(safemode=False):
        assert (lab.Subject & {"subject_id": 2}).delete() == {subject: 1}


def test_drop_asks_on_a_terminal(lab: Lab, monkeypatch: pytest.MonkeyPatch,
                                 capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr(sys, "stdin", _Terminal("no\n"))
    assert lab.Subject.drop() == []
    assert lab.Session.full_table_name in capsys.readouterr().err
    assert len(lab.Session) == 4
    monkeypatch.setattr(sys, "stdin", _Terminal("yes\n"))
    session = lab.Session.full_table_name
    dropped = lab.Session.drop()
    assert dropped[-1] == session and len(dropped) == 3  # with Spikes and its part
    monkeypatch.setattr(sys, "stdin", _Terminal(""))
    subject = lab.Subject.full_table_name
    assert lab.Subject.drop(force=True)[-1] == subject
    assert "_def" not in vars(lab.Subject)


# -- validate --------------------------------------------------------------------------


def test_validate_reports_every_problem_and_inserts_nothing(lab: Lab) -> None:
    rows = [
        {"subject_id": 10, "species": "mouse", "sex": "M"},
        {"subject_id": 11, "species": "mouse", "sex": "Q", "colour": "red"},
        (12,),
        {"species": "rat", "notes": "x" * 2000},
    ]
    problems = lab.Subject.validate(rows)
    found = {(p.row, p.attribute) for p in problems}
    assert found == {(1, "sex"), (1, "colour"), (2, None), (3, "subject_id"), (3, "notes")}
    assert "positional row needs" in next(p.message for p in problems if p.row == 2)
    assert len(lab.Subject) == 3
    assert lab.Subject.validate(rows[:1]) == []
    assert len(lab.Subject) == 3
    assert lab.Subject.validate([{"subject_id": 13, "species": "rat", "colour": 1}],
                                ignore_extra_fields=True) == []


def test_validate_is_reserved(schema: tj.Schema) -> None:
    with pytest.raises(tj.DeclarationError, match="'validate' is reserved"):
        @schema
        class Check(tj.Manual):
            check_id: tj.Key[int]
            validate: bool


def test_validate_raise_errors(lab: Lab) -> None:
    with pytest.raises(tj.ValidationError, match="2 row") as info:
        lab.Session.validate([{"subject_id": 1, "session_id": "x", "session_date": date(2024, 2, 1)},
                              {"subject_id": 1, "session_id": 9},
                              {"subject_id": 1, "session_id": 8, "session_date": date(2024, 2, 1)}],
                             raise_errors=True)
    assert [(p.row, p.attribute) for p in info.value.problems] == [(0, "session_id"), (1, "session_date")]
    assert len(lab.Session) == 4


# -- insert: chunk_size and inputs recognised by protocol -------------------------------


def _cells(n: int, start: int = 0) -> list[dict[str, object]]:
    return [{"cell_id": start + i, "depth": i / 2} for i in range(n)]


def test_chunked_insert_from_an_iterator(lab: Lab) -> None:
    consumed = []

    def rows() -> Iterator[dict[str, object]]:
        for row in _cells(25):
            consumed.append(row["cell_id"])
            yield row

    source = rows()
    assert lab.Cell.insert(source, chunk_size=10) == 25
    assert sorted(lab.Cell.fetch("cell_id").tolist()) == list(range(25))
    assert (lab.Cell & {"cell_id": 24}).fetch1("depth") == 12.0
    assert consumed == list(range(25))


def test_chunked_insert_is_all_or_nothing(lab: Lab) -> None:
    bad = [*_cells(25), {"cell_id": 25, "depth": "wide"}, *_cells(5, start=26)]
    with pytest.raises(tj.ValidationError) as info:
        lab.Cell.insert(iter(bad), chunk_size=10)
    assert [(p.row, p.attribute) for p in info.value.problems] == [(25, "depth")]
    assert len(lab.Cell) == 0  # the first two chunks were rolled back
    lab.Cell.insert(_cells(3))
    with pytest.raises(tj.DuplicateError):
        lab.Cell.insert(iter(_cells(5, start=-2)), chunk_size=2)  # the 2nd chunk collides
    assert sorted(lab.Cell.fetch("cell_id").tolist()) == [0, 1, 2]
    with pytest.raises(ValueError, match="chunk_size"):
        lab.Cell.insert(_cells(1), chunk_size=0)


def test_arrow_polars_pandas_inputs(lab: Lab) -> None:
    pa = pytest.importorskip("pyarrow")
    pl = pytest.importorskip("polars")
    pd = pytest.importorskip("pandas")
    lab.Cell.insert(pa.Table.from_pylist(_cells(4)), chunk_size=3)
    lab.Cell.insert(pl.DataFrame(_cells(4, start=10)))
    lab.Cell.insert(pd.DataFrame(_cells(2, start=20)))
    reader = pa.RecordBatchReader.from_batches(
        pa.schema([("cell_id", pa.int64()), ("depth", pa.float64())]),
        [pa.RecordBatch.from_pylist(_cells(2, start=30)), pa.RecordBatch.from_pylist(_cells(2, start=32))])

    class Stream:  # only the Arrow PyCapsule protocol: recognised by what it does
        def __arrow_c_stream__(self, requested_schema: object = None) -> object:
            return reader.__arrow_c_stream__(requested_schema)

    assert lab.Cell.insert(Stream()) == 4
    ids = sorted(lab.Cell.fetch("cell_id").tolist())
    assert ids == [0, 1, 2, 3, 10, 11, 12, 13, 20, 21, 30, 31, 32, 33]
    assert (lab.Cell & {"cell_id": 13}).fetch1("depth") == 1.5


def test_csv_path_input(lab: Lab, tmp_path: Path) -> None:
    path = tmp_path / "subjects.csv"
    path.write_text("subject_id,species,sex,date_of_birth\n7,rat,F,2024-01-02\n8,mouse,,\n")
    assert lab.Subject.insert(path, chunk_size=1) == 2
    rows = {r.subject_id: r for r in (lab.Subject & "subject_id > 6").fetch()}
    assert (rows[7].species, rows[7].sex, rows[7].date_of_birth) == ("rat", "F", date(2024, 1, 2))
    assert (rows[8].sex, rows[8].date_of_birth) == ("U", None)
    with pytest.raises(TypeError, match="CSV"):
        lab.Subject.insert(tmp_path / "subjects.json")


# -- populate(make_kwargs=, refresh=) ---------------------------------------------------


@pytest.fixture
def scaled(schema: tj.Schema) -> Any:
    @schema
    class Sample(tj.Manual):
        sample_id: tj.Key[int]
        weight: float

    @schema
    class Scaled(tj.Computed):
        sample: tj.Key[tj.Ref[Sample]]
        value: float

        def make(self, key: dict[str, Any], factor: float = 1.0, offset: float = 0.0) -> None:
            weight = (Sample & key).fetch1("weight")
            self.insert1({**key, "value": weight * factor + offset})

    Sample.insert([(i, float(i)) for i in range(1, 5)])
    return Sample, Scaled


def test_populate_make_kwargs(scaled: Any) -> None:
    _Sample, Scaled = scaled
    assert Scaled.populate({"sample_id": 1}, make_kwargs={"factor": 10.0}).success_count == 1
    result = Scaled.populate({"sample_id": 2}, make_kwargs={"offset": 0.5}, reserve_jobs=True)
    assert result.success_count == 1
    assert Scaled.populate({"sample_id": 3}).success_count == 1
    values = dict(zip(*Scaled.fetch("sample_id", "value"), strict=True))
    assert values == {1: 10.0, 2: 2.5, 3: 3.0}
    with pytest.raises(TypeError, match="colour"):
        Scaled.populate(make_kwargs={"colour": 1})


def test_populate_make_kwargs_in_worker_processes(scaled: Any) -> None:
    _Sample, Scaled = scaled
    result = Scaled.populate(make_kwargs={"factor": 3.0}, processes=2)
    assert result.success_count == 4
    assert sorted(Scaled.fetch("value").tolist()) == [3.0, 6.0, 9.0, 12.0]


def test_populate_refresh_false_takes_only_existing_jobs(scaled: Any) -> None:
    _Sample, Scaled = scaled
    assert Scaled.populate(reserve_jobs=True, refresh=False).success_count == 0
    assert len(Scaled) == 0
    Scaled.jobs.refresh(Scaled.key_source & {"sample_id": 2})
    assert Scaled.populate(reserve_jobs=True, refresh=False).success_count == 1
    assert Scaled.fetch("sample_id").tolist() == [2]
    assert Scaled.populate(reserve_jobs=True).success_count == 3
    assert len(Scaled) == 4


# -- tail, to_arrays(*attrs, include_key=), the graph on tables -------------------------


def test_tail(lab: Lab) -> None:
    assert [r["subject_id"] for r in lab.Subject.tail(2)] == [2, 3]
    assert [(r["subject_id"], r["session_id"]) for r in (lab.Session & {"subject_id": 1}).tail(1)] == [(1, 2)]
    assert len(lab.Session.tail()) == 4 and lab.Session.tail(0) == []


def test_to_arrays_by_name(lab: Lab) -> None:
    lab.Cell.insert([(1, 0.5), (2, 1.5), (3, 2.5)])
    depth = lab.Cell.to_arrays("depth", order_by="cell_id DESC")
    assert depth.tolist() == [2.5, 1.5, 0.5]
    ids, depth = (lab.Cell & "cell_id > 1").to_arrays("cell_id", lab.Cell.depth, order_by="KEY")
    assert (ids.tolist(), depth.tolist()) == ([2, 3], [1.5, 2.5])
    keys, depth = lab.Cell.to_arrays("depth", include_key=True, order_by="depth DESC", limit=2)
    assert keys == [{"cell_id": 3}, {"cell_id": 2}] and depth.tolist() == [2.5, 1.5]
    keys, dates = lab.Session.to_arrays("session_date", include_key=True, order_by="KEY")
    assert keys[0] == {"subject_id": 1, "session_id": 1} and dates[0] == date(2024, 1, 1)
    assert lab.Cell.to_arrays()["depth"].tolist() == [0.5, 1.5, 2.5]
    with pytest.raises(tj.QueryError, match="include_key"):
        lab.Cell.to_arrays(include_key=True)
    with pytest.raises(tj.UnknownAttributeError):
        lab.Cell.to_arrays("colour")


def test_graph_on_tables(lab: Lab, schema: tj.Schema) -> None:
    assert lab.Session.parents() == [lab.Subject]
    assert lab.Subject.children() == [lab.Device, lab.Session]
    assert lab.Session.ancestors() == [lab.Species, lab.Subject, lab.Session]
    assert lab.Session.descendants() == [lab.Session, lab.Spikes, lab.Spikes.Unit]  # type: ignore[attr-defined]
    assert lab.Spikes.parts() == [lab.Spikes.Unit]  # type: ignore[attr-defined]
    assert lab.Subject.parts() == []
    fresh = tj.Schema(schema.name, connection=schema.connection)  # the same tables, no classes
    assert fresh.classes == {}
    assert lab.Session.parents() == [f"{schema.name}.subject"]


# -- extend and semantic_check ----------------------------------------------------------


def test_extend_keeps_every_row(lab: Lab) -> None:
    lab.Spikes.insert1({"subject_id": 1, "session_id": 1, "n_units": 7}, allow_direct_insert=True)
    rows = lab.Session.extend(lab.Spikes).to_dicts(order_by="KEY")
    assert [(r["subject_id"], r["session_id"], r["n_units"]) for r in rows] == [
        (1, 1, 7), (1, 2, None), (2, 1, None), (2, 2, None)
    ]
    assert len(lab.Session * lab.Spikes) == 1
    with pytest.raises(tj.QueryError, match="determine"):
        lab.Subject.extend(lab.Session)


def test_semantic_check_off_matches_by_name(lab: Lab) -> None:
    lab.Cell.insert([{"cell_id": 1}, {"cell_id": 2}])
    cells = lab.Cell.proj(subject_id="cell_id")
    with pytest.raises(tj.QueryError, match="proj"):
        lab.Subject * cells
    joined = lab.Subject.join(cells, semantic_check=False)
    assert sorted(r["subject_id"] for r in joined.to_dicts()) == [1, 2]


def test_restriction_lineage_is_checked_when_written_and_can_be_switched_off(lab: Lab) -> None:
    lab.Cell.insert([{"cell_id": 1}, {"cell_id": 3}, {"cell_id": 7}])
    cells = lab.Cell.proj(subject_id="cell_id")
    with pytest.raises(tj.QueryError, match="restrict"):
        lab.Subject & cells  # raised when the query is written, before it runs
    with pytest.raises(tj.QueryError, match="restrict"):
        lab.Subject - [cells]
    kept = lab.Subject.restrict(cells, semantic_check=False)
    assert sorted(r["subject_id"] for r in kept.to_dicts()) == [1, 3]
    dropped = lab.Subject.restrict(cells, negate=True, semantic_check=False)
    assert sorted(r["subject_id"] for r in dropped.to_dicts()) == [2]
    assert len(lab.Subject.restrict(tj.Not(cells), semantic_check=False)) == 1


def test_aggregation_lineage_check_can_be_switched_off(lab: Lab) -> None:
    lab.Cell.insert([{"cell_id": 1}, {"cell_id": 1 + 100}])
    cells = lab.Cell.proj(subject_id="cell_id")
    with pytest.raises(tj.QueryError, match="aggregate"):
        lab.Subject.aggr(cells, n="count(*)")
    counted = lab.Subject.aggr(cells, n="count(*)", semantic_check=False)
    assert {r["subject_id"]: r["n"] for r in counted.to_dicts()} == {1: 1, 2: 0, 3: 0}
