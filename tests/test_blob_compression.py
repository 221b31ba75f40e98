"""The compression level: chosen from the data, or fixed in the settings (globally or per store)."""

from __future__ import annotations

import struct
import zlib
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

import typedj as tj
from typedj.codecs.blob import BlobError, compression_level, pack, unpack
from typedj.errors import StoreError
from typedj.stores.spec import StoreSpec


def _body(blob: bytes) -> bytes:
    assert blob[:6] == b"ZL123\0"
    assert struct.unpack("<Q", blob[6:14])[0] > 0
    return blob[14:]


def test_auto_picks_level_6_where_it_stores_much_less_and_level_1_where_it_does_not() -> None:
    rng = np.random.default_rng(3)
    quantized = np.round(rng.normal(size=(100, 100)), 2)  # compresses, and far better at level 6
    raw = pack(quantized, compress=False)
    assert len(zlib.compress(raw, 6)) < 0.9 * len(zlib.compress(raw, 1))
    assert _body(pack(quantized)) == zlib.compress(raw, 6)
    counter = np.arange(20_000, dtype="i4")  # compresses to a third, as well at level 1 as at 6
    raw = pack(counter, compress=False)
    assert len(zlib.compress(raw, 1)) < 0.5 * len(raw)
    assert len(zlib.compress(raw, 6)) > 0.95 * len(zlib.compress(raw, 1))
    assert _body(pack(counter)) == zlib.compress(raw, 1)
    assert np.array_equal(unpack(pack(quantized)), quantized)  # type: ignore[arg-type]


def test_a_fixed_level_is_used_and_zero_means_raw() -> None:
    rng = np.random.default_rng(4)
    a = np.round(rng.normal(size=(100, 100)), 2)
    raw = pack(a, compress=False)
    assert _body(pack(a, compress=9)) == zlib.compress(raw, 9)
    assert _body(pack(a, compress="1")) == zlib.compress(raw, 1)
    assert pack(a, compress=0) == raw
    noise = rng.normal(size=(100, 100))
    assert pack(noise, compress=9) == pack(noise, compress=False)  # still not worth it: raw
    assert [compression_level(v) for v in ("auto", True, None, False, 0, 5, "7")] == [
        None, None, None, 0, 0, 5, 7,
    ]
    with pytest.raises(BlobError, match="zlib level 0-9"):
        compression_level(10)
    with pytest.raises(BlobError, match="'fast'"):
        compression_level("fast")


def test_store_option_is_checked() -> None:
    spec = StoreSpec.parse("s", {"protocol": "file", "location": "/tmp/x", "compression": 3})
    assert spec.compression == 3
    assert StoreSpec.parse("s", {"protocol": "file", "location": "/tmp/x"}).compression is None
    with pytest.raises(StoreError, match="store 's': option 'compression'"):
        StoreSpec.parse("s", {"protocol": "file", "location": "/tmp/x", "compression": "best"})


def test_configured_level_applies_to_table_blobs(
    schema: tj.Schema, conn: tj.Connection, monkeypatch: pytest.MonkeyPatch
) -> None:
    @schema
    class Image(tj.Manual):
        image_id: tj.Key[int]
        pixels: tj.Blob[np.ndarray]

    a = np.round(np.random.default_rng(5).normal(size=(100, 100)), 2)
    raw = pack(a, compress=False)
    monkeypatch.setattr(tj.config, "blob_compression", 0)
    Image.insert1({"image_id": 0, "pixels": a})
    monkeypatch.setattr(tj.config, "blob_compression", 9)
    Image.insert1({"image_id": 9, "pixels": a})
    table = conn.dialect.table(schema.name, "image")
    stored = dict(conn.query(f"SELECT image_id, pixels FROM {table}").fetchall())
    assert bytes(stored[0]) == raw
    assert _body(bytes(stored[9])) == zlib.compress(raw, 9)
    assert all(np.array_equal(p, a) for p in Image.fetch("pixels"))


def test_setting_from_the_environment(tmp_path: object) -> None:
    from typedj.config import Config

    settings = Config()
    assert settings.blob_compression == "auto"
    settings.reload(environ={"TYPEDJ_BLOB_COMPRESSION": "3"})
    assert settings.blob_compression == "3" and compression_level(settings.blob_compression) == 3


def test_an_attribute_sets_its_own_compression(
    schema: tj.Schema, conn: tj.Connection, monkeypatch: pytest.MonkeyPatch
) -> None:
    @schema
    class Frames(tj.Manual):
        frame_id: tj.Key[int]
        plain: tj.Blob[np.ndarray]
        raw: tj.Blob[np.ndarray] = tj.Attr(compression=False)
        tight: tj.Blob[np.ndarray] = tj.Attr(compression=9)

    a = np.round(np.random.default_rng(6).normal(size=(100, 100)), 2)
    packed = pack(a, compress=False)
    monkeypatch.setattr(tj.config, "blob_compression", 1)
    Frames.insert1({"frame_id": 1, "plain": a, "raw": a, "tight": a})
    table = conn.dialect.table(schema.name, "frames")
    plain, raw, tight = conn.query(f"SELECT plain, raw, tight FROM {table}").fetchone()
    assert _body(bytes(plain)) == zlib.compress(packed, 1)  # the global setting
    assert bytes(raw) == packed
    assert _body(bytes(tight)) == zlib.compress(packed, 9)
    assert Frames.heading["raw"].compression is False and Frames.heading["plain"].compression is None
    row = Frames.fetch1()
    assert all(np.array_equal(getattr(row, n), a) for n in ("plain", "raw", "tight"))


def test_an_attribute_setting_overrides_its_store(
    schema: tj.Schema, conn: tj.Connection, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    location = tmp_path / "packed"
    monkeypatch.setitem(tj.config.stores, "packed", {"protocol": "file", "location": str(location),
                                                      "compression": 9})

    @schema
    class Trace(tj.Manual):
        trace_id: tj.Key[int]
        samples: tj.Blob[np.ndarray] = tj.External("packed", compression=0)
        other: tj.Blob[np.ndarray] = tj.External("packed")

    a = np.round(np.random.default_rng(7).normal(size=(50, 50)), 2)
    packed = pack(a, compress=False)
    Trace.insert1({"trace_id": 1, "samples": a, "other": a})
    stored = sorted((p.read_bytes() for p in location.rglob("*") if p.is_file()), key=len)
    assert stored == [b"ZL123\0" + struct.pack("<Q", len(packed)) + zlib.compress(packed, 9), packed]
    assert np.array_equal(Trace.fetch1("samples"), a)


def _not_a_blob() -> type:
    class Bad(tj.Manual):
        bad_id: tj.Key[int]
        value: int = tj.Attr(compression=1)

    return Bad


def _level_out_of_range() -> type:
    class Bad(tj.Manual):
        bad_id: tj.Key[int]
        value: tj.Blob[np.ndarray] = tj.Attr(compression=12)

    return Bad


def _unknown_setting() -> type:
    class Bad(tj.Manual):
        bad_id: tj.Key[int]
        value: tj.Blob[np.ndarray] = tj.External("raw", compression="fast")

    return Bad


@pytest.mark.parametrize(("table", "message"), [
    (_not_a_blob, "Bad.value: compression is for Blob attributes; this one is int32"),
    (_level_out_of_range, "Bad.value: blob compression is .* a zlib level 0-9 .* not 12"),
    (_unknown_setting, "Bad.value: blob compression is .* not 'fast'"),
])
def test_a_compression_setting_is_checked_when_declared(
    schema: tj.Schema, table: Callable[[], type], message: str
) -> None:
    with pytest.raises(tj.DeclarationError, match=message) as info:
        schema(table())
    assert info.value.table == "Bad" and info.value.attribute == "value"
    assert "bad" not in schema.tables


@pytest.mark.requires("datajoint_peer", reason="datajoint-python reads pipelines on MySQL servers only")
def test_datajoint_reads_every_compression_setting(
    schema: tj.Schema, mysql_url: str
) -> None:
    dj = pytest.importorskip("datajoint")
    import warnings

    @schema
    class Frames(tj.Manual):
        frame_id: tj.Key[int]
        raw: tj.Blob[np.ndarray] = tj.Attr(compression=0)
        fast: tj.Blob[np.ndarray] = tj.Attr(compression=1)
        tight: tj.Blob[np.ndarray] = tj.Attr(compression=9)

    a = np.round(np.random.default_rng(8).normal(size=(100, 100)), 2)
    Frames.insert1({"frame_id": 1, "raw": a, "fast": a, "tight": a})
    url = tj.DatabaseURL.parse(mysql_url)
    for name in ("host", "port", "user", "password"):
        dj.config[f"database.{name}"] = getattr(url, name)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        vm = dj.VirtualModule("vm", schema.name, connection=dj.conn(reset=True))
        row = vm.Frames.fetch1()
    assert all(np.array_equal(row[n], a) for n in ("raw", "fast", "tight"))
