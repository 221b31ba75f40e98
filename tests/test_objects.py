"""Schema-addressed objects: ``Object`` (files, folders) and ``Npy`` (arrays), and staged inserts."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import typedj as tj
from typedj import External, Key, Manual

from . import test_stores_rig as rig

store_config = rig.store_config
s3_endpoint = rig.s3_endpoint
any_store = rig.any_store


def _tables(schema: tj.Schema) -> tuple[Any, Any]:
    @schema
    class Scan(Manual):
        scan_id: Key[int]
        session: Key[str] = tj.Attr(max_length=16)
        raw: tj.Object = External("raw")
        notes: tj.Object | None = External("raw", default=None)

    @schema
    class Trace(Manual):
        trace_id: Key[int]
        trace: tj.Npy = External("raw")

    return Scan, Trace


def test_objects_are_stored_at_paths_named_by_the_row(
    any_store: str, schema: tj.Schema, conn: tj.Connection, tmp_path: Path
) -> None:
    Scan, _ = _tables(schema)
    folder = tmp_path / "scan.zarr"
    (folder / "0").mkdir(parents=True)
    (folder / ".zarray").write_text('{"shape": [4]}')
    (folder / "0" / "0").write_bytes(b"\x01\x02\x03")
    single = tmp_path / "notes.txt"
    single.write_text("calm")
    Scan.insert([{"scan_id": 1, "session": "a/b", "raw": folder, "notes": single},
                 {"scan_id": 2, "session": "x", "raw": (".bin", b"raw bytes")}])

    (text,) = conn.query(f"SELECT raw FROM {conn.dialect.table(schema.name, 'scan')} "
                         "WHERE scan_id = 1").fetchone()
    meta = json.loads(text)
    assert meta["path"].startswith(f"_schema/{schema.name}/scan/scan_id=1/session=a%2Fb/raw_")
    assert (meta["store"], meta["size"], meta["is_dir"], meta["item_count"]) == ("raw", 14 + 3, True, 2)
    assert meta["ext"] is None

    one = (Scan & {"scan_id": 1}).fetch1()
    assert isinstance(one.raw, tj.ObjectRef) and one.raw.is_dir
    assert one.raw.listdir() == [".zarray", "0/0"]
    assert one.raw.read("0/0") == b"\x01\x02\x03"
    with one.raw.open(".zarray") as f:
        assert json.load(f) == {"shape": [4]}
    assert one.raw.verify()
    back = one.raw.download(tmp_path / "copy")
    assert (back / "0" / "0").read_bytes() == b"\x01\x02\x03"
    assert one.notes.read() == b"calm" and one.notes.ext == ".txt" and one.notes.size == 4
    two = (Scan & {"scan_id": 2}).fetch1()
    assert two.raw.read() == b"raw bytes" and two.raw.ext == ".bin" and two.notes is None


def test_verify_finds_a_changed_folder(
    store_config: dict[str, Any], schema: tj.Schema, tmp_path: Path
) -> None:
    root = rig.file_store(store_config, tmp_path / "store")
    Scan, _ = _tables(schema)
    folder = tmp_path / "f"
    folder.mkdir()
    (folder / "a").write_bytes(b"12345")
    Scan.insert1(scan_id=1, session="s", raw=folder)
    ref = Scan.fetch1("raw")
    (root / ref.path / "a").write_bytes(b"123")
    with pytest.raises(tj.CorruptObjectError, match="a has 3 bytes, the manifest says 5"):
        ref.verify()


def test_arrays_are_lazy_and_memory_mapped(any_store: str, schema: tj.Schema, tmp_path: Path) -> None:
    _, Trace = _tables(schema)
    data = np.arange(60, dtype=np.float32).reshape(6, 10)
    Trace.insert1(trace_id=1, trace=data)
    ref = Trace.fetch1("trace")
    assert isinstance(ref, tj.NpyRef)
    assert (ref.shape, ref.dtype, ref.nbytes, len(ref), ref.is_loaded) == ((6, 10), np.float32, 240, 6, False)
    mapped = ref.load(mmap_mode="r")
    assert isinstance(mapped, np.memmap) and not ref.is_loaded
    np.testing.assert_array_equal(mapped[2:4], data[2:4])
    np.testing.assert_array_equal(np.asarray(ref) + 1, data + 1)
    assert ref.is_loaded and ref[5, 9] == 59


def test_bad_values_are_refused_by_row(any_store: str, schema: tj.Schema) -> None:
    Scan, Trace = _tables(schema)
    with pytest.raises(tj.ValidationError, match=r"row 1.*'trace'.*numpy array"):
        Trace.insert([{"trace_id": 1, "trace": np.zeros(2)}, {"trace_id": 2, "trace": [1, 2]}])
    with pytest.raises(tj.ValidationError, match=r"row 0.*'raw'.*no file or folder"):
        Scan.insert1(scan_id=1, session="s", raw="/nonexistent/folder")
    assert Trace.fetch() == [] and Scan.fetch() == []


def test_staged_insert_writes_into_the_store_and_cleans_up_on_failure(
    store_config: dict[str, Any], schema: tj.Schema, tmp_path: Path
) -> None:
    root = rig.file_store(store_config, tmp_path / "store")
    Scan, _ = _tables(schema)
    with Scan.staged_insert1() as staged:
        staged.rec.update(scan_id=1, session="s")
        mapping = staged.store("raw", ".zarr")
        mapping[".zgroup"] = b'{"zarr_format": 2}'
        mapping["data/0.0"] = b"\x00" * 100
        with staged.open("notes", ".txt") as f:
            f.write(b"written in place")
    row = Scan.fetch1()
    assert row.raw.is_dir and row.raw.item_count == 2 and row.raw.size == 118 and row.raw.ext == ".zarr"
    assert row.raw.fsmap["data/0.0"] == b"\x00" * 100
    assert row.notes.read() == b"written in place"

    with pytest.raises(RuntimeError, match="acquisition failed"), Scan.staged_insert1() as staged:
        staged.rec.update(scan_id=2, session="s")
        staged.store("raw", ".zarr")["x"] = b"partial"
        raise RuntimeError("acquisition failed")
    with pytest.raises(tj.DuplicateError), Scan.staged_insert1() as staged:
        staged.rec.update(scan_id=1, session="s")  # the insert itself fails
        staged.store("raw")["x"] = b"orphan"
    assert len(Scan.fetch()) == 1
    kept = sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file())
    assert all(p.startswith((row.raw.path + "/", row.notes.path)) for p in kept), kept


def test_wrapped_values_and_fetched_references_insert_as_copies(
    any_store: str, schema: tj.Schema, tmp_path: Path
) -> None:
    Scan, Trace = _tables(schema)
    folder = tmp_path / "f"
    folder.mkdir()
    (folder / "x.txt").write_text("folder file")
    Scan.insert1(scan_id=1, session="s", raw=tj.ObjectRef.of(folder), notes=tj.ObjectRef.of((".md", b"# n")))
    Trace.insert1(trace_id=1, trace=tj.NpyRef.of(np.arange(3)))
    first = Scan.fetch1()
    Scan.insert1(scan_id=2, session="s", raw=first.raw, notes=first.notes)  # copies, at the new row's paths
    Trace.insert1(trace_id=2, trace=Trace.fetch1("trace"))
    second = (Scan & {"scan_id": 2}).fetch1()
    assert second.raw.path != first.raw.path and "scan_id=2" in second.raw.path
    assert second.raw.read("x.txt") == b"folder file" and second.raw.verify()
    assert second.notes.read() == b"# n" and second.notes.ext == ".md"
    np.testing.assert_array_equal((Trace & {"trace_id": 2}).fetch1("trace").load(), np.arange(3))
