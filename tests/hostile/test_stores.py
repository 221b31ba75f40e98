"""Store tampering: whoever can write to the store or to the database's references
cannot make typedj keep a damaged object, inflate a bomb, or read outside the store."""

from __future__ import annotations

import json
import struct
import tracemalloc
import zlib
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import typedj as tj
from typedj import Blob, External, Filepath, Key, Manual
from typedj.codecs.blob import BlobError, pack, unpack
from typedj.stores.store import get_store

from .. import test_stores_rig as rig
from ..test_stores_rig import file_store, object_bytes, write_object

any_store = rig.any_store
s3_endpoint = rig.s3_endpoint
store_config = rig.store_config


def _damage(data: bytes) -> bytes:
    return bytes([data[0] ^ 0xFF]) + data[1:]  # same size, different content


def test_damaged_object_is_uploaded_again(any_store: str, store_config: dict[str, Any]) -> None:
    store = get_store("raw")
    data = b"trace" * 1000
    (ref,) = store.put_many("lab", [data], "raw")
    write_object(store_config, ref["path"], _damage(data))
    with pytest.raises(tj.StoreError, match="corrupt"):
        store.get(ref)
    assert store.put_many("lab", [data], "raw") == [ref]  # the same reference ...
    assert object_bytes(store_config, ref["path"]) == data  # ... and the object repaired
    assert store.get(ref) == data


def test_insert_over_a_damaged_object_gives_a_readable_row(
    any_store: str, store_config: dict[str, Any], schema: tj.Schema
) -> None:
    @schema
    class Trace(Manual):
        trace_id: Key[int]
        trace: Blob[np.ndarray] = External("raw")

    trace = np.arange(500, dtype=np.float64)
    Trace.insert1({"trace_id": 1, "trace": trace})
    path = json.loads(schema.connection.query(
        f"SELECT trace FROM {schema.connection.dialect.table(schema.name, 'trace')}").fetchone()[0])["path"]
    write_object(store_config, path, _damage(object_bytes(store_config, path)))
    Trace.insert1({"trace_id": 2, "trace": trace})  # the same content: the object is checked, not trusted
    assert np.array_equal((Trace & {"trace_id": 2}).fetch1("trace"), trace)
    assert np.array_equal((Trace & {"trace_id": 1}).fetch1("trace"), trace)


def _bomb(declared: int, inflated: int) -> bytes:
    """A compressed blob of ``inflated`` zero bytes whose header declares ``declared``."""
    body = zlib.compress(b"mYm\0" + b"\0" * (inflated - 4), 9)
    return b"ZL123\0" + struct.pack("<Q", declared) + body


def test_zlib_bomb_is_refused_before_inflating() -> None:
    bomb = _bomb(2 << 30, 8 << 20)  # declares 2 GiB, past the default 1 GiB limit
    tracemalloc.start()
    try:
        with pytest.raises(BlobError, match="blob_limit"):
            unpack(bomb)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 1 << 20  # nothing was inflated


def test_blob_limit_is_configurable_and_inflating_stops_at_the_declared_size() -> None:
    saved = tj.config.blob_limit
    tj.config.blob_limit = 1 << 20
    try:
        with pytest.raises(BlobError, match="blob_limit"):
            unpack(_bomb(4 << 20, 4 << 20))
    finally:
        tj.config.blob_limit = saved
    liar = _bomb(1000, 8 << 20)  # lies about its size: inflating stops there
    tracemalloc.start()
    try:
        with pytest.raises(BlobError, match="more than the 1000 bytes declared"):
            unpack(liar)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 1 << 20


def test_bomb_in_a_table_is_a_fetch_error_naming_row_and_attribute(schema: tj.Schema) -> None:
    @schema
    class Waveform(Manual):
        wave_id: Key[int]
        wave: Blob[np.ndarray]

    Waveform.insert1({"wave_id": 1, "wave": np.zeros(3)})
    conn, d = schema.connection, schema.connection.dialect
    conn.query(f"UPDATE {d.table(schema.name, 'waveform')} SET {d.quote('wave')} = {d.placeholder}",
               [_bomb(2 << 30, 1 << 20)])
    with pytest.raises(tj.FetchError, match=r"'wave' of the row with key \{'wave_id': 1\}.*blob_limit"):
        Waveform.fetch()


@pytest.fixture
def outside(tmp_path: Path) -> Path:
    secret = tmp_path / "outside" / "secret.txt"
    secret.parent.mkdir()
    secret.write_text("not for the store")
    return secret


def test_file_store_does_not_follow_links_out_of_the_store(
    store_config: dict[str, Any], tmp_path: Path, outside: Path, schema: tj.Schema
) -> None:
    root = file_store(store_config, tmp_path / "store")
    (root / "data").mkdir()
    (root / "data" / "link.txt").symlink_to(outside)
    (root / "escape").symlink_to(outside.parent, target_is_directory=True)
    (root / "data" / "real.txt").write_text("in the store")
    (root / "data" / "inner.txt").symlink_to(root / "data" / "real.txt")  # inside: fine

    @schema
    class Doc(Manual):
        doc_id: Key[int]
        doc: Filepath = External("raw")

    for i, path in enumerate(["data/link.txt", "escape/secret.txt"]):
        with pytest.raises(tj.ValidationError, match="outside the store") as info:
            Doc.insert1({"doc_id": i, "doc": path})
        assert info.value.attribute == "doc" and info.value.table.lower() == "doc"
    Doc.insert([{"doc_id": 7, "doc": "data/inner.txt"}])
    assert (Doc & {"doc_id": 7}).fetch1("doc").read_text() == "in the store"
    store = get_store("raw")
    with pytest.raises(tj.StoreError, match="outside the store"):
        store.backend.get("escape/secret.txt")
    with pytest.raises(tj.StoreError, match="outside the store"):
        store.backend.put("escape/new.txt", b"x")
    assert not (outside.parent / "new.txt").exists()
    assert len(Doc) == 1


def test_absolute_filepath_is_refused(store_config: dict[str, Any], tmp_path: Path, schema: tj.Schema,
                                      outside: Path) -> None:
    root = file_store(store_config, tmp_path / "store")
    (root / outside.relative_to("/")).parent.mkdir(parents=True)
    (root / outside.relative_to("/")).write_text("a decoy inside the store")

    @schema
    class Doc(Manual):
        doc_id: Key[int]
        doc: Filepath = External("raw")

    for bad in [str(outside), "C:\\data\\x.bin", "\\\\server\\share\\x"]:
        with pytest.raises(tj.ValidationError, match="not an absolute path") as info:
            Doc.insert1({"doc_id": 1, "doc": bad})
        assert info.value.attribute == "doc"
    assert len(Doc) == 0


@pytest.mark.parametrize(
    "tamper",
    [
        {"algorithm": "../../../outside/secret.txt#"},
        {"algorithm": "md5/../../x"},
        {"hash": "../../outside/secret.txt"},
        {"hash": "ab/../../../../etc/passwd"},
        {"algorithm": "sha1"},
    ],
)
def test_tampered_reference_cannot_name_files_outside_the_cache(
    any_store: str, store_config: dict[str, Any], tamper: dict[str, str]
) -> None:
    store_config["raw"]["cache"] = True
    store = get_store("raw")
    assert store.cache is not None
    (ref,) = store.put_many("lab", [b"payload"], "raw")
    store.get(ref)  # now cached
    with pytest.raises(tj.StoreError, match="invalid"):
        store.get({**ref, **tamper})


def test_blob_round_trips_through_pack() -> None:
    value = {"a": np.arange(3), "b": [1, "x"]}
    back: Any = unpack(pack(value))
    assert np.array_equal(back["a"], value["a"]) and list(back["b"]) == [1, "x"]
