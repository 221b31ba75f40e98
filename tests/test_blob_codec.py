"""Tests of typedj's DataJoint blob codec.

Three layers: byte-exact blobs built by hand from the format table (no reference needed),
interop with datajoint-python over a broad corpus (skipped without ``datajoint``), and
robustness: every truncation and random corruption must raise ``BlobError``.
"""

from __future__ import annotations

import datetime
import decimal
import struct
import uuid
import warnings
import zlib
from typing import Any

import numpy as np
import pytest

from typedj.codecs.blob import BlobError, MatCell, MatStruct, StructElement, pack, unpack

MYM = b"mYm\0"
DJ0 = b"dj0\0"


# --------------------------------------------------------------------------- byte builders


def u16(n: int) -> bytes:
    return struct.pack("<H", n)


def u32(n: int) -> bytes:
    return struct.pack("<I", n)


def u64(n: int) -> bytes:
    return struct.pack("<Q", n)


def dims(*shape: int) -> bytes:
    return u64(len(shape)) + b"".join(u64(s) for s in shape)


def arr(shape: tuple[int, ...], cls: int, data: bytes, is_complex: int = 0) -> bytes:
    return b"A" + dims(*shape) + u32(cls) + u32(is_complex) + data


def f64(*xs: float) -> bytes:
    return struct.pack(f"<{len(xs)}d", *xs)


def sized(item: bytes) -> bytes:
    return u64(len(item)) + item


def double11(x: float) -> bytes:
    """MATLAB's scalar: a 1x1 double."""
    return arr((1, 1), 6, f64(x))


def py_int(n: int) -> bytes:
    width = n.bit_length() // 8 + 1
    return b"\x0a" + u16(width) + n.to_bytes(width, "little", signed=True)


def py_str(s: str) -> bytes:
    raw = s.encode()
    return b"\x05" + u64(len(raw)) + raw


# --------------------------------------------------------------------------- comparison


def same(got: Any, want: Any) -> bool:
    """Strict deep equality: types, dtypes, shapes and values (NaN == NaN, NaT == NaT)."""
    if isinstance(want, MatStruct):
        return (
            isinstance(got, MatStruct)
            and got.shape == want.shape
            and got.fields == want.fields
            and all(same(got[f], want[f]) for f in want.fields)
        )
    if isinstance(want, MatCell):
        return isinstance(got, MatCell) and same(got.to_numpy(), want.to_numpy())
    if isinstance(want, np.ndarray):
        if not isinstance(got, np.ndarray) or got.shape != want.shape or got.dtype != want.dtype:
            return False
        if want.dtype.names:
            return all(same(np.asarray(got[n]), np.asarray(want[n])) for n in want.dtype.names)
        if want.dtype.kind == "O":
            return all(same(g, w) for g, w in zip(got.ravel(), want.ravel(), strict=True))
        if want.dtype.kind == "M":
            return bool(np.array_equal(got.view("i8"), want.view("i8")))
        return bool(np.array_equal(got, want, equal_nan=want.dtype.kind in "fc"))
    if type(got) is not type(want):
        return False
    if isinstance(want, list | tuple):
        return len(got) == len(want) and all(same(g, w) for g, w in zip(got, want, strict=True))
    if isinstance(want, dict):
        return got.keys() == want.keys() and all(same(got[k], want[k]) for k in want)
    if isinstance(want, float | np.floating) and np.isnan(want):
        return bool(np.isnan(got))
    return bool(got == want)


# --------------------------------------------------------------------------- hand-built blobs


def test_double_matrix_is_column_major() -> None:
    a = np.array([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])
    blob = MYM + arr((2, 3), 6, f64(1, 4, 2, 5, 3, 6))
    assert pack(a) == blob
    assert same(unpack(blob), a)


@pytest.mark.parametrize(
    "view",
    [
        lambda a: np.asfortranarray(a),
        lambda a: np.ascontiguousarray(a.T).T,
        lambda a: np.pad(a, 2)[2:-2, 2:-2],
        lambda a: np.repeat(a, 2, axis=1)[:, ::2],
    ],
    ids=["fortran", "transposed", "padded-view", "strided-view"],
)
def test_memory_layout_does_not_change_bytes(view: Any) -> None:
    a = np.arange(12.0).reshape(3, 4)
    v = view(a)
    assert np.array_equal(v, a)
    assert pack(v) == pack(a) == MYM + arr((3, 4), 6, a.tobytes(order="F"))


@pytest.mark.parametrize(
    ("dtype", "cls"),
    [
        ("?", 3),
        ("f8", 6),
        ("f4", 7),
        ("i1", 8),
        ("u1", 9),
        ("i2", 10),
        ("u2", 11),
        ("i4", 12),
        ("u4", 13),
        ("i8", 14),
        ("u8", 15),
    ],
)
def test_numeric_class_ids(dtype: str, cls: int) -> None:
    a = (np.arange(6).reshape(2, 3) % 2 == 1) if dtype == "?" else np.arange(6, dtype=dtype)
    a = a.reshape(2, 3)
    blob = MYM + arr((2, 3), cls, a.astype(dtype).tobytes(order="F"))
    assert pack(a) == blob
    assert same(unpack(blob), a)


def test_complex_stores_real_parts_then_imaginary_parts() -> None:
    a = np.array([1 + 2j, 3 + 4j])
    blob = MYM + arr((2,), 6, f64(1, 3) + f64(2, 4), is_complex=1)
    assert pack(a) == blob
    assert same(unpack(blob), a)
    single = a.astype("c8")
    got = unpack(pack(single))
    assert same(got, single)


def test_matlab_complex_integers_widen_to_complex128() -> None:
    blob = MYM + arr((1, 2), 10, struct.pack("<2h", 1, -2) + struct.pack("<2h", 3, 4), 1)
    assert same(unpack(blob), np.array([[1 + 3j, -2 + 4j]]))


def test_zero_d_array_needs_dj0_and_reads_back_as_numpy_scalar() -> None:
    blob = DJ0 + arr((), 6, f64(3.5))
    assert pack(np.array(3.5)) == blob == pack(np.float64(3.5))
    assert same(unpack(blob), np.float64(3.5))
    assert same(unpack(blob, squeeze=True), 3.5)


def test_empty_matlab_matrix() -> None:
    blob = MYM + arr((0, 0), 6, b"")
    assert pack(np.zeros((0, 0))) == blob
    assert same(unpack(blob), np.zeros((0, 0)))


def test_matlab_char_row_is_one_utf16_string() -> None:
    text = "héllo wörld €"
    blob = MYM + arr((1, len(text)), 4, text.encode("utf-16-le"))
    assert same(unpack(blob), np.array([text]))
    assert unpack(blob, squeeze=True) == text


def test_matlab_char_row_with_surrogate_pair() -> None:
    text = "a😀b"
    units = text.encode("utf-16-le")
    blob = MYM + arr((1, len(units) // 2), 4, units)
    assert same(unpack(blob), np.array([text]))


def test_matlab_char_matrix_is_column_major() -> None:
    # MATLAB ['abc'; 'déf'] is stored a, d, b, é, c, f.
    blob = MYM + arr((2, 3), 4, "adbécf".encode("utf-16-le"))
    assert same(unpack(blob), np.array([["a", "b", "c"], ["d", "é", "f"]]))


def test_matlab_empty_char() -> None:
    assert same(unpack(MYM + arr((0, 0), 4, b"")), np.zeros((0, 0), dtype="U1"))
    assert same(unpack(MYM + arr((1, 0), 4, b"")), np.array([""]))


def test_bytes_char_array_packs_as_utf16_class_4() -> None:
    a = np.array([[b"a", b"b"], [b"c", b"d"]], dtype="S1")
    assert pack(a) == MYM + arr((2, 2), 4, "acbd".encode("utf-16-le"))
    assert same(unpack(pack(a)), np.array([["a", "b"], ["c", "d"]]))


def test_logical() -> None:
    a = np.array([[True, False, True]])
    blob = MYM + arr((1, 3), 3, b"\x01\x00\x01")
    assert pack(a) == blob
    assert same(unpack(blob), a)


@pytest.mark.parametrize("unit", ["Y", "M", "W", "D", "h", "m", "s", "ms", "us", "ns", "ps", "fs", "as"])
def test_datetime64_class_ids(unit: str) -> None:
    units = ["Y", "M", "W", "D", "h", "m", "s", "ms", "us", "ns", "ps", "fs", "as"]
    a = np.array([0, 5, -3], dtype=f"M8[{unit}]")
    blob = DJ0 + arr((3,), 65536 + units.index(unit), struct.pack("<3q", 0, 5, -3))
    assert pack(a) == blob
    assert same(unpack(blob), a)


def test_object_array_class_5() -> None:
    a = np.array([1, "x", None], dtype=object)
    blob = DJ0 + arr((3,), 5, sized(py_int(1)) + sized(py_str("x")) + sized(b"\xff"))
    assert pack(a) == blob
    assert same(unpack(blob), a)


def test_object_array_of_equal_shaped_arrays_keeps_its_shape() -> None:
    a = np.empty(2, dtype=object)
    a[0], a[1] = np.arange(3), np.ones(3)
    got = unpack(pack(a))
    assert isinstance(got, np.ndarray) and got.shape == (2,) and same(got, a)


def test_text_array_becomes_object_array_of_str() -> None:
    a = np.array([["ab", "c"], ["d", "é"]])
    blob = DJ0 + arr(
        (2, 2), 5, sized(py_str("ab")) + sized(py_str("d")) + sized(py_str("c")) + sized(py_str("é"))
    )
    assert pack(a) == blob
    assert same(unpack(blob), a.astype(object))


def test_struct_array_layout() -> None:
    s = MatStruct.from_dicts(
        [
            {"a": np.array([[1.0]]), "bb": np.array([[2.0]])},
            {"a": np.array([[3.0]]), "bb": np.array([[4.0]])},
        ]
    )
    blob = (
        MYM
        + b"S"
        + dims(1, 2)
        + u32(2)
        + b"a\0bb\0"
        + b"".join(sized(double11(x)) for x in (1.0, 2.0, 3.0, 4.0))
    )
    assert pack(s) == blob
    got = unpack(blob)
    assert same(got, s) and got == s
    assert isinstance(got, MatStruct) and got[1]["bb"] == np.array([[4.0]])


def test_struct_elements_are_column_major() -> None:
    s = MatStruct.from_dicts([{"v": np.array([[float(i)]])} for i in range(6)], shape=(2, 3))
    assert s[0, 1]["v"][0, 0] == 2.0  # linear index 2 is row 0, column 1
    blob = MYM + b"S" + dims(2, 3) + u32(1) + b"v\0" + b"".join(sized(double11(i)) for i in range(6))
    assert pack(s) == blob
    assert unpack(blob) == s


def test_struct_without_fields() -> None:
    s = MatStruct((), (1, 3))
    blob = MYM + b"S" + dims(1, 3) + u32(0)
    assert pack(s) == blob
    assert unpack(blob) == s
    # datajoint-python writes a stray NUL after an empty name list; it is accepted.
    got = unpack(blob + b"\0")
    assert isinstance(got, MatStruct) and got.shape == (1, 3) and got.fields == ()


def test_cell_layout() -> None:
    c = MatCell([np.array([[1.0]]), np.array([[2.0, 3.0]])], shape=(2, 1))
    blob = MYM + b"C" + dims(2, 1) + sized(double11(1.0)) + sized(arr((1, 2), 6, f64(2, 3)))
    assert pack(c) == blob
    assert unpack(blob) == c


def test_record_array_layout() -> None:
    r = np.array([(1, 2.5), (3, 4.5)], dtype=[("i", "<i4"), ("x", "<f8")])
    blob = (
        DJ0
        + b"F"
        + u32(2)
        + b"i\0x\0"
        + arr((2,), 12, struct.pack("<2i", 1, 3))
        + arr((2,), 6, f64(2.5, 4.5))
    )
    assert pack(r) == blob
    got = unpack(blob)
    assert isinstance(got, np.recarray) and same(np.asarray(got), r)
    assert got.x[1] == 4.5


def test_record_array_with_subarray_field_round_trips() -> None:
    r = np.zeros(3, dtype=[("pos", "f8", (2,)), ("id", "i4")])
    r["pos"] = np.arange(6.0).reshape(3, 2)
    r["id"] = [7, 8, 9]
    assert same(np.asarray(unpack(pack(r))), r)


UUID = uuid.UUID("12345678-1234-5678-1234-567812345678")


@pytest.mark.parametrize(
    ("value", "item"),
    [
        (None, b"\xff"),
        (True, b"\x0b\x01"),
        (False, b"\x0b\x00"),
        (0, b"\x0a" + u16(1) + b"\x00"),
        (-1, b"\x0a" + u16(1) + b"\xff"),
        (255, b"\x0a" + u16(2) + b"\xff\x00"),
        (-129, b"\x0a" + u16(2) + b"\x7f\xff"),
        (2**64, b"\x0a" + u16(9) + b"\x00" * 8 + b"\x01"),
        (1.5, b"\x0d" + f64(1.5)),
        (1 - 2j, b"\x0c" + f64(1, -2)),
        ("hé", b"\x05" + u64(3) + "hé".encode()),
        (b"ab", b"\x06" + u64(2) + b"ab"),
        (decimal.Decimal("-1.50"), b"d" + u64(5) + b"-1.50"),
        (datetime.date(2024, 2, 29), b"t" + struct.pack("<iq", 20240229, -1)),
        (datetime.time(13, 45, 7, 123456), b"t" + struct.pack("<iq", -1, 134507123456)),
        (
            datetime.datetime(1999, 12, 31, 23, 59, 59, 1),
            b"t" + struct.pack("<iq", 19991231, 235959000001),
        ),
        (UUID, b"u" + UUID.bytes),
        ((1, None), b"\x01" + u64(2) + sized(py_int(1)) + sized(b"\xff")),
        ([1.5], b"\x02" + u64(1) + sized(b"\x0d" + f64(1.5))),
        ({7}, b"\x03" + u64(1) + sized(py_int(7))),
        ({"a": None}, b"\x04" + u64(1) + sized(py_str("a")) + sized(b"\xff")),
        ([], b"\x02" + u64(0)),
    ],
    ids=repr,
)
def test_python_items(value: object, item: bytes) -> None:
    assert pack(value) == DJ0 + item
    assert same(unpack(DJ0 + item), value)


def test_dj0_inside_matlab_container_switches_header() -> None:
    assert pack(MatCell([np.array([[1.0]])])).startswith(MYM)
    assert pack(MatCell([1.0])).startswith(DJ0)
    assert pack(MatStruct.from_dict({"a": "text"})).startswith(DJ0)


def test_compressed_blob_is_read() -> None:
    payload = MYM + arr((1, 500), 6, f64(*range(500)))
    blob = b"ZL123\0" + u64(len(payload)) + zlib.compress(payload, 9)
    assert same(unpack(blob), np.arange(500.0).reshape(1, 500))


def test_small_compressible_blob_compresses_like_reference() -> None:
    a = np.zeros((1, 200))
    raw = MYM + arr((1, 200), 6, bytes(1600))
    assert pack(a) == b"ZL123\0" + u64(len(raw)) + zlib.compress(raw)
    assert pack(a, compress=False) == raw


def test_compression_threshold_is_over_1000_bytes() -> None:
    header = len(MYM + b"\x06" + u64(0))
    n = 1000 - header
    assert pack(bytes(n)) == DJ0 + b"\x06" + u64(n) + bytes(n)  # exactly 1000: stored raw
    assert pack(bytes(1001 - header)).startswith(b"ZL123\0")


def test_noisy_data_is_not_compressed_but_smooth_data_is() -> None:
    rng = np.random.default_rng(0)
    noise = rng.standard_normal((500, 200))
    assert pack(noise).startswith(MYM)
    ramp = np.repeat(np.arange(100, dtype="i2"), 1000)
    blob = pack(ramp)
    assert blob.startswith(b"ZL123\0") and len(blob) < ramp.nbytes / 10
    assert same(unpack(blob), ramp)


def test_decoded_arrays_are_read_only_views_of_the_blob() -> None:
    a = np.arange(1000.0).reshape(10, 100)
    blob = pack(a, compress=False)
    got = unpack(blob)
    assert isinstance(got, np.ndarray)
    assert np.shares_memory(got, np.frombuffer(blob, np.uint8))
    assert not got.flags.writeable
    mutable = bytearray(blob)
    got = unpack(mutable)
    assert isinstance(got, np.ndarray)
    assert np.shares_memory(got, np.frombuffer(mutable, np.uint8)) and not got.flags.writeable
    assert same(unpack(memoryview(blob)), a)


def test_squeeze() -> None:
    assert unpack(pack(np.array([[2.0]])), squeeze=True) == 2.0
    got = unpack(pack(np.arange(3.0).reshape(1, 3)), squeeze=True)
    assert isinstance(got, np.ndarray) and got.shape == (3,)
    s = unpack(pack(MatStruct.from_dict({"a": np.array([[1.0]])})), squeeze=True)
    assert isinstance(s, MatStruct) and s.shape == ()


def test_big_endian_input_is_stored_little_endian() -> None:
    a = np.arange(3, dtype=">i4")
    assert pack(a) == pack(a.astype("<i4"))
    assert same(unpack(pack(a)), a.astype("<i4"))


# --------------------------------------------------------------------------- errors


def test_bad_header() -> None:
    with pytest.raises(BlobError, match=r"header b'xyz\\x00' at byte 0"):
        unpack(b"xyz\0\xff")
    with pytest.raises(BlobError, match="header"):
        unpack(b"")


def test_unknown_item_code_names_code_and_offset() -> None:
    with pytest.raises(BlobError, match=r"unknown item code 0x5a \('Z'\) at byte 4"):
        unpack(MYM + b"Z")
    with pytest.raises(BlobError, match=r"unknown item code 0x00 .* at byte 21"):
        unpack(DJ0 + b"\x02" + u64(1) + u64(1) + b"\x00")


def test_trailing_bytes() -> None:
    with pytest.raises(BlobError, match="2 unexpected trailing bytes at byte 5"):
        unpack(DJ0 + b"\xff\x00\x00")


def test_declared_length_must_match_item() -> None:
    with pytest.raises(BlobError, match="item at byte 21 declares 3 bytes but ends after 1"):
        unpack(DJ0 + b"\x02" + u64(1) + u64(3) + b"\xff\xff\xff")
    with pytest.raises(BlobError, match="declares 99 bytes, 1 left"):
        unpack(DJ0 + b"\x02" + u64(1) + u64(99) + b"\xff")


def test_truncated_array_data() -> None:
    blob = MYM + arr((2, 2), 6, f64(1, 2, 3))
    with pytest.raises(BlobError, match=r"4-element float64 data at byte 37 needs 32 bytes, 24 left"):
        unpack(blob)


def test_unsupported_array_classes() -> None:
    with pytest.raises(BlobError, match=r"class id 2 \(struct\) at byte 29"):
        unpack(MYM + arr((1, 1), 2, b""))
    with pytest.raises(BlobError, match="sparse array at byte 4"):
        unpack(MYM + b"P" + dims(2, 2))


def test_huge_counts_fail_before_allocating() -> None:
    with pytest.raises(BlobError, match="truncated"):
        unpack(MYM + arr((1 << 40, 1 << 20), 6, b""))
    with pytest.raises(BlobError, match="list length at byte 5"):
        unpack(DJ0 + b"\x02" + u64(1 << 62))
    with pytest.raises(BlobError, match="truncated"):
        unpack(MYM + b"C" + dims(1 << 30, 1 << 30))
    huge_fieldless = unpack(MYM + b"S" + dims(1 << 40, 1 << 20) + u32(0))  # must not loop 2^60 times
    assert isinstance(huge_fieldless, MatStruct) and huge_fieldless.shape == (1 << 40, 1 << 20)


def test_invalid_values_report_item_and_offset() -> None:
    with pytest.raises(BlobError, match="invalid date/time item at byte 4"):
        unpack(DJ0 + b"t" + struct.pack("<iq", 20241341, -1))
    with pytest.raises(BlobError, match="invalid str item at byte 4"):
        unpack(DJ0 + b"\x05" + u64(1) + b"\xff")
    with pytest.raises(BlobError, match="invalid Decimal"):
        unpack(DJ0 + b"d" + u64(3) + b"abc")
    with pytest.raises(BlobError, match="unhashable dict key"):
        unpack(DJ0 + b"\x04" + u64(1) + sized(b"\x02" + u64(0)) + sized(b"\xff"))


def test_compressed_blob_errors() -> None:
    payload = MYM + arr((1, 300), 6, bytes(2400))
    good = b"ZL123\0" + u64(len(payload)) + zlib.compress(payload)
    assert unpack(good) is not None
    with pytest.raises(BlobError, match="declared at byte 6"):
        unpack(b"ZL123\0" + u64(len(payload) + 1) + good[14:])
    with pytest.raises(BlobError, match="more than the 100 bytes declared"):
        unpack(b"ZL123\0" + u64(100) + good[14:])
    with pytest.raises(BlobError, match="ends early"):
        unpack(good[:-5])
    with pytest.raises(BlobError, match="corrupt zlib stream starting at byte 14"):
        unpack(good[:14] + b"\x00" + good[15:])
    with pytest.raises(BlobError, match="3 trailing bytes after the zlib stream"):
        unpack(good + b"abc")
    with pytest.raises(BlobError, match="header alone needs 14"):
        unpack(b"ZL123\0\x01")
    with pytest.raises(BlobError, match="implausible"):
        unpack(b"ZL123\0" + u64(1 << 60) + good[14:])
    with pytest.raises(BlobError, match="of the decompressed blob"):
        bad = MYM + arr((1, 300), 6, bytes(2392))
        unpack(b"ZL123\0" + u64(len(bad)) + zlib.compress(bad))


ROBUSTNESS_VALUES: list[object] = [
    np.arange(12.0).reshape(3, 4),
    np.array([1 + 1j, 2]),
    {"a": [1, 2.5, "x", None], "b": (b"y", {3}), "c": decimal.Decimal("1.1")},
    MatStruct.from_dicts([{"f": np.array([[1.0]]), "g": MatCell(["s"])}] * 2),
    np.array([(1, 2.0)], dtype=[("a", "i4"), ("b", "f8")]),
    np.array(["ab", "c"]),
    [datetime.datetime(2020, 1, 2, 3, 4, 5), UUID, 2**70],
    MatCell([np.array([b"a"], dtype="S1"), np.arange(3, dtype="u2")]),
]


@pytest.mark.parametrize("value", ROBUSTNESS_VALUES, ids=lambda v: type(v).__name__)
def test_every_truncation_raises_blob_error(value: object) -> None:
    blob = pack(value, compress=False)
    for cut in range(len(blob)):
        with pytest.raises(BlobError):
            unpack(blob[:cut])


def test_random_corruption_raises_only_blob_error() -> None:
    rng = np.random.default_rng(7)
    blobs = [pack(v, compress=False) for v in ROBUSTNESS_VALUES]
    outcomes = {"ok": 0, "error": 0}
    for _ in range(4000):
        blob = bytearray(blobs[rng.integers(len(blobs))])
        for _ in range(rng.integers(1, 4)):
            i = int(rng.integers(len(blob)))
            blob[i] = int(rng.integers(256)) if rng.random() < 0.7 else blob[i] ^ 0xFF
        try:
            unpack(bytes(blob))
            outcomes["ok"] += 1
        except BlobError as exc:
            assert "byte" in str(exc) or "header" in str(exc), str(exc)
            outcomes["error"] += 1
    assert outcomes["error"] > 1000


def test_deep_nesting() -> None:
    deep: list[object] = []
    for _ in range(100):
        deep = [deep]
    assert same(unpack(pack(deep)), deep)
    levels = 5000  # far beyond the interpreter's recursion limit
    heads = [b"\x02" + u64(1) + u64(1 + 17 * k) for k in range(levels - 1, -1, -1)]
    with pytest.raises(BlobError, match="too deeply"):
        unpack(DJ0 + b"".join(heads) + b"\xff")
    loop: list[object] = []
    loop.append(loop)
    with pytest.raises(BlobError, match="too deeply"):
        pack(loop)


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (np.zeros(2, dtype="f2"), "float16"),
        (np.zeros(2, dtype="S4"), "dtype \\|S4"),
        (np.zeros(2, dtype="m8[s]"), "timedelta64"),
        (np.zeros(2, dtype="M8[10ms]"), "plain unit"),
        (np.ma.masked_array([1.0, 2.0], mask=[False, True]), "masked"),
        (datetime.datetime(2020, 1, 1, tzinfo=datetime.UTC), "timezone-aware"),
        (object(), "cannot pack a value of type object"),
        (1 << (8 * 65536), "65535 bytes"),
        ("\ud800", "UTF-8"),
    ],
    ids=lambda v: type(v).__name__,
)
def test_unpackable_values(value: object, message: str) -> None:
    with pytest.raises(BlobError, match=message):
        pack(value)


# --------------------------------------------------------------------------- MatStruct / MatCell API


def test_matstruct_api() -> None:
    s = MatStruct(("x", "y"), shape=(2, 2))
    assert s.fields == ("x", "y") and s.shape == (2, 2) and s.ndim == 2 and len(s) == 4
    assert all(same(e["x"], np.zeros((0, 0))) for e in s)
    s[1]["x"] = np.array([[5.0]])  # linear index 1 = row 1, column 0
    assert same(s[1, 0]["x"], np.array([[5.0]]))
    assert same(s["x"][1, 0], np.array([[5.0]]))
    element = s[-1]
    assert isinstance(element, StructElement) and list(element) == ["x", "y"]
    with pytest.raises(KeyError):
        element["z"] = 1
    s.add_field("z")
    s["z"] = [np.array([[float(i)]]) for i in range(4)]  # MATLAB linear order
    assert s[0, 1]["z"][0, 0] == 2.0
    s[0] = {"x": np.array([[9.0]])}
    assert same(s[0]["x"], np.array([[9.0]])) and same(s[0]["z"], np.zeros((0, 0)))
    with pytest.raises(KeyError):
        s[0] = {"nope": 1}
    row = s[0, :]
    assert isinstance(row, MatStruct) and row.shape == (2,) and row.fields == s.fields
    first_two = s[0:2]
    assert isinstance(first_two, MatStruct) and first_two.shape == (1, 2)
    rec = s.to_numpy()
    assert isinstance(rec, np.recarray) and rec.shape == (2, 2) and rec.dtype.names == ("x", "y", "z")
    back = MatStruct.from_numpy(rec)
    assert back == s
    assert unpack(pack(s)) == s
    s.remove_field("y")
    assert s.fields == ("x", "z")
    with pytest.raises(IndexError):
        s[4]
    with pytest.raises(ValueError, match="already has"):
        s.add_field("x")
    assert "MatStruct(2x2" in repr(s)
    assert s[0] == {"x": np.array([[9.0]]), "z": np.zeros((0, 0))}  # array values compare deeply
    assert s[0] != {"x": np.array([[8.0]]), "z": np.zeros((0, 0))}


def test_derived_structs_and_cells_do_not_share_elements() -> None:
    s = MatStruct.from_dict({"a": 1})
    squeezed = s.squeeze()
    squeezed[()]["a"] = 2
    assert s[0]["a"] == 1
    c = MatCell([1, 2, 3])
    part = c[0:2]
    part[0] = 99
    assert c[0] == 1
    with pytest.raises(TypeError):
        MatCell("abc")


def test_matstruct_constructors() -> None:
    one = MatStruct.from_dict({"a": np.array([[1.0]]), "b": "x"})
    assert one.shape == (1, 1) and one.item() == {"a": one[0]["a"], "b": "x"}
    many = MatStruct.from_dicts([{"a": 1}, {"b": 2}])
    assert many.fields == ("a", "b") and many.shape == (1, 2)
    assert same(many[0]["b"], np.zeros((0, 0))) and many.to_dicts()[1]["b"] == 2
    with pytest.raises(ValueError):
        MatStruct.from_dicts([{"a": 1}], shape=(2, 2))
    with pytest.raises(ValueError):
        many.item()
    rec = np.array([(1, 2.0)], dtype=[("i", "i4"), ("f", "f8")])
    from_rec = MatStruct.from_numpy(rec)
    assert from_rec.shape == (1,) and from_rec[0]["f"] == 2.0
    assert MatStruct.from_dict({"a": 1}) != MatStruct.from_dict({"a": 2})
    assert MatStruct.from_dict({"a": 1}) != MatStruct.from_dict({"b": 1})


def test_matcell_api() -> None:
    c = MatCell([np.array([[1.0]]), "two", None, [4]], shape=(2, 2))
    assert c.shape == (2, 2) and len(c) == 4
    assert c[1] == "two" and c[1, 0] == "two" and c[0, 1] is None
    assert c.to_list()[3] == [4]
    c[3] = np.arange(3)
    assert same(c[1, 1], np.arange(3))
    assert isinstance(c[:, 0], MatCell) and c[:, 0].shape == (2,)
    assert c[1:3].shape == (1, 2) and c[1:3].to_list() == ["two", None]
    assert same(c.to_numpy()[0, 0], np.array([[1.0]]))
    assert MatCell().shape == (0, 0) and MatCell([1, 2]).shape == (1, 2)
    assert MatCell(np.array([[1, 2], [3, 4]], dtype=object)).to_list() == [1, 3, 2, 4]
    assert unpack(pack(c)) == c
    assert c.squeeze().shape == (2, 2)
    with pytest.raises(ValueError):
        MatCell([1, 2, 3], shape=(2, 2))
    with pytest.raises(TypeError):
        c[0:1] = 5  # type: ignore[index]
    assert "MatCell(2x2" in repr(c)


# --------------------------------------------------------------------------- interop corpus


def corpus() -> dict[str, object]:
    """Dozens of values: every dtype, shapes, orders, containers, structs and cells."""
    rng = np.random.default_rng(1)
    c: dict[str, object] = {}
    for dt in ["f8", "f4", "i1", "u1", "i2", "u2", "i4", "u4", "i8", "u8", "?"]:
        values = rng.integers(0, 100, (2, 3))
        c[f"arr_{dt}_2x3"] = (values > 50 if dt == "?" else values).astype(dt)
    c["arr_f8_row"] = np.arange(12.0).reshape(1, 12)
    c["arr_f8_col"] = np.arange(5.0).reshape(5, 1)
    c["arr_f8_1d"] = np.linspace(0, 1, 7)
    c["arr_f8_3d"] = rng.standard_normal((2, 3, 4))
    c["arr_i2_4d"] = rng.integers(-500, 500, (2, 1, 3, 2)).astype("i2")
    c["arr_f8_fortran"] = np.asfortranarray(rng.standard_normal((4, 5)))
    c["arr_f8_view"] = rng.standard_normal((6, 8))[::2, 1::3]
    c["arr_f8_transposed"] = rng.standard_normal((3, 5)).T
    c["arr_f8_reversed"] = np.arange(10.0)[::-1]
    c["arr_empty_0x0"] = np.zeros((0, 0))
    c["arr_empty_3x0"] = np.zeros((3, 0), dtype="i4")
    c["arr_empty_1d"] = np.array([])
    c["arr_0d_f8"] = np.array(3.5)
    c["arr_0d_i8"] = np.array(-7)
    c["arr_0d_bool"] = np.array(True)
    c["arr_c16"] = rng.standard_normal((2, 2)) + 1j * rng.standard_normal((2, 2))
    c["arr_c8"] = (rng.standard_normal(5) + 1j * rng.standard_normal(5)).astype("c8")
    c["arr_c16_view"] = (np.arange(12) * (1 + 2j)).reshape(3, 4)[:, ::2]
    c["arr_c16_0d"] = np.array(1 - 2j)
    c["arr_nan_inf"] = np.array([[np.nan, np.inf, -np.inf, -0.0]])
    c["arr_extremes_i8"] = np.array([np.iinfo("i8").min, np.iinfo("i8").max])
    c["arr_extremes_u8"] = np.array([0, np.iinfo("u8").max], dtype="u8")
    c["arr_large_random"] = rng.standard_normal((300, 40))
    c["arr_large_smooth"] = np.cumsum(np.ones((400, 30)), axis=0)
    c["arr_medium_compressible"] = np.tile(np.arange(10.0), (20, 10))
    c["char_row"] = np.array([b"h", b"e", b"y"], dtype="S1")
    c["char_0d"] = np.array(b"x", dtype="S1")
    c["char_2x2"] = np.array([[b"a", b"b"], [b"c", b"d"]])
    c["str_array"] = np.array(["ab", "c", "défg"])
    c["str_array_2d"] = np.array([["a", "b"], ["c", "d"]])
    c["obj_array"] = np.array([1, "two", None, [3]], dtype=object)
    c["obj_array_ragged"] = np.array([np.arange(2), np.arange(3)], dtype=object)
    same_shapes = np.empty(2, dtype=object)
    same_shapes[0], same_shapes[1] = np.arange(3), np.arange(3.0)
    c["obj_array_same_shapes"] = same_shapes
    c["obj_array_2d"] = np.array([[1, 2.5], ["x", None]], dtype=object)
    for unit in ["Y", "M", "W", "D", "h", "m", "s", "ms", "us", "ns", "ps", "fs", "as"]:
        c[f"dt64_{unit}"] = (np.arange(3) * 7 + 1).astype(f"M8[{unit}]")
    c["dt64_nat"] = np.array(["2020-01-01", "NaT"], dtype="M8[s]")
    c["dt64_2d"] = np.arange(6).reshape(2, 3).astype("M8[D]")
    c["rec_simple"] = np.array(
        [(1, 2.0, True), (3, 4.5, False)], dtype=[("a", "i4"), ("b", "f8"), ("c", "?")]
    )
    c["rec_nested"] = np.array(
        [(1, (2.0, 3)), (4, (5.0, 6))], dtype=[("a", "i2"), ("n", [("x", "f8"), ("y", "u1")])]
    )
    c["rec_2d"] = np.zeros((2, 2), dtype=[("p", "f4"), ("q", "i8")])
    c["rec_obj"] = np.array([(1, "x"), (2, "yz")], dtype=[("a", "i4"), ("s", "O")])
    c["recarray"] = np.rec.array([(1, 2.0)], dtype=[("a", "i8"), ("b", "f8")])
    c["rec_dt"] = np.array([(np.datetime64("2021-01-01"), 1.5)], dtype=[("t", "M8[D]"), ("v", "f8")])
    c["np_float64"] = np.float64(2.5)
    c["np_int32"] = np.int32(-3)
    c["np_uint8"] = np.uint8(200)
    c["np_bool"] = np.bool_(False)
    c["np_complex64"] = np.complex64(1 + 1j)
    c["np_datetime64"] = np.datetime64("2024-02-29T12:00:00.123456")
    c["np_str"] = np.str_("numpy text")
    c["none"] = None
    c["bool_true"] = True
    c["bool_false"] = False
    ints = [0, 1, -1, 127, 128, -128, -129, 255, 2**31, -(2**63), 2**64, 2**200 + 5, -(2**300)]
    for i, n in enumerate(ints):
        c[f"int_{i}"] = n
    c["float"] = 1.0 / 3
    c["float_nan"] = float("nan")
    c["float_neg_zero"] = -0.0
    c["complex"] = 2 - 3.5j
    c["str_empty"] = ""
    c["str_ascii"] = "hello world"
    c["str_unicode"] = "naïve ☃ 😀 日本"
    c["str_long"] = "lorem ipsum " * 500
    c["bytes_empty"] = b""
    c["bytes"] = bytes(range(256))
    c["bytearray"] = bytearray(b"abc")
    c["decimal"] = decimal.Decimal("-123.4500")
    c["decimal_exp"] = decimal.Decimal("1E+30")
    c["date"] = datetime.date(2024, 2, 29)
    c["time"] = datetime.time(13, 45, 7, 123456)
    c["time_midnight"] = datetime.time(0, 0)
    c["datetime"] = datetime.datetime(1999, 12, 31, 23, 59, 59, 999999)
    c["uuid"] = UUID
    c["tuple"] = (1, "a", None)
    c["tuple_empty"] = ()
    c["list"] = [1, 2.0, "three", b"four", None, True]
    c["list_empty"] = []
    c["set"] = {1, 2, 3}
    c["frozenset"] = frozenset({"a"})
    c["dict"] = {"a": 1, "b": [1, 2], 3: "three", (1, 2): None}
    c["dict_empty"] = {}
    c["nested"] = {
        "x": [np.arange(3), {"y": (np.eye(2), "z")}],
        "u": uuid.UUID(int=5),
        "when": datetime.date(2000, 1, 1),
        "deep": [[[[1, [2.0]]]]],
    }
    c["list_of_arrays"] = [np.arange(4, dtype="i2"), np.ones((2, 2), dtype="f4")]
    c["cell_row"] = MatCell([np.array([[1.0]]), np.array([[1.0, 2.0]]), np.arange(2, dtype="u1")])
    c["cell_2x2"] = MatCell(
        [np.zeros((1, 1)), np.ones((2, 2)), np.array([[1]], dtype="i1"), np.arange(3.0)],
        shape=(2, 2),
    )
    c["cell_empty"] = MatCell()
    c["cell_nested"] = MatCell([MatCell([np.array([[1.0]])]), np.array([[2.0]])])
    c["cell_python"] = MatCell([1, "two", None])
    c["struct_1x1"] = MatStruct.from_dict(
        {"a": np.array([[1.0]]), "b": np.array([[1.0, 2.0, 3.0]])}
    )
    c["struct_1x2"] = MatStruct.from_dicts(
        [
            {"x": np.array([[1.0]]), "y": np.zeros((0, 0))},
            {"x": np.array([[2.0]]), "y": np.ones((2, 2), dtype="i4")},
        ]
    )
    c["struct_2x2"] = MatStruct.from_dicts(
        [{"v": np.array([[float(i)]])} for i in range(4)], shape=(2, 2)
    )
    c["struct_nested"] = MatStruct.from_dict(
        {"inner": MatStruct.from_dict({"k": np.array([[7.0]])}), "c": MatCell([np.ones((1, 1))])}
    )
    c["struct_python"] = MatStruct.from_dict({"a": 1, "b": "text", "c": [1, 2]})
    c["struct_nofields"] = MatStruct((), (1, 1))
    c["struct_empty"] = MatStruct(("a",), (0, 0))
    c["cell_of_structs"] = MatCell(
        [MatStruct.from_dict({"q": np.array([[1.0]])}), MatStruct(("r",), (1, 2))]
    )
    return c


CORPUS = corpus()


def decoded(name: str, value: object) -> object:
    """What ``unpack(pack(value))`` should give: ``value`` except for documented conversions."""
    if isinstance(value, np.ndarray) and value.ndim == 0 and value.dtype.kind in "biufcM":
        return value[()]  # 0-d numbers come back as numpy scalars (as in datajoint-python)
    if isinstance(value, np.ndarray) and value.dtype.kind == "S":
        if value.ndim == 1:
            return np.array([b"".join(value.tolist()).decode()])  # a char row is one string
        return value.astype("U1")
    if isinstance(value, np.ndarray) and value.dtype.kind == "U":
        return value.astype(object)  # text arrays are object arrays of str
    if isinstance(value, np.ndarray) and value.dtype.names is not None:
        return np.asarray(value)  # comes back as np.recarray; compared as a plain ndarray
    if isinstance(value, np.str_):
        return str(value)
    if isinstance(value, bytearray):
        return bytes(value)
    if isinstance(value, frozenset):
        return set(value)
    return value


def test_corpus_is_broad() -> None:
    assert len(CORPUS) >= 100


@pytest.mark.parametrize("name", list(CORPUS))
def test_round_trip(name: str) -> None:
    value = CORPUS[name]
    got = unpack(pack(value))
    want = decoded(name, value)
    if isinstance(got, np.recarray):
        got = np.asarray(got)
    assert same(got, want), f"{got!r} != {want!r}"


@pytest.fixture(scope="module")
def ref() -> Any:
    """datajoint-python's blob module (the reference implementation)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return pytest.importorskip(
            "datajoint.blob", reason="datajoint-python is not installed: interop tests skipped"
        )


def to_ref(value: object, ref: Any) -> object:
    """Our MatStruct/MatCell as datajoint-python's ndarray subclasses, recursively."""
    if isinstance(value, MatCell):
        out = np.empty(value.shape, dtype=object)
        for index in np.ndindex(value.shape):
            out[index] = to_ref(value[index], ref)
        return out.view(ref.MatCell)
    if isinstance(value, MatStruct):
        rec = np.empty(value.shape, dtype=[(f, object) for f in value.fields])
        for f in value.fields:
            for index in np.ndindex(value.shape):
                rec[f][index] = to_ref(value[f][index], ref)
        return rec.view(ref.MatStruct)
    if isinstance(value, list):
        return [to_ref(v, ref) for v in value]
    if isinstance(value, tuple):
        return tuple(to_ref(v, ref) for v in value)
    if isinstance(value, dict):
        return {k: to_ref(v, ref) for k, v in value.items()}
    return value


def from_ref(value: object, ref: Any) -> object:
    """datajoint-python's MatStruct/MatCell as ours, recursively, for comparison."""
    if isinstance(value, ref.MatCell):
        out = np.empty(value.shape, dtype=object)
        for index in np.ndindex(value.shape):
            out[index] = from_ref(value[index], ref)
        return MatCell(out)
    if isinstance(value, ref.MatStruct):
        s = MatStruct(value.dtype.names or (), value.shape)
        for f in s.fields:
            column = np.empty(value.shape, dtype=object)
            for index in np.ndindex(value.shape):
                column[index] = from_ref(np.asarray(value[f])[index], ref)
            s[f] = column
        return s
    if isinstance(value, np.recarray):
        return np.asarray(value)
    if isinstance(value, np.ndarray) and value.dtype.kind == "O":
        out = np.empty(value.shape, dtype=object)
        for index in np.ndindex(value.shape):
            out[index] = from_ref(value[index], ref)
        return out
    if isinstance(value, list):
        return [from_ref(v, ref) for v in value]
    if isinstance(value, tuple):
        return tuple(from_ref(v, ref) for v in value)
    if isinstance(value, dict):
        return {k: from_ref(v, ref) for k, v in value.items()}
    return value


# Where datajoint-python itself cannot reproduce a value (its limitations, not the format's).
REF_CANNOT_READ = {
    "obj_array_same_shapes": "np.array() over equal-shaped elements builds a 2-D array",
    "struct_nofields": "returns array(None) for a struct without fields",
    "cell_empty": "returns an empty cell of shape (0,), dropping MATLAB's 0x0",
}
REF_WRITES_DIFFERENTLY = {
    "char_2x2": "writes char matrices row-major, against the format (its own reader transposes)",
    "struct_nofields": "writes a stray NUL after the empty field-name list",
    "arr_large_random": "compresses noise for a ~4% saving; typedj stores it raw",
}


@pytest.mark.parametrize("name", list(CORPUS))
def test_reference_reads_typedj(name: str, ref: Any) -> None:
    if name in REF_CANNOT_READ:
        pytest.skip(f"datajoint-python limitation: {REF_CANNOT_READ[name]}")
    value = CORPUS[name]
    got = from_ref(ref.unpack(pack(value)), ref)
    assert same(got, decoded(name, value)), f"{got!r}"


@pytest.mark.parametrize("name", list(CORPUS))
def test_typedj_reads_reference(name: str, ref: Any) -> None:
    value = CORPUS[name]
    got = unpack(ref.pack(to_ref(value, ref)))
    want = decoded(name, value)
    if name == "char_2x2":
        want = np.array([["a", "c"], ["b", "d"]])  # the reference wrote it row-major
    if isinstance(got, np.recarray):
        got = np.asarray(got)
    assert same(got, want), f"{got!r}"


@pytest.mark.parametrize("name", list(CORPUS))
def test_bytes_identical_to_reference(name: str, ref: Any) -> None:
    if name in REF_WRITES_DIFFERENTLY:
        pytest.skip(f"deliberate difference: datajoint-python {REF_WRITES_DIFFERENTLY[name]}")
    value = CORPUS[name]
    assert pack(value) == ref.pack(to_ref(value, ref))


def test_deliberate_differences_still_interoperate(ref: Any) -> None:
    for name in REF_WRITES_DIFFERENTLY:
        if name in REF_CANNOT_READ:
            continue
        value = CORPUS[name]
        ours, theirs = pack(value), ref.pack(to_ref(value, ref))
        assert ours != theirs
        assert same(from_ref(ref.unpack(ours), ref), decoded(name, value))


def test_reference_matlab_types_are_accepted(ref: Any) -> None:
    s = CORPUS["struct_nested"]
    assert pack(to_ref(s, ref)) == pack(s)
    c = CORPUS["cell_2x2"]
    assert pack(to_ref(c, ref)) == pack(c)


def test_reference_reads_matlab_char_like_typedj(ref: Any) -> None:
    blob = MYM + arr((1, 5), 4, "hello".encode("utf-16-le"))
    assert same(unpack(blob), ref.unpack(blob))
    assert unpack(blob, squeeze=True) == ref.unpack(blob, squeeze=True) == "hello"


def test_squeeze_matches_reference(ref: Any) -> None:
    for value in [np.array([[2.0]]), np.arange(3.0).reshape(1, 3), np.array([[1, 2]], "i2")]:
        blob = pack(value)
        assert same(unpack(blob, squeeze=True), ref.unpack(blob, squeeze=True))


def test_large_compressed_blobs_interoperate(ref: Any) -> None:
    values = [np.zeros((1000, 100)), np.repeat(np.arange(50, dtype="i2"), 4000).reshape(400, 500)]
    for value in values:
        ours = pack(value)
        assert ours.startswith(b"ZL123\0")
        assert same(ref.unpack(ours), value)
        assert same(unpack(ref.pack(value)), value)
