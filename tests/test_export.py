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
from typedj import Attach, Attr, Blob, Computed, External, Key, Lookup, Manual, Part, Ref
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
    t["Subject"].insert([
        {"subject_id": i, "species": "mouse" if i < 3 else "rat", "sex": "FMU"[i % 3],
         "born": date(2026, 1, i), "weight": Decimal(f"2{i}.5{i}"), "tag": UUID(int=i), "alive": i % 2 == 0}
        for i in range(1, 5)
    ])
    t["Session"].insert([
        {"subject_id": s, "session": k, "started": datetime(2026, 3, s, 10, k, 30, 250000),
         "paper": "nature" if s in (1, 2) and k == 1 else "other",
         "trace": np.arange(20.0) * s + k, "raw": np.linspace(0, s + k, 50), "protocol": protocol,
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
    for query, attrs in ((paper(t), ("raw", "protocol")), (t["Peak"] & paper(t).proj(), ("shape",))):
        for names, batch in rows.read(query):
            wanted |= {json.loads(r[names.index(attr)])["path"] for r in batch for attr in attrs}
    assert exported == wanted
    assert len(wanted) == 2 + 1 + 12  # two raw traces, one protocol (same file), twelve shapes
    assert len(rig.object_paths(tj.config.stores, "_hash")) > len(wanted)  # the store holds more
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
    got = Query(b.node("session")).to_dicts()
    assert sorted(r["subject_id"] for r in got) == [1, 2]
    for mine, theirs in zip(sorted(got, key=lambda r: r["subject_id"]), expected, strict=True):
        assert mine["started"] == theirs["started"] and mine["settings"] == theirs["settings"]
        assert np.array_equal(mine["trace"], theirs["trace"])
        assert mine["protocol"].read_text() == theirs["protocol"].read_text()
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
