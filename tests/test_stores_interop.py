"""Stored objects shared with datajoint-python 2.x (the optional reference peer), on MariaDB.

What the reference cannot do here is asserted too, so a fix on its side shows up: its
``<blob@store>`` and ``<attach@store>`` inserts fail on MariaDB (it does not see that a
``longtext`` column with a ``:<blob@...>:`` comment holds JSON and hands pymysql a dict).
Its object layer works, so objects are written with the reference's own hash registry and
the row gets the very reference it builds. Its fetch works: it reads (and verifies) the
rows and objects typedj writes to a ``hash: md5`` store. ``<filepath@store>`` works both
ways.
"""

from __future__ import annotations

import json
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import typedj as tj
from typedj import Attach, Blob, External, Filepath, Key, Manual

from . import test_stores_rig as rig

with warnings.catch_warnings():
    warnings.simplefilter("ignore")  # "no datajoint.json found"
    dj = pytest.importorskip(
        "datajoint", reason="datajoint-python (the optional reference peer) is not installed"
    )

from datajoint.hash_registry import build_hash_path, compute_hash, get_hash, put_hash

store_config = rig.store_config
pytestmark = pytest.mark.requires("datajoint_peer", reason="datajoint-python runs on MySQL/MariaDB")


@pytest.fixture
def shared_store(store_config: dict[str, Any], tmp_path: Path, mysql_url: str) -> Iterator[Path]:
    """One file store, named ``raw`` in both clients' settings, MD5-addressed in typedj."""
    root = rig.file_store(store_config, tmp_path / "store", hash="md5")
    url = tj.DatabaseURL.parse(mysql_url)
    saved = dict(dj.config.stores)
    dj.config["database.host"] = url.host
    dj.config["database.port"] = url.port
    dj.config["database.user"] = url.user
    dj.config["database.password"] = url.password
    dj.config.stores = {"raw": {"protocol": "file", "location": str(root)}}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "MariaDB support is best-effort"
        dj.conn(reset=True)
    yield root
    dj.config.stores = saved


def _dj_table(schema_name: str, name: str, attributes: str) -> Any:
    """A datajoint-python Manual table ``name`` (a class name) with ``attributes`` after ``---``."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        dj_schema = dj.Schema(schema_name)
    body = f"""
    {name.lower()}_id : int32
    ---
    {attributes}
    """
    return dj_schema(type(name, (dj.Manual,), {"definition": body}))


def test_typedj_reads_and_verifies_objects_the_reference_wrote(
    shared_store: Path, schema_name: str, conn: tj.Connection, tmp_path: Path
) -> None:
    reference = _dj_table(schema_name, "Trace", "trace : <blob@raw>\n    doc : <attach@raw>")
    value = np.random.default_rng(3).random((20, 30))
    upload = tmp_path / "protocol.txt"
    upload.write_text("rinse twice")
    with pytest.raises(TypeError, match="dict can not be used as parameter"):
        reference.insert1({"trace_id": 1, "trace": value, "doc": str(upload)})
    # what its <blob@raw>/<attach@raw> codecs store: blob.pack / name\0content, put by hash
    trace_ref = put_hash(dj.blob.pack(value), schema_name=schema_name, store_name="raw", config=dj.config)
    doc_ref = put_hash(b"protocol.txt\0rinse twice", schema_name=schema_name, store_name="raw",
                       config=dj.config)
    conn.query(f"INSERT INTO `{schema_name}`.`trace` VALUES (1, %s, %s)",
               (json.dumps(trace_ref), json.dumps(doc_ref)))

    schema = tj.Schema(schema_name, connection=conn)

    @schema
    class Trace(Manual):
        trace_id: Key[tj.int32]
        trace: Blob[np.ndarray] = External("raw")
        doc: Attach = External("raw")

    row = (Trace & {"trace_id": 1}).fetch1()
    np.testing.assert_array_equal(row.trace, value)
    assert row.doc.name == "protocol.txt" and row.doc.read_text() == "rinse twice"
    # the MD5 the reference recorded is checked
    (shared_store / trace_ref["path"]).write_bytes(dj.blob.pack(value * 2))
    with pytest.raises(tj.FetchError, match=r"'trace' of the row with key \{'trace_id': 1\}.*corrupt"):
        Trace.fetch()


def test_md5_objects_typedj_wrote_are_read_by_the_reference(
    shared_store: Path, schema: tj.Schema, conn: tj.Connection
) -> None:
    @schema
    class Trace(Manual):
        trace_id: Key[tj.int32]
        trace: Blob[np.ndarray] = External("raw")

    value = np.arange(24.0).reshape(4, 6)
    Trace.insert1(trace_id=1, trace=value)
    (text,) = conn.query(f"SELECT trace FROM `{schema.name}`.`trace`").fetchone()
    ref = json.loads(text)
    data = (shared_store / ref["path"]).read_bytes()
    assert ref["hash"] == compute_hash(data)
    assert ref["path"] == build_hash_path(ref["hash"], schema.name, hash_prefix="_hash")
    np.testing.assert_array_equal(dj.blob.unpack(get_hash(ref, config=dj.config)), value)
    # and its fetch reads the row (only its insert trips over MariaDB's json columns)
    reference = _dj_table(schema.name, "Trace", "trace : <blob@raw>")
    (row,) = reference.to_dicts()
    np.testing.assert_array_equal(row["trace"], value)


def test_filepath_rows_work_both_ways(shared_store: Path, schema_name: str, conn: tj.Connection) -> None:
    (shared_store / "session1").mkdir()
    (shared_store / "session1" / "a.bin").write_bytes(b"from datajoint")
    (shared_store / "session1" / "b.bin").write_bytes(b"from typedj")
    reference = _dj_table(schema_name, "Recording", "raw : <filepath@raw>")
    reference.insert1({"recording_id": 1, "raw": "session1/a.bin"})
    schema = tj.Schema(schema_name, connection=conn)

    @schema
    class Recording(Manual):
        recording_id: Key[tj.int32]
        raw: Filepath = External("raw")

    Recording.insert1(recording_id=2, raw="session1/b.bin")
    mine = {r.recording_id: r.raw for r in Recording.fetch()}
    assert mine == {1: shared_store / "session1/a.bin", 2: shared_store / "session1/b.bin"}
    theirs = {r["recording_id"]: r["raw"].read() for r in reference.to_dicts()}
    assert theirs == {1: b"from datajoint", 2: b"from typedj"}


def test_stored_columns_are_declared_as_the_reference_declares_them(
    shared_store: Path, schema: tj.Schema, conn: tj.Connection
) -> None:
    dj_name = f"{schema.name}_dj"
    try:
        _dj_table(dj_name, "Item", "a : <blob@raw>\n    b : <attach@raw>\n    c : <filepath@raw>")

        @schema
        class Item(Manual):
            item_id: Key[tj.int32]
            a: Blob[np.ndarray] = External("raw")
            b: Attach = External("raw")
            c: Filepath = External("raw")

        def columns(db: str, table: str) -> list[tuple[Any, ...]]:
            sql = ("SELECT column_name, column_type, is_nullable, column_comment "
                   "FROM information_schema.columns WHERE table_schema = %s AND table_name = %s "
                   "ORDER BY ordinal_position")
            return [tuple(r) for r in conn.query(sql, (db, table)).fetchall()]

        assert columns(schema.name, "item") == columns(dj_name, "item")
    finally:
        conn.query(f"DROP DATABASE IF EXISTS `{dj_name}`")
