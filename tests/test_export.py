"""Export and publish: a restricted slice of a multi-schema pipeline as a dataset, and back.

Each test runs on MariaDB and on the embedded database (the ``conn`` fixture), with the
objects in a file store and in S3 (moto's server on loopback).
"""

from __future__ import annotations

import json
import sqlite3
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any, Literal
from uuid import UUID

import numpy as np
import pytest

import typedj as tj
from typedj import Attach, Attr, Blob, Computed, External, Filepath, Key, Lookup, Manual, Part, Ref
from typedj.export import rows
from typedj.query.expression import Query

from . import test_stores_rig as rig
from .test_stores_rig import file_store

any_store = rig.any_store
s3_endpoint = rig.s3_endpoint
store_config = rig.store_config


def declare(a: tj.Schema, b: tj.Schema) -> dict[str, Any]:
    """Two schemas: subjects in ``a``; sessions (blobs, stored objects), parameters and a
    computed table with a part in ``b``."""

    @a
    class Species(Lookup):
        species: Key[str] = Attr(max_length=20)
        contents = [("mouse",), ("rat",), ("fly",)]

    @a
    class Subject(Manual):
        subject_id: Key[int]
        species: Ref[Species]
        sex: Literal["F", "M", "U"] = "U"
        born: date
        weight: Decimal = Attr(precision=5, scale=2)
        tag: UUID
        alive: bool = True

    @b
    class Param(Lookup):
        param_id: Key[tj.int16]
        threshold: tj.float32
        contents = [(1, 0.5), (2, 1.5), (3, 2.5)]

    @b
    class Session(Manual):
        subject: Key[Ref[Subject]]
        session: Key[tj.int16]
        started: datetime
        paper: str = Attr(max_length=16)
        trace: Blob[np.ndarray]
        raw: Blob[np.ndarray] = External("raw")
        protocol: Attach = External("raw")
        recording: Filepath = External("raw")
        settings: dict[str, Any]

    @b
    class Activity(Computed):
        session: Key[Ref[Session]]
        param: Key[Ref[Param]]
        mean: float

        class Peak(Part):
            peak: Key[int]
            height: float
            shape: Blob[np.ndarray] = External("raw")

        def make(self, key: dict[str, Any]) -> None:
            raw = (Session & key).fetch1("raw")
            threshold = (Param & key).fetch1("threshold")
            self.insert1({**key, "mean": float(raw.mean())})
            peaks = [{**key, "peak": i, "height": float(v), "shape": raw[i : i + 3] * threshold}
                     for i, v in enumerate(raw[:3])]
            Activity.Peak.insert(peaks)

    @b
    class Note(Manual):
        note_id: Key[int]
        text: str

    return {"Species": Species, "Subject": Subject, "Param": Param, "Session": Session,
            "Activity": Activity, "Peak": Activity.Peak, "Note": Note}


def fill(t: dict[str, Any], tmp_path: Path) -> None:
    protocol = tmp_path / "protocol.txt"
    protocol.write_text("stimulus: drifting gratings\n")
    for s in range(1, 5):
        for k in (1, 2):
            rig.write_object(tj.config.stores, f"recordings/{s}-{k}.bin", bytes([s, k]) * 1000)
    t["Subject"].insert([
        {"subject_id": i, "species": "mouse" if i < 3 else "rat", "sex": "FMU"[i % 3],
         "born": date(2026, 1, i), "weight": Decimal(f"2{i}.5{i}"), "tag": UUID(int=i), "alive": i % 2 == 0}
        for i in range(1, 5)
    ])
    t["Session"].insert([
        {"subject_id": s, "session": k, "started": datetime(2026, 3, s, 10, k, 30),
         "paper": "nature" if s in (1, 2) and k == 1 else "other",
         "trace": np.arange(20.0) * s + k, "raw": np.linspace(0, s + k, 50), "protocol": protocol,
         "recording": f"recordings/{s}-{k}.bin",
         "settings": {"rate": 30 * k, "mode": "2p"}}
        for s in range(1, 5) for k in (1, 2)
    ])
    t["Activity"].populate(t["Param"] & "param_id < 3")
    t["Note"].insert1({"note_id": 1, "text": "not part of any slice"})


@pytest.fixture
def pipeline(conn: tj.Connection, schema_name: str, any_store: str, store_config: dict[str, Any],
             tmp_path: Path) -> dict[str, Any]:
    a = tj.Schema(schema_name + "_lab", connection=conn)
    b = tj.Schema(schema_name + "_analysis", connection=conn)  # longer: the fixture drops it first
    t = declare(a, b)
    fill(t, tmp_path)
    t["a"], t["b"] = a, b
    return t


def raw_rows(conn: tj.Connection, schema: str, table: str) -> list[tuple[Any, ...]]:
    """Every row as the database holds it (driver values), in key order."""
    query: Query[Any] = Query(conn.schemas[schema].node(table))
    out = [tuple(rows.comparable(query.heading[n], v) for n, v in zip(names, r, strict=True))
           for names, batch in rows.read(query) for r in batch]
    return sorted(out, key=lambda r: repr(r[: len(query.primary_key)]))


def paper(t: dict[str, Any]) -> Any:
    return t["Session"] & {"paper": "nature"}


def test_export_holds_exactly_the_slice(pipeline: dict[str, Any], tmp_path: Path) -> None:
    t = pipeline
    report = tj.export(paper(t), to=tmp_path / "ds", include=[t["Activity"]], title="Paper data",
                       creators=["Ana Lima <ana@lab.org>"], license="CC-BY-4.0", doi="10.5281/zenodo.1",
                       description="The sessions of the paper", progress=False)
    a, b = t["a"].name, t["b"].name
    assert report.rows == {
        f"{a}.#species": 1, f"{a}.subject": 2, f"{b}.#param": 2, f"{b}.session": 2,
        f"{b}.__activity": 4, f"{b}.__activity__peak": 12,
    }
    root = tmp_path / "ds"
    db = sqlite3.connect(root / "data.db")
    assert db.execute(f'SELECT subject_id FROM "{a}.subject" ORDER BY 1').fetchall() == [(1,), (2,)]
    assert db.execute(f'SELECT species FROM "{a}.#species"').fetchall() == [("mouse",)]
    assert db.execute(f'SELECT DISTINCT param_id FROM "{b}.__activity" ORDER BY 1').fetchall() == [(1,), (2,)]
    tables = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert f"{b}.note" not in tables
    db.close()
    # objects: the sessions' raw traces and protocol, the peaks' shapes; nothing of other sessions
    exported = {p.relative_to(root / "objects" / "raw").as_posix()
                for p in (root / "objects" / "raw").rglob("*") if p.is_file()}
    session = paper(t).to_dicts()
    peaks = (t["Peak"] & paper(t).proj()).to_dicts()
    assert len(session) == 2 and len(peaks) == 12
    wanted = set()
    peak_query = t["Peak"] & paper(t).proj()
    for query, attrs in ((paper(t), ("raw", "protocol", "recording")), (peak_query, ("shape",))):
        for names, batch in rows.read(query):
            wanted |= {json.loads(r[names.index(attr)])["path"] for r in batch for attr in attrs}
    assert exported == wanted
    assert len(wanted) == 2 + 1 + 12 + 2  # two raw traces, one protocol (same file), twelve shapes, two files
    assert {"recordings/1-1.bin", "recordings/2-1.bin"} < exported
    assert len(rig.object_paths(tj.config.stores, "_hash")) > len(wanted) - 2  # the store holds more
    # the definitions, as typedj source and as a datajoint-python module
    source = (root / "definitions" / f"{b}.py").read_text()
    assert "class Session(tj.Manual):" in source or "class Session(Manual):" in source
    assert "class Peak(" in source
    compile(source, "typedj-definitions", "exec")
    dj_source = (root / "definitions" / f"{b}_datajoint.py").read_text()
    compile(dj_source, "datajoint-definitions", "exec")
    assert f"{a} = dj.VirtualModule({a!r}, {a!r})" in dj_source
    assert f"-> {a}.Subject" in dj_source and "    class Peak(dj.Part):" in dj_source
    assert "-> master" in dj_source and "recording" in dj_source
    # the manifest
    descriptor = json.loads((root / "datapackage.json").read_text())
    assert descriptor["title"] == "Paper data"
    assert descriptor["id"] == "https://doi.org/10.5281/zenodo.1"
    assert descriptor["licenses"] == [{"name": "CC-BY-4.0"}]
    assert descriptor["contributors"] == [{"title": "Ana Lima", "email": "ana@lab.org", "roles": ["creator"]}]
    assert descriptor["image"] == "diagram.svg" and (root / "diagram.svg").read_text().startswith("<?xml")
    assert descriptor["typedj"]["rows"] == report.rows
    assert descriptor["typedj"]["restriction"][0]["table"] == f"{b}.session"
    assert "nature" in descriptor["typedj"]["restriction"][0]["parameters"]
    hashed = {r["path"]: r["hash"] for r in descriptor["resources"]}
    assert set(hashed) >= {"data.db", "objects.csv", "diagram.svg", f"tables/{b}/Activity.Peak.parquet",
                           f"definitions/{a}.py", f"definitions/{b}_datajoint.py"}
    assert all(h.startswith("blake3:") and len(h) == 7 + 64 for h in hashed.values())
    assert tj.verify(root).ok


def test_dataset_is_usable_without_the_server(pipeline: dict[str, Any], tmp_path: Path) -> None:
    t = pipeline
    tj.export(paper(t), to=tmp_path / "ds", include=[t["Activity"]], progress=False)
    expected = sorted((paper(t)).to_dicts(), key=lambda r: r["subject_id"])
    conn = tj.open_dataset(tmp_path / "ds")
    a = tj.Schema(t["a"].name, connection=conn, create_schema=False, create_tables=False)
    b = tj.Schema(t["b"].name, connection=conn, create_schema=False, create_tables=False)

    @a
    class Species(Lookup):
        species: Key[str] = Attr(max_length=20)

    @a
    class Subject(Manual):
        subject_id: Key[int]
        species: Ref[Species]
        sex: Literal["F", "M", "U"] = "U"
        born: date
        weight: Decimal = Attr(precision=5, scale=2)
        tag: UUID
        alive: bool = True

    subjects = Subject.fetch(order_by="subject_id")  # typed rows, from the dataset's file
    assert [(s.subject_id, s.born, s.weight, s.tag, s.alive) for s in subjects] == [
        (1, date(2026, 1, 1), Decimal("21.51"), UUID(int=1), False),
        (2, date(2026, 1, 2), Decimal("22.52"), UUID(int=2), True)]
    assert len(Subject * Species & {"species": "mouse"}) == 2
    analysis = tj.virtual_module("analysis", t["b"].name, connection=conn)
    assert len(analysis.Activity.Peak) == 12
    tj.config.stores["raw"] = {"protocol": "file", "location": str(tmp_path / "ds" / "objects" / "raw")}
    got = Query(b.node("session")).to_dicts()
    assert sorted(r["subject_id"] for r in got) == [1, 2]
    for mine, theirs in zip(sorted(got, key=lambda r: r["subject_id"]), expected, strict=True):
        assert mine["started"] == theirs["started"] and mine["settings"] == theirs["settings"]
        assert np.array_equal(mine["trace"], theirs["trace"])
        assert mine["protocol"].read_text() == theirs["protocol"].read_text()
        assert np.array_equal(mine["raw"], theirs["raw"])  # read from the dataset's objects
        assert mine["recording"].read_bytes() == theirs["recording"].read_bytes()
    conn.close()
    assert tj.verify(tmp_path / "ds").ok  # reading changed nothing


def test_roundtrip_into_a_fresh_embedded_database(pipeline: dict[str, Any], tmp_path: Path,
                                                  store_config: dict[str, Any]) -> None:
    t = pipeline
    a, b = t["a"].name, t["b"].name
    exported = tj.export(paper(t), to=tmp_path / "ds.tar.gz", include=[t["Activity"]], progress=False)
    assert tj.verify(tmp_path / "ds.tar.gz").ok
    source_conn = t["a"].connection
    original = {(s, n): raw_rows(source_conn, s, n) for s, n in
                [(a, "#species"), (a, "subject"), (b, "#param"), (b, "session"), (b, "__activity"),
                 (b, "__activity__peak")]}
    old_store = dict(store_config["raw"])
    file_store(store_config, tmp_path / "new-store")
    target = tj.connect(f"sqlite:///{tmp_path / 'copy.db'}")
    report = tj.import_dataset(tmp_path / "ds.tar.gz", connection=target, progress=False)
    assert report.inserted[f"{b}.session"] == 2 and sum(report.skipped.values()) == 0
    for (s, n), before in original.items():
        copy = raw_rows(target, s, n)
        assert len(copy) == exported.rows[f"{s}.{n}"] > 0
        assert [r for r in before if r in copy] == copy, (s, n)  # the same rows, byte for byte
    # the objects, byte for byte, at the same paths in the target's store
    new_paths = rig.object_paths(store_config, "_hash")
    assert new_paths
    for path in new_paths:
        store_config["raw"], current = old_store, store_config["raw"]
        before = rig.object_bytes(store_config, path)
        store_config["raw"] = current
        assert rig.object_bytes(store_config, path) == before
    # importing again skips every row
    again = tj.import_dataset(tmp_path / "ds.tar.gz", connection=target, progress=False)
    assert sum(again.inserted.values()) == 0 and again.skipped[f"{b}.__activity__peak"] == 12


def _remove_object(stores: dict[str, Any], path: str) -> bytes:
    """Take an object out of the store, as an outage would; returns its bytes."""
    data = rig.object_bytes(stores, path)
    rig.delete_object(stores, path)
    return data


def test_interrupted_export_resumes(pipeline: dict[str, Any], tmp_path: Path,
                                    store_config: dict[str, Any]) -> None:
    t = pipeline
    clean = tj.export(paper(t), to=tmp_path / "clean", include=[t["Activity"]], progress=False)
    shape = json.loads(next(r[names.index("shape")] for names, batch in
                            rows.read(t["Peak"] & paper(t).proj()) for r in batch))["path"]
    data = _remove_object(store_config, shape)
    with pytest.raises(tj.StoreError, match="missing"):
        tj.export(paper(t), to=tmp_path / "ds.zip", include=[t["Activity"]], progress=False)
    state = json.loads((tmp_path / "ds.zip.partial" / ".typedj-export.json").read_text())
    assert f"rows:{t['b'].name}.session" in state["done"] and "objects" not in state["done"]
    rig.write_object(store_config, shape, data)
    resumed = tj.export(paper(t), to=tmp_path / "ds.zip", include=[t["Activity"]], progress=False)
    assert resumed.resumed and not clean.resumed
    assert resumed.rows == clean.rows and resumed.objects == clean.objects == 17
    assert not (tmp_path / "ds.zip.partial").exists()
    assert tj.verify(tmp_path / "ds.zip").ok
    import zipfile

    with zipfile.ZipFile(tmp_path / "ds.zip") as z:  # the same objects with the same checksums
        assert z.read("objects.csv") == (tmp_path / "clean" / "objects.csv").read_bytes()


def test_tampered_dataset_fails_verification(pipeline: dict[str, Any], tmp_path: Path) -> None:
    from typedj.cli import main

    t = pipeline
    root = tmp_path / "ds"
    tj.export(paper(t), to=root, include=[t["Activity"]], progress=False)
    assert main(["verify", str(root)]) == 0
    parquet_file = next((root / "tables").rglob("Session.parquet"))
    data = bytearray(parquet_file.read_bytes())
    data[len(data) // 2] ^= 1
    parquet_file.write_bytes(bytes(data))
    an_object = next(p for p in (root / "objects").rglob("*") if p.is_file())
    an_object.write_bytes(an_object.read_bytes()[:-1] + b"!")
    (root / "tables" / "extra.csv").write_text("a,b\n")
    report = tj.verify(root)
    assert not report.ok
    tampered = [parquet_file.relative_to(root).as_posix(), an_object.relative_to(root).as_posix()]
    assert sorted(p.split(":")[0] for p in report.problems) == sorted([*tampered, "tables/extra.csv"])
    assert "checksum differs" in next(p for p in report.problems if p.startswith("tables/" + t["b"].name))
    assert main(["verify", str(root)]) == 1
    with pytest.raises(tj.VerificationError, match=r"Session\.parquet"):
        tj.import_dataset(root, connection=tj.connect(f"sqlite:///{tmp_path / 'x.db'}"), progress=False)
    with pytest.raises(tj.VerificationError):
        tj.verify(root, strict=True)


def test_import_is_all_or_nothing_and_refuses_different_rows(pipeline: dict[str, Any], tmp_path: Path,
                                                              store_config: dict[str, Any]) -> None:
    t = pipeline
    b = t["b"].name
    tj.export(paper(t), to=tmp_path / "paper", include=[t["Activity"]], progress=False)
    tj.export(t["Session"], to=tmp_path / "all", include=[t["Activity"]], progress=False)
    file_store(store_config, tmp_path / "new-store")
    target = tj.connect(f"sqlite:///{tmp_path / 'copy.db'}")
    tj.import_dataset(tmp_path / "paper", connection=target, progress=False)
    target.query(f'UPDATE "{b}.__activity__peak" SET height = height + 1 '
                 "WHERE subject_id = 2 AND param_id = 2 AND peak = 1")
    with pytest.raises(tj.ConflictError, match=r"__activity__peak.*'subject_id': 2.*\['height'\]") as info:
        tj.import_dataset(tmp_path / "all", connection=target, progress=False)
    assert info.value.table == "__activity__peak"
    assert info.value.key == {"subject_id": 2, "session": 1, "param_id": 2, "peak": 1}
    count = target.query(f'SELECT COUNT(*) FROM "{b}.session"').fetchone()[0]
    assert count == 2  # the six other sessions, inserted before the conflict, were rolled back


def test_backup_and_restore_of_whole_schemas_under_new_names(pipeline: dict[str, Any], conn: tj.Connection,
                                                             tmp_path: Path) -> None:
    t = pipeline
    a, b = t["a"].name, t["b"].name
    report = tj.export(t["a"], t["b"], to=tmp_path / "backup.tar", progress=False)
    assert report.rows[f"{b}.note"] == 1 and report.rows[f"{b}.session"] == 8
    restored = tj.import_dataset(tmp_path / "backup.tar", connection=conn,
                                 schemas={a: a + "2", b: b + "2"}, progress=False)
    assert len(restored.created) == 7 and restored.inserted[f"{b}2.session"] == 8
    for schema in (t["a"], t["b"]):
        copy = tj.Schema(schema.name + "2", connection=conn, create_schema=False)
        for table in schema.list_tables():
            before = Query(schema.node(table)).to_dicts(order_by="KEY")
            after = Query(copy.node(table)).to_dicts(order_by="KEY")
            assert len(after) == len(before) > 0, table
            for x, y in zip(before, after, strict=True):
                assert x.keys() == y.keys()
                for k in x:
                    if isinstance(x[k], np.ndarray):
                        assert np.array_equal(x[k], y[k]), (table, k)
                    elif isinstance(x[k], Path):
                        assert x[k].read_bytes() == y[k].read_bytes() and x[k].name == y[k].name
                    else:
                        assert x[k] == y[k], (table, k)
    # the objects: same content hashes, under the new schema's name, all referenced
    old = {p.rsplit("/", 1)[1] for p in rig.object_paths(tj.config.stores, f"_hash/{b}")}
    new = {p.rsplit("/", 1)[1] for p in rig.object_paths(tj.config.stores, f"_hash/{b}2")}
    assert old == new and len(old) > 15
    gc = tj.gc(b + "2", connection=conn)
    assert gc.unreferenced == 0 and gc.referenced == len(new)


def test_parquet_files_read_back_with_their_types(pipeline: dict[str, Any], tmp_path: Path) -> None:
    import polars as pl
    import pyarrow as pa
    import pyarrow.parquet as pq

    t = pipeline
    root = tmp_path / "ds"
    tj.export(paper(t), to=root, include=[t["Activity"]], progress=False)
    a, b = t["a"].name, t["b"].name
    subject = pq.read_table(root / "tables" / a / "Subject.parquet")
    assert subject.schema.field("subject_id").type == pa.int32()
    assert subject.schema.field("born").type == pa.date32()
    assert subject.schema.field("weight").type == pa.decimal128(5, 2)
    assert subject.schema.field("alive").type == pa.bool_()
    assert pa.types.is_dictionary(subject.schema.field("sex").type)
    assert subject.schema.field("born").metadata[b"typedj.type"] == b"date"
    assert subject.sort_by("subject_id").to_pylist() == [
        {"subject_id": 1, "species": "mouse", "sex": "M", "born": date(2026, 1, 1),
         "weight": Decimal("21.51"), "tag": str(UUID(int=1)), "alive": False},
        {"subject_id": 2, "species": "mouse", "sex": "U", "born": date(2026, 1, 2),
         "weight": Decimal("22.52"), "tag": str(UUID(int=2)), "alive": True}]
    session = pl.read_parquet(root / "tables" / b / "Session.parquet").sort("subject_id")
    assert session.schema["session"] == pl.Int16
    assert session.schema["started"] == pl.Datetime("us")
    assert session.schema["trace"] == pl.Binary
    assert session["started"].to_list() == [datetime(2026, 3, 1, 10, 1, 30), datetime(2026, 3, 2, 10, 1, 30)]
    assert json.loads(session["settings"][0]) == {"rate": 30, "mode": "2p"}
    assert json.loads(session["raw"][0])["path"].startswith(f"_hash/{b}/")
    param = pl.read_parquet(root / "tables" / b / "Param.parquet").sort("param_id")
    assert param.schema["threshold"] == pl.Float32 and param["threshold"].to_list() == [0.5, 1.5]
    peak = pl.read_parquet(root / "tables" / b / "Activity.Peak.parquet")
    assert peak.height == 12 and peak.schema["height"] == pl.Float64
    assert pl.read_parquet(root / "tables" / a / "Subject.parquet").schema["sex"] == pl.Categorical


def test_command_line_export_verify_import(pipeline: dict[str, Any], tmp_path: Path,
                                           store_config: dict[str, Any]) -> None:
    from typedj.cli import main

    t = pipeline
    a, b = t["a"].name, t["b"].name
    dest = tmp_path / "paper.tar.gz"
    assert main(["export", str(dest), "--restrict", f"{b}.Session", "paper = 'nature'",
                 "--include", f"{b}.Activity", "--title", "Paper", "--creator", "Ana Lima <ana@lab.org>",
                 "--license", "CC-BY-4.0", "--doi", "10.5281/zenodo.2", "-q"]) == 0
    assert main(["verify", str(dest)]) == 0
    file_store(store_config, tmp_path / "new-store")
    saved = tj.config.database_url
    try:
        assert main(["--database-url", f"sqlite:///{tmp_path / 'copy.db'}", "import", str(dest),
                     "--rename", f"{a}={a}x", "--rename", f"{b}={b}x", "-q"]) == 0
    finally:
        tj.config.database_url = saved
    copy = sqlite3.connect(tmp_path / "copy.db")
    assert copy.execute(f'SELECT COUNT(*) FROM "{b}x.__activity__peak"').fetchone() == (12,)
    assert copy.execute(f'SELECT subject_id FROM "{a}x.subject" ORDER BY 1').fetchall() == [(1,), (2,)]
    copy.close()
    assert main(["export", str(tmp_path / "x"), "--restrict", f"{b}.Nope", "1", "-q"]) == 1


def test_roundtrip_between_the_two_backends(pipeline: dict[str, Any], conn: tj.Connection, tmp_path: Path,
                                            request: pytest.FixtureRequest) -> None:
    """Embedded to MariaDB and MariaDB to embedded: the same rows, byte for byte."""
    from .conftest import BACKENDS

    if len(BACKENDS) < 2:
        pytest.skip("needs both backends (TYPEDJ_TEST_BACKENDS)")
    t = pipeline
    a, b = t["a"].name, t["b"].name
    if conn.dialect.name == "sqlite":
        target = tj.connect(request.getfixturevalue("mysql_url"))
    else:
        target = tj.connect(f"sqlite:///{tmp_path / 'copy.db'}")
    tj.export(paper(t), to=tmp_path / "ds", include=[t["Activity"]], progress=False)
    try:
        report = tj.import_dataset(tmp_path / "ds", connection=target, progress=False)
        assert report.inserted[f"{b}.__activity__peak"] == 12
        for s, n in [(a, "subject"), (b, "session"), (b, "__activity__peak")]:
            copy = raw_rows(target, s, n)
            assert copy and [r for r in raw_rows(conn, s, n) if r in copy] == copy
    finally:
        for s in (b, a):
            if target.catalog.schema_exists(s):
                target.catalog.drop_database(s)
            target.schemas.pop(s, None)
        target.graph = None


def test_objects_and_arrays_at_row_named_paths(conn: tj.Connection, schema_name: str, any_store: str,
                                               store_config: dict[str, Any], tmp_path: Path) -> None:
    """``Object`` files and folders and ``Npy`` arrays: exported, verified, imported under a new name."""
    schema = tj.Schema(schema_name, connection=conn)

    @schema
    class Scan(Manual):
        scan_id: Key[int]
        movie: tj.Object = External("raw")
        trace: tj.Npy = External("raw")

    folder = tmp_path / "scan.zarr"
    (folder / "0").mkdir(parents=True)
    (folder / ".zarray").write_text('{"shape": [4]}')
    (folder / "0" / "0").write_bytes(b"\x01\x02\x03\x04")
    one = tmp_path / "one.bin"
    one.write_bytes(b"x" * 5000)
    Scan.insert([{"scan_id": 1, "movie": folder, "trace": np.arange(6.0).reshape(2, 3)},
                 {"scan_id": 2, "movie": one, "trace": np.ones(4, dtype=np.int16)},
                 {"scan_id": 3, "movie": one, "trace": np.zeros(1)}])
    report = tj.export(Scan & "scan_id < 3", to=tmp_path / "ds", progress=False)
    assert report.rows == {f"{schema_name}.scan": 2}
    files = sorted(p.relative_to(tmp_path / "ds" / "objects" / "raw").as_posix()
                   for p in (tmp_path / "ds" / "objects" / "raw").rglob("*") if p.is_file())
    assert len(files) == 2 + 1 + 2 + 1  # a folder of two files and its manifest, a file, two arrays
    assert all(f.startswith(f"_schema/{schema_name}/scan/scan_id=") for f in files)
    assert not any("scan_id=3" in f for f in files)
    assert tj.verify(tmp_path / "ds").ok
    file_store(store_config, tmp_path / "new-store")
    tj.import_dataset(tmp_path / "ds", connection=conn, schemas={schema_name: schema_name + "_copy"},
                      progress=False)
    copy = tj.Schema(schema_name + "_copy", connection=conn, create_schema=False)
    rows_ = {r["scan_id"]: r for r in Query(copy.node("scan")).to_dicts()}
    assert sorted(rows_) == [1, 2]
    movie = rows_[1]["movie"]
    assert movie.is_dir and movie.path.startswith(f"_schema/{schema_name}_copy/scan/")
    assert movie.read("0/0") == b"\x01\x02\x03\x04" and movie.read(".zarray") == b'{"shape": [4]}'
    movie.verify()
    assert rows_[2]["movie"].read() == b"x" * 5000
    assert np.array_equal(rows_[1]["trace"].load(), np.arange(6.0).reshape(2, 3))
    assert rows_[2]["trace"].load().dtype == np.int16


def test_datajoint_014_external_columns_are_refused_by_name() -> None:
    from typedj import graph as graphs
    from typedj.export.plan import _refuse_unsupported
    from typedj.heading import Attribute, Heading, TableDef

    rec = TableDef("old_lab", "rec", Heading.of([
        Attribute("rec_id", "int", "int", in_key=True, core=False),
        Attribute("ext", "blob@raw", "binary(16)", core=False)]))
    graph = graphs.build([rec])
    refused = r"old_lab\.rec: attributes \['ext'\] use datajoint 0\.14"
    with pytest.raises(tj.DatasetError, match=refused) as info:
        _refuse_unsupported(graph, {"old_lab.rec": None})
    assert (info.value.table, info.value.attribute) == ("old_lab.rec", "ext")


KILLED_EXPORT = """
import sys
import typedj as tj
from typedj.query.expression import Query

schema = tj.Schema(sys.argv[1], create_schema=False, create_tables=False)
tj.export(Query(schema.node("frame")), to=sys.argv[2], progress=False)
"""


def test_killed_export_resumes(conn: tj.Connection, schema_name: str, store_config: dict[str, Any],
                               tmp_path: Path, request: pytest.FixtureRequest) -> None:
    """An export killed (SIGKILL) after its rows were written continues where it stopped."""
    import os
    import subprocess
    import sys
    import time

    store = file_store(store_config, tmp_path / "store")
    schema = tj.Schema(schema_name, connection=conn)

    @schema
    class Frame(Manual):
        frame_id: Key[int]
        image: Blob[np.ndarray] = External("raw")

    rng = np.random.default_rng(0)
    Frame.insert({"frame_id": i, "image": rng.random(8000)} for i in range(400))
    script = tmp_path / "export.py"
    script.write_text(KILLED_EXPORT)
    url = request.getfixturevalue("conn_url")
    env = {**os.environ, "TYPEDJ_DATABASE_URL": url,
           "TYPEDJ_STORE_RAW_PROTOCOL": "file", "TYPEDJ_STORE_RAW_LOCATION": str(store)}
    dest = tmp_path / "ds"
    child = subprocess.Popen([sys.executable, str(script), schema_name, str(dest)], env=env)
    state = dest / ".typedj-export.json"
    deadline = time.monotonic() + 120
    while not (state.is_file() and "rows:" in state.read_text()):
        assert child.poll() is None and time.monotonic() < deadline, "the export ended before it was killed"
        time.sleep(0.005)
    child.kill()
    child.wait()
    assert "objects" not in json.loads(state.read_text())["done"]
    assert not (dest / "datapackage.json").exists()
    stale = dest / "objects" / "raw" / f".frame.{child.pid}.typedj-partial"  # as a kill mid-copy leaves
    stale.parent.mkdir(parents=True, exist_ok=True)
    stale.write_bytes(b"half an object")
    resumed = tj.export(Frame, to=dest, progress=False)
    assert not stale.exists()
    clean = tj.export(Frame, to=tmp_path / "clean", progress=False)
    assert resumed.resumed and resumed.rows == clean.rows == {f"{schema_name}.frame": 400}
    assert tj.verify(dest).ok
    assert (dest / "objects.csv").read_bytes() == (tmp_path / "clean" / "objects.csv").read_bytes()
