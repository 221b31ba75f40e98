"""Schema-addressed objects shared with datajoint-python 2.3.5 (the reference peer), on MariaDB.

Both ways: the reference's inserts and staged inserts of ``<object@>``/``<npy@>`` rows
(which, unlike its ``<blob@>``, work on MariaDB) are read by typedj, and its fetch's
``ObjectRef``/``NpyRef`` read, list and verify the objects typedj wrote.
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import typedj as tj
from typedj import External, Key, Manual

from . import test_stores_interop as peer
from . import test_stores_rig as rig

dj = peer.dj
store_config = rig.store_config
shared_store = peer.shared_store
pytestmark = pytest.mark.requires("datajoint_peer", reason="datajoint-python runs on MySQL/MariaDB")

ATTRIBUTES = "raw : <object@raw>\n    trace : <npy@raw>"


def _typed(schema: tj.Schema) -> Any:
    @schema
    class Scan(Manual):
        scan_id: Key[tj.int32]
        raw: tj.Object = External("raw")
        trace: tj.Npy = External("raw")

    return Scan


def test_the_reference_reads_objects_typedj_wrote(
    shared_store: Path, schema: tj.Schema, tmp_path: Path
) -> None:
    Scan = _typed(schema)
    folder = tmp_path / "scan.zarr"
    (folder / "c").mkdir(parents=True)
    (folder / ".zattrs").write_text("{}")
    (folder / "c" / "0").write_bytes(b"chunk")
    data = np.linspace(0, 1, 12).reshape(3, 4)
    Scan.insert1(scan_id=1, raw=folder, trace=data)
    with Scan.staged_insert1() as staged:
        staged.rec.update(scan_id=2, trace=data * 2)
        with staged.open("raw", ".bin") as f:
            f.write(b"staged bytes")

    reference = peer._dj_table(schema.name, "Scan", ATTRIBUTES)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        rows = {r["scan_id"]: r for r in reference.to_dicts()}
    one, two = rows[1], rows[2]
    assert one["raw"].is_dir and sorted(one["raw"].listdir()) == [".zattrs", "c"]
    assert one["raw"].verify() and one["raw"].open("c/0").read() == b"chunk"
    assert one["trace"].shape == (3, 4) and one["trace"].dtype == np.float64
    np.testing.assert_array_equal(one["trace"].load(), data)
    assert two["raw"].read() == b"staged bytes" and two["raw"].ext == ".bin" and two["raw"].verify()
    np.testing.assert_array_equal(two["trace"].load(mmap_mode="r"), data * 2)


def test_typedj_reads_objects_the_reference_wrote(
    shared_store: Path, schema_name: str, conn: tj.Connection, tmp_path: Path
) -> None:
    reference = peer._dj_table(schema_name, "Scan", ATTRIBUTES)
    folder = tmp_path / "out"
    folder.mkdir()
    (folder / "a.txt").write_text("from datajoint")
    data = np.arange(6, dtype=np.int16)
    reference.insert1({"scan_id": 1, "raw": str(folder), "trace": data})
    with reference.staged_insert1 as staged:
        staged.rec.update(scan_id=2, trace=data + 1)
        with staged.open("raw", ".bin") as f:
            f.write(b"staged by datajoint")

    Scan = _typed(tj.Schema(schema_name, connection=conn))
    one = (Scan & {"scan_id": 1}).fetch1()
    assert one.raw.path.startswith(f"_schema/{schema_name}/scan/scan_id=1/raw_")
    assert one.raw.is_dir and one.raw.listdir() == ["a.txt"] and one.raw.item_count == 1
    assert one.raw.read("a.txt") == b"from datajoint" and one.raw.verify()
    assert (one.trace.shape, one.trace.dtype) == ((6,), np.int16)
    np.testing.assert_array_equal(one.trace.load(mmap_mode="r"), data)
    two = (Scan & {"scan_id": 2}).fetch1()
    assert two.raw.read() == b"staged by datajoint" and two.raw.ext == ".bin" and two.raw.verify()
    np.testing.assert_array_equal(np.asarray(two.trace), data + 1)
    (shared_store / one.raw.path / "a.txt").write_text("changed!")
    with pytest.raises(tj.CorruptObjectError, match=r"a\.txt has 8 bytes, the manifest says 14"):
        one.raw.verify()


def test_object_columns_are_declared_as_the_reference_declares_them(
    shared_store: Path, schema: tj.Schema, conn: tj.Connection
) -> None:
    theirs = f"{schema.name}_dj"
    try:
        peer._dj_table(theirs, "Scan", ATTRIBUTES)
        _typed(schema)
        sql = ("SELECT column_name, column_type, is_nullable, column_comment FROM information_schema.columns "
               "WHERE table_schema = %s AND table_name = 'scan' ORDER BY ordinal_position")
        assert conn.query(sql, (schema.name,)).fetchall() == conn.query(sql, (theirs,)).fetchall()
    finally:
        conn.query(f"DROP DATABASE IF EXISTS `{theirs}`")
