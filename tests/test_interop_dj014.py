"""Schemas declared by datajoint-python 0.14 (what most labs run), shared with it both ways.

The peer is the real package in its own venv (``tests/peer014.py``), on the same MariaDB
and the same store folder.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any
from uuid import UUID

import numpy as np
import pytest

import typedj as tj
from typedj import Attach, Attr, Blob, External, Filepath, Key, Manual, legacy

from . import peer014
from . import test_stores_rig as rig

store_config = rig.store_config
pytestmark = pytest.mark.requires("datajoint_peer", reason="datajoint 0.14 runs on MySQL/MariaDB")

DEFINITION = '''
rec_id : int
---
trace : longblob             # in-table blob, no type comment
note = "" : varchar(64)      # a note
ext : blob@raw               # blob in the store
doc : attach@raw
doc_in = null : attach
link = null : filepath@raw
uid = null : uuid
'''


@pytest.fixture
def peer(store_config: dict[str, Any], tmp_path: Path) -> dict[str, Any]:
    """Both clients configured with one file store ``raw`` (0.14 stages filepaths in it)."""
    peer014.require()
    root = rig.file_store(store_config, tmp_path / "store")
    return {"raw": {"protocol": "file", "location": str(root), "stage": str(root)}}


def _declare(schema: tj.Schema) -> Any:
    @schema
    class Rec(Manual):
        rec_id: Key[int]
        trace: Blob[np.ndarray] = Attr(comment="in-table blob, no type comment")
        note: str = Attr(max_length=64, default="", comment="a note")
        ext: Blob[Any] = External("raw", comment="blob in the store")
        doc: Attach = External("raw")
        doc_in: Attach | None = None
        link: Filepath | None = External("raw", default=None)
        uid: UUID | None = None

    return Rec


def test_typedj_reads_and_writes_a_schema_datajoint_014_declared(
    peer: dict[str, Any], schema_name: str, conn: tj.Connection, mysql_url: str, tmp_path: Path
) -> None:
    root = Path(peer["raw"]["location"])
    (root / "raw").mkdir()
    (root / "raw" / "a.bin").write_bytes(b"linked by 0.14")
    (root / "raw" / "b.bin").write_bytes(b"linked by typedj")
    peer014.run(f'''
        schema = dj.Schema({schema_name!r})
        @schema
        class Rec(dj.Manual):
            definition = {DEFINITION!r}
        p = {str(tmp_path / "notes.txt")!r}
        open(p, "w").write("from 0.14")
        Rec.insert1(dict(rec_id=1, trace=np.arange(12.0).reshape(3, 4), ext={{"a": [1, 2], "b": "x"}},
                         doc=p, doc_in=p, link={str(root / "raw" / "a.bin")!r},
                         uid="6a1c9e4e-7d2a-4e0b-9a8f-2f5c1d0e3b4a"))
    ''', mysql_url, peer, stage=tmp_path)

    schema = tj.Schema(schema_name, connection=conn)
    assert schema.layout == "0.14"
    Rec = _declare(schema)  # no drift: the class matches what 0.14 declared
    row = (Rec & {"rec_id": 1}).fetch1()
    np.testing.assert_array_equal(row.trace, np.arange(12.0).reshape(3, 4))
    assert row.ext == {"a": [1, 2], "b": "x"}
    assert row.doc.name == "notes.txt" and row.doc.read_text() == "from 0.14"
    assert row.doc_in.name == "notes.txt" and row.doc_in.read_text() == "from 0.14"
    assert row.link == root / "raw" / "a.bin"
    assert row.uid == UUID("6a1c9e4e-7d2a-4e0b-9a8f-2f5c1d0e3b4a")

    virtual = tj.virtual_module("rec014", schema_name, connection=conn)
    assert "Blob[Any] = External('raw'" in virtual.__source__
    np.testing.assert_array_equal(virtual.Rec.fetch1("trace"), np.arange(12.0).reshape(3, 4))
    assert virtual.Rec.fetch1("ext") == {"a": [1, 2], "b": "x"}

    upload = tmp_path / "up" / "scan.txt"
    upload.parent.mkdir()
    upload.write_text("from typedj")
    big = np.random.default_rng(1).random((50, 40))  # compressed by the blob format
    Rec.insert1(rec_id=2, trace=big, ext=big, doc=upload, doc_in=upload, link="raw/b.bin", note="t")
    Rec.insert1(rec_id=3, trace=np.zeros(2), ext=None if False else [1, "two"], doc=upload)

    got = peer014.run(f'''
        schema = dj.Schema({schema_name!r})
        @schema
        class Rec(dj.Manual):
            definition = {DEFINITION!r}
        rows = (Rec & "rec_id > 1").fetch(as_dict=True, order_by="rec_id",
                                          download_path={str(tmp_path / "dl")!r})
        out([dict(r, doc=open(r["doc"]).read(), doc_in=r["doc_in"] and open(r["doc_in"]).read(),
                  link=r["link"] and open(r["link"], "rb").read().decode()) for r in rows])
    ''', mysql_url, peer, stage=tmp_path)
    two, three = got
    np.testing.assert_array_equal(np.array(two["trace"]["array"]), big)
    np.testing.assert_array_equal(np.array(two["ext"]["array"]), big)
    assert (two["doc"], two["doc_in"], two["link"], two["note"]) == ("from typedj", "from typedj",
                                                                     "linked by typedj", "t")
    assert three["ext"] == [1, "two"] and three["doc_in"] is None and three["link"] is None

    # 0.14's own bookkeeping agrees: every object typedj stored is tracked and in use
    report = peer014.run(f'''
        schema = dj.Schema({schema_name!r})
        ext = schema.external["raw"]
        out({{"unused": len(ext.unused()), "used": len(ext.used()),
              "missing": [str(p) for _, p in ext.fetch_external_paths() if not os.path.exists(p)]}})
    ''', mysql_url, peer)
    # rows 1-3: three objects each, but rows 2 and 3 attach the same file (stored once)
    assert report == {"unused": 0, "used": 8 - 1, "missing": []}


def _columns(conn: tj.Connection, db: str) -> list[tuple[Any, ...]]:
    sql = ("SELECT table_name, column_name, column_type, is_nullable, column_default, column_comment "
           "FROM information_schema.columns WHERE table_schema = %s ORDER BY table_name, ordinal_position")
    return [tuple(r) for r in conn.query(sql, (db,)).fetchall()]


def _references(conn: tj.Connection, db: str) -> list[tuple[Any, ...]]:
    sql = ("SELECT table_name, column_name, referenced_table_name, referenced_column_name "
           "FROM information_schema.key_column_usage WHERE table_schema = %s "
           "AND referenced_table_name IS NOT NULL ORDER BY table_name, column_name")
    return [tuple(r) for r in conn.query(sql, (db,)).fetchall()]


def test_a_new_schema_in_014_layout_is_declared_as_014_declares_it(
    peer: dict[str, Any], schema_name: str, conn: tj.Connection, mysql_url: str, tmp_path: Path
) -> None:
    theirs = f"{schema_name}_dj"
    peer014.run(f'''
        schema = dj.Schema({theirs!r})
        @schema
        class Rec(dj.Manual):
            definition = {DEFINITION!r}
        @schema
        class Other(dj.Manual):
            definition = """
            -> Rec
            n : smallint
            ---
            x : double
            flag = 1 : tinyint
            """
        schema.jobs  # 0.14 creates ~jobs on first use
    ''', mysql_url, peer)
    schema = tj.Schema(schema_name, connection=conn, layout="0.14")
    Rec = _declare(schema)

    @schema
    class Other(Manual):
        rec: Key[tj.Ref[Rec]]
        n: Key[tj.int16]
        x: float
        flag: tj.int8 = 1

    for sql in conn.dialect.create_table(legacy.jobs_table(schema_name)):  # what LegacyJobs creates
        conn.query(sql)
    mine = [c for c in _columns(conn, schema_name) if c[0] != "~lineage"]
    assert mine == _columns(conn, theirs)
    assert _references(conn, schema_name) == _references(conn, theirs)
    assert schema.list_tables() == ["rec", "other"]  # ~external_raw is bookkeeping
    assert tj.Diagram(schema).nodes == {f"{schema_name}.rec", f"{schema_name}.other"}

    # 0.14 writes into the tables typedj declared, and typedj reads it
    (tmp_path / "n.txt").write_text("0.14 into typedj's table")
    peer014.run(f'''
        schema = dj.Schema({schema_name!r})
        @schema
        class Rec(dj.Manual):
            definition = {DEFINITION!r}
        Rec.insert1(dict(rec_id=7, trace=np.eye(2), ext=np.ones(3), doc={str(tmp_path / "n.txt")!r}))
        out(len(Rec()))
    ''', mysql_url, peer)
    row = (Rec & {"rec_id": 7}).fetch1()
    np.testing.assert_array_equal(row.trace, np.eye(2))
    np.testing.assert_array_equal(row.ext, np.ones(3))
    assert row.doc.read_text() == "0.14 into typedj's table"


PIPELINE = '''
import time
schema = dj.Schema(SCHEMA)

@schema
class Subject(dj.Manual):
    definition = """
    subject_id : int
    """

@schema
class Activity(dj.Computed):
    definition = """
    -> Subject
    ---
    value : double
    maker : varchar(16)
    """

    def make(self, key):
        time.sleep(SLEEP)
        if key["subject_id"] in FAIL:
            raise ValueError(f"0.14 cannot make {key['subject_id']}")
        self.insert1(dict(key, value=2.0 * key["subject_id"], maker="0.14"))
'''


def _pipeline(schema: tj.Schema, fail: set[int], sleep: float = 0) -> tuple[Any, Any]:
    @schema
    class Subject(Manual):
        subject_id: Key[int]

    @schema
    class Activity(tj.Computed):
        subject: Key[tj.Ref[Subject]]
        value: float
        maker: str = Attr(max_length=16)

        def make(self, key: dict[str, Any]) -> None:
            time.sleep(sleep)
            if key["subject_id"] in fail:
                raise ValueError(f"typedj cannot make {key['subject_id']}")
            Activity.insert1({**key, "value": 2.0 * key["subject_id"], "maker": "typedj"})

    return Subject, Activity


def test_typedj_and_014_workers_share_the_jobs_table(
    peer: dict[str, Any], schema_name: str, conn: tj.Connection, mysql_url: str
) -> None:
    def in_peer(fail: set[int], then: str) -> Any:
        return peer014.run(f"SCHEMA = {schema_name!r}\nFAIL = {fail!r}\nSLEEP = 0\n" + PIPELINE + then,
                           mysql_url, peer)

    in_peer({3}, '''
Subject.insert([{"subject_id": i} for i in range(1, 9)])
Activity.populate("subject_id <= 3", reserve_jobs=True, suppress_errors=True)
schema.jobs.ignore(Activity.table_name, {"subject_id": 4})
''')
    schema = tj.Schema(schema_name, connection=conn)
    _, Activity = _pipeline(schema, fail={6})
    jobs = Activity.jobs
    assert jobs.progress() == {"reserved": 0, "error": 1, "ignore": 1, "total": 2}
    (failed,) = jobs.errors.fetch()
    assert failed["key"] == {"subject_id": 3} and failed["error_message"] == "ValueError: 0.14 cannot make 3"
    assert "Traceback" in failed["error_stack"]

    held = jobs.key_params({"subject_id": 8})
    assert jobs.reserve(held)
    result = Activity.populate(reserve_jobs=True, suppress_errors=True)
    assert [k["subject_id"] for k in result.succeeded] == [5, 7]
    assert [f.key["subject_id"] for f in result.failed] == [6]

    seen = in_peer(set(), '''
Activity.populate(reserve_jobs=True, suppress_errors=True)
out({"rows": sorted([int(k), m] for k, m in zip(*Activity.fetch("subject_id", "maker"))),
     "jobs": sorted([int(k["subject_id"]), s, e]
                    for k, s, e in zip(*schema.jobs.fetch("key", "status", "error_message")))})
''')
    assert seen["rows"] == [[1, "0.14"], [2, "0.14"], [5, "typedj"], [7, "typedj"]]  # none held were made
    assert seen["jobs"] == [[3, "error", "ValueError: 0.14 cannot make 3"], [4, "ignore", ""],
                            [6, "error", "ValueError: typedj cannot make 6"], [8, "reserved", ""]]

    assert jobs.release(held)
    assert jobs.retry() == 2  # errors become available again, to 0.14 workers too
    seen = in_peer(set(), '''
Activity.populate(reserve_jobs=True, suppress_errors=True)
out({"rows": sorted([int(k), m] for k, m in zip(*Activity.fetch("subject_id", "maker"))),
     "jobs": len(schema.jobs)})
''')
    assert seen == {"rows": [[1, "0.14"], [2, "0.14"], [3, "0.14"], [5, "typedj"], [6, "0.14"], [7, "typedj"],
                             [8, "0.14"]], "jobs": 1}
    assert jobs.progress()["ignore"] == 1 and not Activity.populate(reserve_jobs=True).succeeded


def test_typedj_and_014_workers_populate_one_table_at_the_same_time(
    peer: dict[str, Any], schema_name: str, conn: tj.Connection, mysql_url: str
) -> None:
    n = 24
    peer014.run(f"SCHEMA = {schema_name!r}\nFAIL = set()\nSLEEP = 0\n" + PIPELINE
                + f"Subject.insert([{{'subject_id': i}} for i in range(1, {n + 1})])", mysql_url, peer)
    schema = tj.Schema(schema_name, connection=conn)
    _, Activity = _pipeline(schema, fail=set(), sleep=0.25)
    worker = peer014.start(f"SCHEMA = {schema_name!r}\nFAIL = set()\nSLEEP = 0.25\n" + PIPELINE + '''
made = Activity.populate(reserve_jobs=True, suppress_errors=True)
out(made["success_count"] if isinstance(made, dict) else made)
''', mysql_url, peer)
    try:
        deadline = time.monotonic() + 120
        while not Activity.fetch() and time.monotonic() < deadline:  # the 0.14 worker is under way
            time.sleep(0.1)
        mine = Activity.populate(reserve_jobs=True, suppress_errors=True)
        stdout, stderr = worker.communicate(timeout=300)
    finally:
        if worker.poll() is None:
            worker.kill()
    assert worker.returncode == 0, stderr[-3000:]
    makers = [r.maker for r in Activity.fetch()]
    assert sorted(r.subject_id for r in Activity.fetch()) == list(range(1, n + 1))  # each key once
    assert not mine.failed and len(mine.succeeded) == makers.count("typedj") > 0
    assert makers.count("0.14") > 0 and Activity.jobs.progress()["total"] == 0
    (report,) = [line for line in stdout.splitlines() if line.startswith("@@PEER@@")]
    assert json.loads(report.removeprefix("@@PEER@@")) == makers.count("0.14")  # it failed none


s3_endpoint = rig.s3_endpoint


def test_stored_values_in_s3_cross_both_ways(
    store_config: dict[str, Any], s3_endpoint: str, schema_name: str, conn: tj.Connection, mysql_url: str,
    tmp_path: Path,
) -> None:
    peer014.require()
    rig.s3_store(store_config, s3_endpoint)
    spec = store_config["raw"]
    theirs = {"raw": {k: spec[k] for k in ("protocol", "endpoint", "bucket", "location", "access_key",
                                            "secret_key", "secure")}}
    definition = "rec_id : int\n---\next : blob@raw\ndoc = null : attach@raw\n"
    (tmp_path / "a.txt").write_text("0.14 in S3")
    peer014.run(f'''
        schema = dj.Schema({schema_name!r})
        @schema
        class Rec(dj.Manual):
            definition = {definition!r}
        Rec.insert1(dict(rec_id=1, ext=np.arange(4.0), doc={str(tmp_path / "a.txt")!r}))
    ''', mysql_url, theirs)
    schema = tj.Schema(schema_name, connection=conn)

    @schema
    class Rec(Manual):
        rec_id: Key[int]
        ext: Blob[np.ndarray] = External("raw")
        doc: Attach | None = External("raw", default=None)

    row = Rec.fetch1()
    np.testing.assert_array_equal(row.ext, np.arange(4.0))
    assert row.doc.read_text() == "0.14 in S3"
    (tmp_path / "b.txt").write_text("typedj in S3")
    Rec.insert1(rec_id=2, ext=np.eye(3), doc=tmp_path / "b.txt")
    got = peer014.run(f'''
        schema = dj.Schema({schema_name!r})
        @schema
        class Rec(dj.Manual):
            definition = {definition!r}
        ext, doc = (Rec & "rec_id = 2").fetch1("ext", "doc", download_path={str(tmp_path / "dl")!r})
        out({{"ext": ext, "doc": open(doc).read()}})
    ''', mysql_url, theirs)
    assert got["ext"]["array"] == np.eye(3).tolist() and got["doc"] == "typedj in S3"
