"""DataJoint's blob format (``longblob`` columns): ``pack`` and ``unpack``.

The byte layout is the one datajoint-matlab (``mYm``) and datajoint-python (``dj0``) share;
blobs written here are read by both, and theirs are read here. See ``docs/blobs.md`` for
what round-trips exactly.

Speed comes from never touching array elements in Python: numeric data is written from
numpy buffers (one column-major copy at most) and read back as read-only views of the blob,
so decoding an uncompressed array copies nothing.
"""

from __future__ import annotations

import datetime as _dt
import math
import struct
import uuid
import zlib
from collections.abc import (
    Callable,
    Iterable,
    Iterator,
    Mapping,
    MutableMapping,
    MutableSequence,
    Sequence,
)
from collections.abc import Set as AbstractSet
from decimal import Decimal, InvalidOperation
from typing import Any, Final, TypeAlias

import numpy as np
import numpy.typing as npt

from ..config import config

__all__ = ["BlobError", "MatCell", "MatStruct", "StructElement", "pack", "unpack"]

ObjectArray: TypeAlias = npt.NDArray[np.object_]
BytesLike: TypeAlias = bytes | bytearray | memoryview


class BlobError(ValueError):
    """A blob is corrupt, truncated or uses an unsupported feature, or a value cannot be packed.

    Decoding messages give the byte offset (within the decompressed payload when the blob
    was compressed) so a damaged row can be inspected with a hex dump.
    """


# --------------------------------------------------------------------------- format tables

_MYM: Final = b"mYm\0"
_DJ0: Final = b"dj0\0"
_ZLIB: Final = b"ZL123\0"
_COMPRESS_OVER: Final = 1000  # the reference compresses blobs strictly over 1000 bytes
_SMALL_BLOB: Final = 16 * 1024  # up to here compress exactly like the reference
_MIN_SAVING: Final = 1 / 8  # larger blobs are stored raw unless a sample saves this much
_LEVEL6_GAIN: Final = 0.05  # automatic level: 6 when its sample is this much smaller than level 1's
_MAX_DECLARED: Final = 1 << 48  # larger "uncompressed sizes" are corruption, not data

_U16: Final = struct.Struct("<H")
_U32: Final = struct.Struct("<I")
_U32X2: Final = struct.Struct("<II")
_U64: Final = struct.Struct("<Q")
_pack_u64: Final = _U64.pack
_unpack_u64: Final = _U64.unpack_from
_F64: Final = struct.Struct("<d")
_U16_INT: Final = struct.Struct("<BH")  # int item head: code, byte count
_FLOAT_ITEM: Final = struct.Struct("<Bd")
_STR_HEAD: Final = struct.Struct("<BQ")
_C128: Final = struct.Struct("<dd")
_DATETIME: Final = struct.Struct("<iq")

_CLASS_CELL: Final = 1
_CLASS_STRUCT: Final = 2
_CLASS_CHAR: Final = 4
_CLASS_OBJECT: Final = 5
_DATETIME_BASE: Final = 65536
_DATETIME_UNITS: Final = ("Y", "M", "W", "D", "h", "m", "s", "ms", "us", "ns", "ps", "fs", "as")

_DTYPE_OF: Final[dict[int, np.dtype[Any]]] = {
    3: np.dtype(np.bool_),
    6: np.dtype("<f8"),
    7: np.dtype("<f4"),
    8: np.dtype("<i1"),
    9: np.dtype("<u1"),
    10: np.dtype("<i2"),
    11: np.dtype("<u2"),
    12: np.dtype("<i4"),
    13: np.dtype("<u4"),
    14: np.dtype("<i8"),
    15: np.dtype("<u8"),
    **{_DATETIME_BASE + k: np.dtype(f"<M8[{u}]") for k, u in enumerate(_DATETIME_UNITS)},
}
# Little-endian numeric dtype -> (class id, is_complex); complex uses its parts' class.
_NUMERIC_CLASS: Final[dict[np.dtype[Any], tuple[int, int]]] = {
    **{dt: (cls, 0) for cls, dt in _DTYPE_OF.items() if cls < _DATETIME_BASE},
    np.dtype("<c8"): (7, 1),
    np.dtype("<c16"): (6, 1),
}
# 'A' + uint64 ndim + ndim x uint64 + uint32 class + uint32 complex, for every possible ndim.
_ARRAY_HEADS: Final = [struct.Struct(f"<B{n + 1}QII") for n in range(65)]
_CLASS_NAMES: Final = {0: "unknown", _CLASS_CELL: "cell", _CLASS_STRUCT: "struct", 16: "function"}

_ITEM_NAMES: Final = {
    0x41: "array",
    0x50: "sparse array",
    0x53: "struct",
    0x43: "cell",
    0x46: "record array",
    0xFF: "None",
    0x01: "tuple",
    0x02: "list",
    0x03: "set",
    0x04: "dict",
    0x05: "str",
    0x06: "bytes",
    0x0A: "int",
    0x0B: "bool",
    0x0C: "complex",
    0x0D: "float",
    0x64: "Decimal",
    0x74: "date/time",
    0x75: "UUID",
}
_MIN_ITEM: Final = 9  # a length-prefixed item takes at least 8 + 1 bytes

# MATLAB's [] (0x0 double): the default field value. It has no elements, so sharing one
# read-only instance between fields cannot alias any data.
_MATLAB_EMPTY: Final = np.zeros((0, 0))
_MATLAB_EMPTY.flags.writeable = False


# --------------------------------------------------------------------------- public API


def pack(obj: object, *, compress: bool | int | str = True) -> bytes:
    """Serialize ``obj`` to DataJoint's blob format.

    The header is ``mYm`` when MATLAB can read the value and ``dj0`` once a Python-only
    type appears, exactly as datajoint-python decides. ``compress``: True or ``"auto"``
    (blobs over 1000 bytes are zlib-compressed when that pays, at a level chosen from the
    data, see ``docs/blobs.md``), a zlib level 1-9 (used whenever it shrinks the blob), or
    False / 0 (never).
    """
    enc = _Encoder()
    try:
        enc.item(obj)
    except RecursionError:
        raise BlobError("value nests too deeply to pack (or a container contains itself)") from None
    enc.parts[0] = _DJ0 if enc.dj0 else _MYM
    blob = b"".join(enc.parts)
    level = compression_level(compress)
    return blob if level == 0 else _maybe_compress(blob, level)


def compression_level(setting: bool | int | str | None) -> int | None:
    """A compression setting as a zlib level: None for automatic, 0 for none; else an error."""
    if setting is None or setting is True or setting == "auto":
        return None
    if setting is False:
        return 0
    if isinstance(setting, int) and 0 <= setting <= 9:
        return setting
    if isinstance(setting, str) and setting.isdigit() and int(setting) <= 9:
        return int(setting)
    raise BlobError(f"blob compression is 'auto', a zlib level 0-9 or a bool, not {setting!r}")


def unpack(data: BytesLike, *, squeeze: bool = False) -> object:
    """Deserialize a blob written by typedj, datajoint-python or datajoint-matlab.

    Arrays come back as read-only views into ``data`` (or into the decompressed buffer);
    call ``.copy()`` to modify one. ``squeeze`` drops singleton dimensions and turns 0-d
    arrays into Python scalars, as datajoint-python's ``squeeze`` does.
    """
    mv = memoryview(data)
    if mv.format != "B" or mv.ndim != 1:
        mv = mv.cast("B") if mv.c_contiguous else memoryview(mv.tobytes())
    where = ""
    if bytes(mv[:6]) == _ZLIB:
        mv = memoryview(_decompress(mv))
        where = " of the decompressed blob"
    head = bytes(mv[:4])
    if head != _MYM and head != _DJ0:
        raise BlobError(
            f"not a DataJoint blob: header {head!r} at byte 0 is neither "
            f"{_MYM!r}, {_DJ0!r} nor a compressed blob {_ZLIB!r}"
        )
    dec = _Decoder(mv, squeeze, where)
    try:
        value, pos = dec.item(4, len(mv))
    except RecursionError:
        raise BlobError("blob nests too deeply to decode") from None
    if pos != len(mv):
        raise BlobError(f"{len(mv) - pos} unexpected trailing bytes at byte {pos}{where} after the top item")
    return value


# --------------------------------------------------------------------------- compression


def _maybe_compress(blob: bytes, level: int | None = None) -> bytes:
    """Compress when it pays: small blobs like the reference, large ones only if a sample shrinks.

    zlib runs at ~35 MB/s on noisy float data whatever the level, so large blobs are first
    sampled (a few KiB at level 1) and stored raw unless the sample saves ``_MIN_SAVING``
    (ZFS's 1/8 rule). Automatic (``level`` None): the same sample is compressed at level 6
    too, and level 6 is used when it is ``_LEVEL6_GAIN`` smaller than level 1 (quantized
    or smooth data, where the default level stores a fifth less and every later scan
    reads that much less), else level 1, which on data that barely compresses gets
    within a percent of level 6 at up to four times the speed. A fixed ``level`` skips the
    choice (but not the test for data that does not compress).
    """
    n = len(blob)
    if n <= _COMPRESS_OVER:
        return blob
    if n <= _SMALL_BLOB:
        # automatic: the reference's level, identical bytes for small blobs
        body = zlib.compress(blob, -1 if level is None else level)
    else:
        fast, better = _sample_ratio(blob, 1 if level is None else level)
        if fast > 1.0 - _MIN_SAVING:
            return blob
        if level is None:
            level = 6 if better is not None and better <= fast * (1.0 - _LEVEL6_GAIN) else 1
        body = zlib.compress(blob, level)
    if len(_ZLIB) + 8 + len(body) >= n:
        return blob
    return b"".join((_ZLIB, _pack_u64(n), body))


def _sample_ratio(blob: bytes, level: int) -> tuple[float, float | None]:
    """Compression ratios of four evenly spaced chunks (at most 16 KiB): at ``level``, and at
    level 6 when ``level`` is 1 and the sample compresses at all (else None)."""
    n = len(blob)
    chunk = max(1024, min(4096, n // 32))
    step = (n - chunk) // 3
    mv = memoryview(blob)
    parts = [mv[k * step : k * step + chunk] for k in range(4)]

    def ratio(at: int) -> float:
        comp = zlib.compressobj(at)
        out = sum(len(comp.compress(p)) for p in parts) + len(comp.flush())
        return out / (4 * chunk)

    fast = ratio(level)
    return fast, (ratio(6) if level == 1 and fast <= 1.0 - _MIN_SAVING else None)


def _decompress(mv: memoryview) -> bytes:
    """Inflate a ``ZL123`` blob, checking the declared size and the stream's integrity."""
    if len(mv) < 14:
        raise BlobError(
            f"truncated compressed blob: {len(mv)} bytes, the header alone needs 14 (ZL123 tag + uint64 size)"
        )
    (size,) = _U64.unpack_from(mv, 6)
    if size > _MAX_DECLARED:
        raise BlobError(f"corrupt compressed blob: implausible uncompressed size {size} at byte 6")
    if size > config.blob_limit:
        raise BlobError(
            f"compressed blob declares {size:,} bytes uncompressed at byte 6, more than "
            f"tj.config.blob_limit ({config.blob_limit:,}); not inflated (raise the limit to read it)"
        )
    inflater = zlib.decompressobj()
    try:
        out = inflater.decompress(mv[14:], size + 1)
    except zlib.error as exc:
        raise BlobError(f"corrupt zlib stream starting at byte 14: {exc}") from exc
    if len(out) > size:
        raise BlobError(f"corrupt compressed blob: inflates to more than the {size} bytes declared at byte 6")
    if not inflater.eof:
        raise BlobError(
            f"truncated compressed blob: the zlib stream starting at byte 14 ends early "
            f"({len(out)} of {size} bytes recovered)"
        )
    if inflater.unused_data:
        extra = len(inflater.unused_data)
        raise BlobError(
            f"corrupt compressed blob: {extra} trailing bytes after the zlib stream at byte {len(mv) - extra}"
        )
    if len(out) != size:
        raise BlobError(f"corrupt compressed blob: inflates to {len(out)} bytes, {size} declared at byte 6")
    return out


# --------------------------------------------------------------------------- encoding

Chunk: TypeAlias = bytes | memoryview


def _dims(shape: tuple[int, ...]) -> bytes:
    return struct.pack(f"<{len(shape) + 1}Q", len(shape), *shape)


def _names(names: Sequence[str]) -> bytes:
    """Field names, each NUL-terminated (the layout MATLAB's mYm writes)."""
    out = []
    for name in names:
        raw = name.encode()
        if b"\0" in raw:
            raise BlobError(f"field name {name!r} contains a NUL byte")
        out.append(raw + b"\0")
    return b"".join(out)


def _reference_kind(obj: np.ndarray[Any, Any]) -> str | None:
    """Recognize datajoint-python's own MatCell/MatStruct so migrated code keeps working."""
    cls = type(obj)
    if cls.__module__.startswith("datajoint") and cls.__name__ in ("MatCell", "MatStruct"):
        return cls.__name__
    return None


class _Encoder:
    """Collects the blob as a list of chunks; array data stays in numpy until the final join."""

    __slots__ = ("dj0", "parts", "size")

    def __init__(self) -> None:
        self.parts: list[Chunk] = [b""]  # slot 0: protocol header, known only at the end
        self.size = 0
        self.dj0 = False

    def put(self, chunk: Chunk) -> None:
        self.parts.append(chunk)
        self.size += len(chunk)

    def sized(self, obj: object) -> None:
        """Write ``obj`` preceded by its uint64 byte length (patched in afterwards)."""
        parts = self.parts
        slot = len(parts)
        parts.append(b"")
        start = self.size = self.size + 8
        handler = _EXACT_TYPES.get(type(obj))  # inlined item(): this is the hot path
        if handler is not None:
            handler(self, obj)
        else:
            self.other(obj)
        parts[slot] = _pack_u64(self.size - start)

    def item(self, obj: object) -> None:
        handler = _EXACT_TYPES.get(type(obj))
        if handler is not None:
            handler(self, obj)
        else:
            self.other(obj)

    def other(self, obj: object) -> None:
        """Dispatch in the reference's order, so subclasses land where datajoint puts them."""
        if isinstance(obj, MatStruct):
            self.struct(obj.shape, obj.fields, list(obj._columns.values()))
            return
        if isinstance(obj, MatCell):
            self.cell(obj._data)
            return
        if isinstance(obj, np.ndarray):
            ref = _reference_kind(obj)
            if ref == "MatCell":
                self.cell(np.asarray(obj))
            elif ref == "MatStruct":
                names = tuple(obj.dtype.names or ())
                self.struct(obj.shape, names, [np.asarray(obj[n]) for n in names])
            elif isinstance(obj, np.ma.MaskedArray):
                raise BlobError("masked arrays cannot be packed; use .filled() or pack the mask")
            else:
                arr = np.asarray(obj)
                if arr.dtype.names is not None:
                    self.dj0 = True
                    self.record(arr)
                else:
                    self.array(arr)
            return
        self.dj0 = True
        if isinstance(obj, np.generic):
            if isinstance(obj, np.number | np.bool_ | np.datetime64):
                self.array(np.asarray(obj))
                return
            if isinstance(obj, np.void) and obj.dtype.names is not None:
                self.record(np.asarray(obj))
                return
            # np.str_ and np.bytes_ are str/bytes subclasses: handled below.
        if isinstance(obj, bool):
            self.put(b"\x0b\x01" if obj else b"\x0b\x00")
        elif isinstance(obj, int):
            self.integer(obj)
        elif isinstance(obj, complex):
            self.put(b"\x0c" + _C128.pack(obj.real, obj.imag))
        elif isinstance(obj, float):
            self.put(b"\x0d" + _F64.pack(obj))
        elif isinstance(obj, _dt.date | _dt.time):
            self.datetime(obj)
        elif isinstance(obj, Decimal):
            self.decimal(obj)
        elif isinstance(obj, uuid.UUID):
            self.put(b"u" + obj.bytes)
        elif isinstance(obj, Mapping):
            self.mapping(obj)
        elif isinstance(obj, str):
            self.string(obj)
        elif isinstance(obj, bytes | bytearray | memoryview):
            self.binary(obj)
        elif isinstance(obj, Sequence):
            # MutableSequence (list-like) reads back as a list, other sequences as a tuple.
            self.sequence(b"\x02" if isinstance(obj, MutableSequence) else b"\x01", list(obj))
        elif isinstance(obj, AbstractSet):
            self.sequence(b"\x03", list(obj))
        elif obj is None:
            self.put(b"\xff")
        else:
            raise BlobError(f"cannot pack a value of type {type(obj).__qualname__}")

    # --- Python scalars and containers (all dj0)

    # Scalar handlers append directly instead of calling put(): they run once per value.

    def none(self, obj: object) -> None:
        self.dj0 = True
        self.parts.append(b"\xff")
        self.size += 1

    def boolean(self, obj: object) -> None:
        self.dj0 = True
        self.parts.append(b"\x0b\x01" if obj else b"\x0b\x00")
        self.size += 2

    def integer(self, obj: object) -> None:
        value = int(obj)  # type: ignore[call-overload]
        self.dj0 = True
        n = value.bit_length() // 8 + 1  # the reference's width: identical bytes
        if n > 0xFFFF:
            raise BlobError(f"int of {value.bit_length()} bits exceeds the format's 65535 bytes")
        self.parts.append(_U16_INT.pack(0x0A, n) + value.to_bytes(n, "little", signed=True))
        self.size += 3 + n

    def real(self, obj: object) -> None:
        self.dj0 = True
        self.parts.append(_FLOAT_ITEM.pack(0x0D, obj))
        self.size += 9

    def complex_(self, obj: object) -> None:
        assert isinstance(obj, complex)
        self.dj0 = True
        self.put(b"\x0c" + _C128.pack(obj.real, obj.imag))

    def string(self, obj: object) -> None:
        assert isinstance(obj, str)
        self.dj0 = True
        try:
            raw = obj.encode()
        except UnicodeEncodeError as exc:
            raise BlobError(f"str is not encodable as UTF-8: {exc}") from exc
        n = len(raw)
        if n < 4096:  # one small chunk beats two
            self.parts.append(_STR_HEAD.pack(0x05, n) + raw)
            self.size += 9 + n
        else:
            self.put(_STR_HEAD.pack(0x05, n))
            self.put(raw)

    def binary(self, obj: object) -> None:
        assert isinstance(obj, bytes | bytearray | memoryview)
        self.dj0 = True
        raw = obj if type(obj) is bytes else bytes(obj)
        self.put(b"\x06" + _pack_u64(len(raw)))
        self.put(raw)

    def decimal(self, obj: Decimal) -> None:
        text = str(obj).encode("ascii")
        self.put(b"d" + _pack_u64(len(text)) + text)

    def datetime(self, obj: _dt.date | _dt.time) -> None:
        if isinstance(obj, _dt.datetime):
            date: _dt.date | None = obj.date()
            time: _dt.time | None = obj.timetz()
        elif isinstance(obj, _dt.date):
            date, time = obj, None
        else:
            date, time = None, obj
        if time is not None and time.tzinfo is not None:
            # The format has no zone; silently dropping it would shift the stored instant.
            raise BlobError(
                f"cannot pack timezone-aware {type(obj).__name__} {obj!r}: the blob format "
                "stores naive values; convert to naive (e.g. UTC) first"
            )
        days = -1 if date is None else (date.year * 100 + date.month) * 100 + date.day
        micros = (
            -1
            if time is None
            else ((time.hour * 100 + time.minute) * 100 + time.second) * 1_000_000 + time.microsecond
        )
        self.put(b"t" + _DATETIME.pack(days, micros))

    def sequence(self, code: bytes, items: list[object]) -> None:
        self.dj0 = True
        self.put(code + _pack_u64(len(items)))
        for x in items:
            self.sized(x)

    def list_(self, obj: object) -> None:
        assert isinstance(obj, list)
        self.sequence(b"\x02", obj)

    def tuple_(self, obj: object) -> None:
        assert isinstance(obj, tuple)
        self.sequence(b"\x01", list(obj))

    def set_(self, obj: object) -> None:
        assert isinstance(obj, set | frozenset)
        self.sequence(b"\x03", list(obj))

    def mapping(self, obj: object) -> None:
        assert isinstance(obj, Mapping)
        self.dj0 = True
        items = list(obj.items())
        self.put(b"\x04" + _pack_u64(len(items)))
        for key, value in items:
            self.sized(key)
            self.sized(value)

    # --- numpy and MATLAB

    def ndarray(self, obj: object) -> None:
        """Exact ``np.ndarray`` (the common case): skips the subclass checks in ``other``."""
        assert isinstance(obj, np.ndarray)
        if obj.dtype.names is not None:
            self.dj0 = True
            self.record(obj)
        else:
            self.array(obj)

    def array(self, a: np.ndarray[Any, Any]) -> None:
        """``A`` item: header, then column-major data straight from the numpy buffer."""
        dt = a.dtype
        numeric = _NUMERIC_CLASS.get(dt)
        if numeric is not None:  # fast path: little-endian bool/int/float/complex
            cls, is_complex = numeric
        else:
            cls, is_complex, a = self.other_array(a)
            if cls < 0:
                return
        shape = a.shape
        if not shape:
            self.dj0 = True  # MATLAB has no 0-d arrays
        self.put(_ARRAY_HEADS[len(shape)].pack(0x41, len(shape), *shape, cls, is_complex))
        if is_complex:
            self.put(a.real.ravel(order="F").view(np.uint8).data)
            self.put(a.imag.ravel(order="F").view(np.uint8).data)
        else:
            self.put(a.ravel(order="F").view(np.uint8).data)

    def other_array(self, a: np.ndarray[Any, Any]) -> tuple[int, int, np.ndarray[Any, Any]]:
        """Class id, complexity and little-endian data of a non-fast-path array.

        Object, text and char arrays are written here entirely (class id -1 returned).
        """
        dt = a.dtype
        kind = dt.kind
        if kind in "OU":
            # Text arrays become object arrays of str, as in datajoint-python (class 5).
            self.put(_ARRAY_HEADS[a.ndim].pack(0x41, a.ndim, *a.shape, _CLASS_OBJECT, 0))
            flat = a.ravel(order="F")
            for element in flat.tolist() if kind == "U" else flat:
                self.sized(element)
            self.dj0 = True
            return -1, 0, a
        if kind == "S" and dt.itemsize == 1:
            # MATLAB char: UTF-16 code units, column-major as the format says (datajoint-python
            # writes multi-row char arrays row-major). 0-d stays mYm, as in datajoint-python.
            self.put(_ARRAY_HEADS[a.ndim].pack(0x41, a.ndim, *a.shape, _CLASS_CHAR, 0))
            self.put(a.ravel(order="F").view(np.uint8).astype("<u2").view(np.uint8).data)
            return -1, 0, a
        if kind == "M":
            unit, count = np.datetime_data(dt)
            if count != 1 or unit not in _DATETIME_UNITS:
                raise BlobError(f"cannot pack {dt}: only datetime64 with a plain unit is supported")
            self.dj0 = True
            return _DATETIME_BASE + _DATETIME_UNITS.index(unit), 0, a.astype(f"<M8[{unit}]", copy=False)
        little = dt.newbyteorder("<")
        numeric = _NUMERIC_CLASS.get(little)
        if numeric is None:
            raise BlobError(
                f"cannot pack an array of dtype {dt}: no DataJoint class for it "
                "(convert, e.g. float16 -> float32, bytes -> object array)"
            )
        return numeric[0], numeric[1], a.astype(little)  # big-endian input

    def record(self, a: np.ndarray[Any, Any]) -> None:
        """``F`` item: field names, then each field's column as an ``A``/``F`` item."""
        names = a.dtype.names or ()
        self.put(b"F" + _U32.pack(len(names)) + _names(names))
        for name in names:
            column = a[name]
            if column.dtype.names is not None:
                self.record(column)
            else:
                self.array(column)

    def struct(self, shape: tuple[int, ...], names: Sequence[str], columns: list[Any]) -> None:
        self.put(b"S" + _dims(shape) + _U32.pack(len(names)) + _names(names))
        flat = [c.ravel(order="F") for c in columns]
        for i in range(math.prod(shape)):
            for column in flat:
                self.sized(column[i])

    def cell(self, data: ObjectArray) -> None:
        self.put(b"C" + _dims(data.shape))
        for element in data.ravel(order="F"):
            self.sized(element)


_EXACT_TYPES: Final[dict[type, Callable[[_Encoder, Any], None]]] = {
    type(None): _Encoder.none,
    bool: _Encoder.boolean,
    int: _Encoder.integer,
    float: _Encoder.real,
    complex: _Encoder.complex_,
    str: _Encoder.string,
    bytes: _Encoder.binary,
    list: _Encoder.list_,
    np.ndarray: _Encoder.ndarray,
    tuple: _Encoder.tuple_,
    set: _Encoder.set_,
    frozenset: _Encoder.set_,
    dict: _Encoder.mapping,
}


# --------------------------------------------------------------------------- decoding

_Reader: TypeAlias = "Callable[[_Decoder, int, int], tuple[object, int]]"


class _Decoder:
    """Reads items from one buffer; ``end`` bounds each item so lengths are enforced."""

    __slots__ = ("mv", "squeeze", "where")

    def __init__(self, mv: memoryview, squeeze: bool, where: str) -> None:
        self.mv = mv
        self.squeeze = squeeze
        self.where = where

    # --- helpers

    def need(self, pos: int, n: int, end: int, what: str, *args: object) -> None:
        """Fail unless ``n`` bytes remain; ``what.format(*args)`` is built only on failure."""
        if end - pos < n:
            raise BlobError(
                f"truncated blob: {what.format(*args)} at byte {pos}{self.where} needs {n} bytes, "
                f"{max(end - pos, 0)} left"
            )

    def u64(self, pos: int, end: int, what: str, *args: object) -> int:
        if end - pos < 8:
            self.need(pos, 8, end, what, *args)
        return int(_unpack_u64(self.mv, pos)[0])

    def count(self, pos: int, end: int, min_size: int, what: str) -> int:
        """A uint64 element count, rejected early when the rest cannot hold that many items."""
        n = self.u64(pos, end, what)
        if n * min_size > end - pos - 8:
            raise BlobError(
                f"corrupt blob: {what} at byte {pos}{self.where} says {n}, "
                f"but only {end - pos - 8} bytes remain"
            )
        return n

    def shape(self, pos: int, end: int, what: str) -> tuple[tuple[int, ...], int]:
        ndim = self.u64(pos, end, "{} ndim", what)
        pos += 8
        self.need(pos, 8 * ndim, end, "{} shape ({} dims)", what, ndim)
        return struct.unpack_from(f"<{ndim}Q", self.mv, pos), pos + 8 * ndim

    def cstring(self, pos: int, end: int, what: str) -> tuple[str, int]:
        mv = self.mv
        p = pos
        while p < end:
            stop = min(end, p + 256)
            i = bytes(mv[p:stop]).find(0)
            if i >= 0:
                return str(mv[pos : p + i], "utf-8"), p + i + 1
            p = stop
        raise BlobError(f"truncated blob: {what} at byte {pos}{self.where} has no NUL terminator")

    def field_names(self, pos: int, end: int, n: int, what: str) -> tuple[list[str], int]:
        names = []
        for _ in range(n):
            start = pos
            name, pos = self.cstring(pos, end, what + " field name")
            if name in names:
                raise BlobError(f"corrupt blob: duplicate {what} field {name!r} at byte {start}")
            names.append(name)
        return names, pos

    def finish(self, arr: np.ndarray[Any, Any]) -> object:
        if not self.squeeze:
            return arr
        arr = arr.squeeze()
        return arr.item() if arr.ndim == 0 else arr

    # --- items

    def item(self, pos: int, end: int) -> tuple[object, int]:
        if pos >= end:
            raise BlobError(f"truncated blob: expected an item code at byte {pos}{self.where}")
        code = self.mv[pos]
        reader = _READERS.get(code)
        if reader is None:
            raise self.unknown(code, pos)
        try:
            return reader(self, pos + 1, end)
        except BlobError:
            raise
        except (ValueError, TypeError, LookupError, ArithmeticError, MemoryError) as exc:
            raise self.invalid(code, pos, exc) from exc

    def unknown(self, code: int, pos: int) -> BlobError:
        return BlobError(
            f"corrupt blob: unknown item code {code:#04x} ({chr(code)!r}) at byte {pos}{self.where}"
        )

    def invalid(self, code: int, pos: int, exc: BaseException) -> BlobError:
        return BlobError(f"corrupt blob: invalid {_ITEM_NAMES[code]} item at byte {pos}{self.where}: {exc}")

    def sized(self, pos: int, end: int) -> tuple[object, int]:
        """An item preceded by its uint64 length; the item must fill exactly that length."""
        if end - pos < 8:
            self.need(pos, 8, end, "item length")
        (n,) = _unpack_u64(self.mv, pos)
        start = pos + 8
        stop = start + n
        if stop > end:
            raise BlobError(
                f"truncated blob: item at byte {start}{self.where} declares {n} bytes, {end - start} left"
            )
        if n == 0:
            raise BlobError(f"truncated blob: expected an item code at byte {start}{self.where}")
        code = self.mv[start]  # inlined item(): this is the hot path
        reader = _READERS.get(code)
        if reader is None:
            raise self.unknown(code, start)
        try:
            value, used = reader(self, start + 1, stop)
        except BlobError:
            raise
        except (ValueError, TypeError, LookupError, ArithmeticError, MemoryError) as exc:
            raise self.invalid(code, start, exc) from exc
        if used != stop:
            raise BlobError(
                f"corrupt blob: item at byte {start}{self.where} declares {n} bytes "
                f"but ends after {used - start}"
            )
        return value, stop

    def array(self, pos: int, end: int) -> tuple[object, int]:
        arr, pos = self.array_body(pos, end, join_rows=True)
        if arr.ndim == 0 and arr.dtype.kind in "biufcM":
            # 0-d numbers are how numpy scalars are stored; datajoint-python returns scalars.
            scalar = arr[()]
            return (scalar.item() if self.squeeze else scalar), pos
        return self.finish(arr), pos

    def array_body(self, pos: int, end: int, *, join_rows: bool) -> tuple[Any, int]:
        shape, pos = self.shape(pos, end, "array")
        self.need(pos, 8, end, "array class")
        cls, is_complex = _U32X2.unpack_from(self.mv, pos)
        pos += 8
        n = math.prod(shape)
        if cls == _CLASS_OBJECT:
            if n * _MIN_ITEM > end - pos:
                raise BlobError(
                    f"truncated blob: {n}-element object array at byte {pos}{self.where}, "
                    f"{end - pos} bytes left"
                )
            out = np.empty(n, dtype=object)
            for i in range(n):
                out[i], pos = self.sized(pos, end)
            return out.reshape(shape, order="F"), pos
        if cls == _CLASS_CHAR:
            self.need(pos, 2 * n, end, "{}-element char data", n)
            stop = pos + 2 * n
            if join_rows and (len(shape) == 1 or (len(shape) == 2 and shape[0] == 1)):
                # A MATLAB row of chars is one string (datajoint-python's shape: (1,)).
                return np.array([str(self.mv[pos:stop], "utf-16-le", "surrogatepass")]), stop
            codes = np.frombuffer(self.mv, "<u2", n, pos) if n else np.empty(0, "<u2")
            return codes.astype("<u4").view("<U1").reshape(shape, order="F"), stop
        dtype = _DTYPE_OF.get(cls)
        if dtype is None:
            kind = _CLASS_NAMES.get(cls, "unknown")
            raise BlobError(f"unsupported array class id {cls} ({kind}) at byte {pos - 8}{self.where}")
        size = n * dtype.itemsize
        if is_complex:
            if dtype.kind not in "iuf":
                raise BlobError(f"corrupt blob: complex {dtype} array at byte {pos - 8}")
            self.need(pos, 2 * size, end, "{}-element complex {} data", n, dtype)
            out = np.empty(n, np.complex64 if cls == 7 else np.complex128)
            if n:
                out.real = np.frombuffer(self.mv, dtype, n, pos)
                out.imag = np.frombuffer(self.mv, dtype, n, pos + size)
            return out.reshape(shape, order="F"), pos + 2 * size
        self.need(pos, size, end, "{}-element {} data", n, dtype)
        if n:
            data = np.frombuffer(self.mv, dtype, n, pos)
            data.flags.writeable = False  # a view of the caller's buffer: never write through
        else:
            data = np.empty(0, dtype)
        return data.reshape(shape, order="F"), pos + size

    def record(self, pos: int, end: int) -> tuple[object, int]:
        rec, pos = self.record_body(pos, end)
        if rec.dtype.names is None:
            return rec, pos
        result = rec.view(np.recarray)  # attribute access, as datajoint-python returns
        return (result.squeeze() if self.squeeze else result), pos

    def record_body(self, pos: int, end: int) -> tuple[np.ndarray[Any, Any], int]:
        self.need(pos, 4, end, "record array field count")
        (n_fields,) = _U32.unpack_from(self.mv, pos)
        pos += 4
        if n_fields == 0:
            # datajoint-python writes a stray NUL here and reads back None.
            if pos + 1 == end and self.mv[pos] == 0:
                pos += 1
            return np.array(None), pos
        names, pos = self.field_names(pos, end, n_fields, "record array")
        columns: list[np.ndarray[Any, Any]] = []
        for name in names:
            code = self.mv[pos] if pos < end else None
            if code == 0x41:
                column, pos = self.array_body(pos + 1, end, join_rows=False)
            elif code == 0x46:
                column, pos = self.record_body(pos + 1, end)
            else:
                raise BlobError(
                    f"corrupt blob: record field {name!r} at byte {pos}{self.where} "
                    f"must be an 'A' or 'F' item"
                )
            columns.append(column)
        # The record shape is what all columns share; the rest of a column is a subarray.
        base = columns[0].shape
        for c in columns[1:]:
            k = 0
            while k < min(len(base), c.ndim) and base[k] == c.shape[k]:
                k += 1
            base = base[:k]
        dtype = np.dtype([(nm, c.dtype, c.shape[len(base) :]) for nm, c in zip(names, columns, strict=True)])
        rec = np.empty(base, dtype)
        for nm, c in zip(names, columns, strict=True):
            rec[nm] = c
        return rec, pos

    def struct(self, pos: int, end: int) -> tuple[object, int]:
        shape, pos = self.shape(pos, end, "struct")
        self.need(pos, 4, end, "struct field count")
        (n_fields,) = _U32.unpack_from(self.mv, pos)
        pos += 4
        names, pos = self.field_names(pos, end, n_fields, "struct")
        n = math.prod(shape)
        if n_fields == 0 and pos + 1 == end and self.mv[pos] == 0:
            pos += 1  # datajoint-python writes a NUL even when there are no field names
        if n * n_fields * _MIN_ITEM > end - pos:
            raise BlobError(
                f"truncated blob: {n}x{n_fields} struct values at byte {pos}{self.where}, "
                f"{end - pos} bytes left"
            )
        columns = [np.empty(n, dtype=object) for _ in names]
        for i in range(n if columns else 0):  # no fields: nothing stored, however many elements
            for column in columns:
                column[i], pos = self.sized(pos, end)
        grid = [c.reshape(shape, order="F") for c in columns]
        result = MatStruct._wrap(shape, dict(zip(names, grid, strict=True)))
        return (result.squeeze() if self.squeeze else result), pos

    def cell(self, pos: int, end: int) -> tuple[object, int]:
        shape, pos = self.shape(pos, end, "cell")
        n = math.prod(shape)
        if n * _MIN_ITEM > end - pos:
            raise BlobError(
                f"truncated blob: {n}-element cell at byte {pos}{self.where}, {end - pos} bytes left"
            )
        out = np.empty(n, dtype=object)
        for i in range(n):
            out[i], pos = self.sized(pos, end)
        result = MatCell._wrap(out.reshape(shape, order="F"))
        return (result.squeeze() if self.squeeze else result), pos

    def sparse(self, pos: int, end: int) -> tuple[object, int]:
        raise BlobError(f"unsupported: MATLAB sparse array at byte {pos - 1}{self.where}")

    def none(self, pos: int, end: int) -> tuple[object, int]:
        return None, pos

    def items(self, pos: int, end: int, what: str) -> tuple[list[object], int]:
        n = self.count(pos, end, _MIN_ITEM, what + " length")
        pos += 8
        out = []
        for _ in range(n):
            value, pos = self.sized(pos, end)
            out.append(value)
        return out, pos

    def tuple_(self, pos: int, end: int) -> tuple[object, int]:
        values, pos = self.items(pos, end, "tuple")
        return tuple(values), pos

    def list_(self, pos: int, end: int) -> tuple[object, int]:
        return self.items(pos, end, "list")

    def set_(self, pos: int, end: int) -> tuple[object, int]:
        values, pos = self.items(pos, end, "set")
        return set(values), pos

    def dict_(self, pos: int, end: int) -> tuple[object, int]:
        n = self.count(pos, end, 2 * _MIN_ITEM, "dict length")
        pos += 8
        out = {}
        for _ in range(n):
            key_at = pos
            key, pos = self.sized(pos, end)
            value, pos = self.sized(pos, end)
            try:
                out[key] = value
            except TypeError:
                raise BlobError(
                    f"corrupt blob: unhashable dict key ({type(key).__name__}) at byte {key_at}{self.where}"
                ) from None
        return out, pos

    def string(self, pos: int, end: int) -> tuple[object, int]:
        n = self.u64(pos, end, "str length")
        if end - pos - 8 < n:
            self.need(pos + 8, n, end, "str data")
        return str(self.mv[pos + 8 : pos + 8 + n], "utf-8"), pos + 8 + n

    def binary(self, pos: int, end: int) -> tuple[object, int]:
        n = self.u64(pos, end, "bytes length")
        if end - pos - 8 < n:
            self.need(pos + 8, n, end, "bytes data")
        return bytes(self.mv[pos + 8 : pos + 8 + n]), pos + 8 + n

    def integer(self, pos: int, end: int) -> tuple[object, int]:
        if end - pos < 2:
            self.need(pos, 2, end, "int width")
        (n,) = _U16.unpack_from(self.mv, pos)
        if end - pos - 2 < n:
            self.need(pos + 2, n, end, "int data")
        return int.from_bytes(self.mv[pos + 2 : pos + 2 + n], "little", signed=True), pos + 2 + n

    def boolean(self, pos: int, end: int) -> tuple[object, int]:
        if end - pos < 1:
            self.need(pos, 1, end, "bool")
        return self.mv[pos] != 0, pos + 1

    def complex_(self, pos: int, end: int) -> tuple[object, int]:
        if end - pos < 16:
            self.need(pos, 16, end, "complex")
        re, im = _C128.unpack_from(self.mv, pos)
        return complex(re, im), pos + 16

    def real(self, pos: int, end: int) -> tuple[object, int]:
        if end - pos < 8:
            self.need(pos, 8, end, "float")
        return _F64.unpack_from(self.mv, pos)[0], pos + 8

    def decimal(self, pos: int, end: int) -> tuple[object, int]:
        n = self.u64(pos, end, "Decimal length")
        if end - pos - 8 < n:
            self.need(pos + 8, n, end, "Decimal text")
        text = str(self.mv[pos + 8 : pos + 8 + n], "ascii")
        try:
            return Decimal(text), pos + 8 + n
        except InvalidOperation:
            raise BlobError(f"corrupt blob: invalid Decimal {text!r} at byte {pos}") from None

    def datetime(self, pos: int, end: int) -> tuple[object, int]:
        if end - pos < 12:
            self.need(pos, 12, end, "date/time")
        days, micros = _DATETIME.unpack_from(self.mv, pos)
        date = None if days == -1 else _dt.date(days // 10000, days // 100 % 100, days % 100)
        time = None
        if micros != -1:
            if micros < 0:
                raise ValueError(f"negative time {micros}")
            seconds, us = divmod(micros, 1_000_000)
            time = _dt.time(seconds // 10000, seconds // 100 % 100, seconds % 100, us)
        if date is not None and time is not None:
            return _dt.datetime.combine(date, time), pos + 12
        return (date if time is None else time), pos + 12

    def uuid_(self, pos: int, end: int) -> tuple[object, int]:
        if end - pos < 16:
            self.need(pos, 16, end, "UUID")
        return uuid.UUID(bytes=bytes(self.mv[pos : pos + 16])), pos + 16


_READERS: Final[dict[int, _Reader]] = {
    0x41: _Decoder.array,
    0x50: _Decoder.sparse,
    0x53: _Decoder.struct,
    0x43: _Decoder.cell,
    0x46: _Decoder.record,
    0xFF: _Decoder.none,
    0x01: _Decoder.tuple_,
    0x02: _Decoder.list_,
    0x03: _Decoder.set_,
    0x04: _Decoder.dict_,
    0x05: _Decoder.string,
    0x06: _Decoder.binary,
    0x0A: _Decoder.integer,
    0x0B: _Decoder.boolean,
    0x0C: _Decoder.complex_,
    0x0D: _Decoder.real,
    0x64: _Decoder.decimal,
    0x74: _Decoder.datetime,
    0x75: _Decoder.uuid_,
}


# --------------------------------------------------------------------------- MATLAB types

Index: TypeAlias = "int | tuple[int | slice, ...] | slice"


def _as_shape(shape: Iterable[int]) -> tuple[int, ...]:
    out = tuple(int(s) for s in shape)
    if any(s < 0 for s in out):
        raise ValueError(f"negative dimension in shape {out}")
    return out


def _object_grid(values: object, shape: tuple[int, ...]) -> ObjectArray:
    """An object array of ``shape`` from an ndarray of that shape or a MATLAB-ordered sequence."""
    out = np.empty(shape, dtype=object)
    if isinstance(values, np.ndarray) and values.shape == shape:
        out[...] = values
        return out
    if isinstance(values, np.ndarray | str | bytes) or not isinstance(values, Sequence | Iterator):
        raise TypeError(f"expected an array of shape {shape} or a sequence of {math.prod(shape)} values")
    items = list(values)
    if len(items) != out.size:
        raise ValueError(f"{len(items)} values given for shape {shape} ({out.size} elements)")
    flat = np.empty(len(items), dtype=object)
    for i, v in enumerate(items):
        flat[i] = v
    out[...] = flat.reshape(shape, order="F")
    return out


def _element_index(index: int | tuple[int, ...], shape: tuple[int, ...]) -> int | None:
    """Row-major flat position of one element, or None if ``index`` selects several.

    A single int is a MATLAB linear index (column-major, 0-based); a tuple has one int
    per dimension. Negative values count from the end, as in Python.
    """
    size = math.prod(shape)
    if isinstance(index, int | np.integer):
        i = int(index)
        if not -size <= i < size:
            raise IndexError(f"index {i} out of range for {size} elements")
        i %= size
        if not shape:
            return 0
        return int(np.ravel_multi_index(np.unravel_index(i, shape, order="F"), shape))
    if isinstance(index, tuple) and all(isinstance(k, int | np.integer) for k in index):
        if len(index) != len(shape):
            raise IndexError(f"{len(index)} subscripts for {len(shape)} dimensions")
        sub = []
        for k, n in zip(index, shape, strict=True):
            k = int(k)
            if not -n <= k < n:
                raise IndexError(f"subscript {k} out of range for dimension of {n}")
            sub.append(k % n)
        return int(np.ravel_multi_index(tuple(sub), shape)) if shape else 0
    return None


def _select(grid: ObjectArray, key: slice | tuple[int | slice, ...]) -> ObjectArray:
    """Several elements: a lone slice runs over MATLAB linear order (giving a row), a tuple
    indexes per dimension as numpy does."""
    if isinstance(key, slice):
        return grid.ravel(order="F")[key].reshape(1, -1).copy()
    picked = grid[key]
    if not isinstance(picked, np.ndarray):
        raise IndexError(f"invalid index {key!r}")
    return np.ascontiguousarray(picked).copy()


def _same(a: object, b: object) -> bool:
    """Deep equality for blob values: arrays by shape, dtype and contents (NaN equals NaN)."""
    if a is b:
        return True
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        if not (isinstance(a, np.ndarray) and isinstance(b, np.ndarray)):
            return False
        if a.shape != b.shape or a.dtype != b.dtype:
            return False
        if a.dtype.names is not None:
            return all(_same(a[n], b[n]) for n in a.dtype.names)
        if a.dtype.kind == "O":
            return all(_same(x, y) for x, y in zip(a.flat, b.flat, strict=True))
        return bool(np.array_equal(a, b, equal_nan=a.dtype.kind in "fcmM"))
    if isinstance(a, list | tuple):
        return type(a) is type(b) and len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, dict):
        return isinstance(b, dict) and a.keys() == b.keys() and all(_same(v, b[k]) for k, v in a.items())
    if isinstance(a, float) and isinstance(b, float) and a != a and b != b:
        return True
    try:
        return bool(a == b)
    except (TypeError, ValueError):
        return False


class StructElement(MutableMapping[str, object]):
    """One element of a :class:`MatStruct`, as a field -> value mapping that writes through.

    Fields are shared by every element of the struct, so keys cannot be added or removed
    here; use :meth:`MatStruct.add_field` / :meth:`MatStruct.remove_field`.
    """

    __slots__ = ("_pos", "_struct")

    def __init__(self, struct: MatStruct, pos: int) -> None:
        self._struct = struct
        self._pos = pos

    def __getitem__(self, field: str) -> object:
        return self._struct._columns[field].reshape(-1)[self._pos]

    def __setitem__(self, field: str, value: object) -> None:
        if field not in self._struct._columns:
            raise KeyError(f"{field!r} is not a field of the struct; use MatStruct.add_field")
        self._struct._columns[field].reshape(-1)[self._pos] = value

    def __delitem__(self, field: str) -> None:
        raise TypeError("struct elements share their fields; use MatStruct.remove_field")

    def __iter__(self) -> Iterator[str]:
        return iter(self._struct._columns)

    def __len__(self) -> int:
        return len(self._struct._columns)

    def __eq__(self, other: object) -> bool:
        # Mapping.__eq__ would compare array values with ==, which is ambiguous.
        return isinstance(other, Mapping) and _same(dict(self), dict(other))

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"StructElement({dict(self)!r})"


class MatStruct:
    """A MATLAB struct array: an N-d grid of elements that share ordered field names.

    ``s["x"]`` is field ``x`` of every element (an object array of ``s.shape``);
    ``s[i]`` (MATLAB linear index, column-major, 0-based) or ``s[i, j]`` is one element
    as a mapping that writes through; slices give a sub-struct. New fields and elements
    default to MATLAB's ``[]`` (a 0x0 float64 array). Values must be MATLAB types
    (arrays of ndim >= 1, MatStruct, MatCell) for MATLAB to read the blob back.
    """

    __slots__ = ("_columns", "_shape")
    __hash__ = None  # type: ignore[assignment]

    def __init__(self, fields: Iterable[str] = (), shape: Iterable[int] = (1, 1)) -> None:
        self._shape = _as_shape(shape)
        self._columns: dict[str, ObjectArray] = {}
        for name in fields:
            self.add_field(name)

    @classmethod
    def _wrap(cls, shape: tuple[int, ...], columns: dict[str, ObjectArray]) -> MatStruct:
        self = cls.__new__(cls)
        self._shape = shape
        self._columns = {k: np.ascontiguousarray(v) for k, v in columns.items()}
        return self

    @classmethod
    def from_dict(cls, values: Mapping[str, object]) -> MatStruct:
        """A 1x1 struct (MATLAB's ``struct('a', 1, ...)`` with scalar fields)."""
        return cls.from_dicts([values], shape=(1, 1))

    @classmethod
    def from_dicts(
        cls,
        elements: Sequence[Mapping[str, object]],
        shape: Iterable[int] | None = None,
        fields: Iterable[str] | None = None,
    ) -> MatStruct:
        """A struct from per-element mappings in MATLAB linear order (default shape 1xN).

        Fields are ``fields`` if given, else every key in first-seen order; a key an
        element lacks gets ``[]``.
        """
        dims = _as_shape(shape) if shape is not None else (1, len(elements))
        if math.prod(dims) != len(elements):
            raise ValueError(f"{len(elements)} elements given for shape {dims}")
        names: list[str] = list(fields) if fields is not None else []
        if fields is None:
            for element in elements:
                names.extend(k for k in element if k not in names)
        self = cls(names, dims)
        for name, column in self._columns.items():
            values = [element.get(name, _MATLAB_EMPTY) for element in elements]
            column[...] = _object_grid(values, dims)
        return self

    @classmethod
    def from_numpy(cls, records: np.ndarray[Any, Any]) -> MatStruct:
        """A struct with the shape and fields of a structured (record) array."""
        names = records.dtype.names
        if names is None:
            raise TypeError("from_numpy needs a structured array (dtype with fields)")
        return cls._wrap(records.shape, {n: _object_grid(records[n], records.shape) for n in names})

    @property
    def fields(self) -> tuple[str, ...]:
        return tuple(self._columns)

    @property
    def shape(self) -> tuple[int, ...]:
        return self._shape

    @property
    def ndim(self) -> int:
        return len(self._shape)

    @property
    def size(self) -> int:
        return math.prod(self._shape)

    def __len__(self) -> int:
        """The number of elements (MATLAB's ``numel``)."""
        return self.size

    def __iter__(self) -> Iterator[StructElement]:
        """Elements in MATLAB linear (column-major) order."""
        for i in range(self.size):
            yield self[i]

    def add_field(self, name: str) -> None:
        """Append a field, set to ``[]`` in every element."""
        if not isinstance(name, str) or not name or "\0" in name:
            raise ValueError(f"invalid struct field name {name!r}")
        if name in self._columns:
            raise ValueError(f"struct already has a field {name!r}")
        column = np.empty(self._shape, dtype=object)
        column.fill(_MATLAB_EMPTY)
        self._columns[name] = column

    def remove_field(self, name: str) -> None:
        del self._columns[name]

    def __getitem__(self, key: str | Index) -> Any:
        if isinstance(key, str):
            return self._columns[key]
        pos = _element_index(key, self._shape)  # type: ignore[arg-type]
        if pos is not None:
            return StructElement(self, pos)
        shape = _select(np.empty(self._shape, dtype=object), key).shape  # type: ignore[arg-type]
        sub = {n: _select(c, key) for n, c in self._columns.items()}  # type: ignore[arg-type]
        return MatStruct._wrap(shape, sub)

    def __setitem__(self, key: str | int | tuple[int, ...], value: object) -> None:
        """``s["x"] = values`` sets a field of all elements; ``s[i] = {...}`` one element."""
        if isinstance(key, str):
            if key not in self._columns:
                self.add_field(key)
            self._columns[key] = _object_grid(value, self._shape)
            return
        pos = _element_index(key, self._shape)
        if pos is None or not isinstance(value, Mapping):
            raise TypeError("assign a mapping of field values to a single element")
        unknown = set(value) - set(self._columns)
        if unknown:
            raise KeyError(f"not fields of the struct: {sorted(unknown)}")
        element = StructElement(self, pos)
        for name in self._columns:
            element[name] = value.get(name, _MATLAB_EMPTY)

    def item(self) -> dict[str, object]:
        """The only element of a 1x1 struct, as a plain dict."""
        if self.size != 1:
            raise ValueError(f"item() needs a struct of one element, not shape {self._shape}")
        return dict(self[0])

    def to_dicts(self) -> list[dict[str, object]]:
        """Every element as a plain dict, in MATLAB linear order."""
        return [dict(element) for element in self]

    def to_numpy(self) -> np.recarray[Any, Any]:
        """A record array of ``shape`` with one object field per struct field."""
        rec = np.empty(self._shape, dtype=[(name, object) for name in self._columns])
        for name, column in self._columns.items():
            rec[name] = column
        return rec.view(np.recarray)

    def squeeze(self) -> MatStruct:
        """Drop singleton dimensions (a 1x1 struct becomes 0-d)."""
        shape = tuple(s for s in self._shape if s != 1)
        return MatStruct._wrap(shape, {n: c.reshape(shape).copy() for n, c in self._columns.items()})

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, MatStruct):
            return NotImplemented
        return (
            self._shape == other._shape
            and self.fields == other.fields
            and all(_same(c, other._columns[n]) for n, c in self._columns.items())
        )

    def __repr__(self) -> str:
        dims = "x".join(map(str, self._shape)) or "0-d"
        if self.size == 1:
            return f"MatStruct({dims}, {self.item()!r})"
        return f"MatStruct({dims}, fields={list(self._columns)!r})"


class MatCell:
    """A MATLAB cell array: an N-d grid of arbitrary blob values.

    Built from an object array (shape kept) or from values in MATLAB linear order (shape
    given, default 1xN). ``c[i]`` uses MATLAB linear (column-major, 0-based) order,
    ``c[i, j]`` subscripts; slices give a sub-cell; iteration is column-major.
    """

    __slots__ = ("_data",)
    __hash__ = None  # type: ignore[assignment]

    def __init__(self, values: Iterable[object] = (), shape: Iterable[int] | None = None) -> None:
        if isinstance(values, str | bytes):
            raise TypeError("MatCell takes a sequence of values; wrap a single value in a list")
        if isinstance(values, np.ndarray):
            dims = values.shape if shape is None else _as_shape(shape)
            if dims != values.shape:
                values = values.reshape(dims, order="F")
            self._data = _object_grid(values, dims)
            return
        items = list(values)
        if shape is None:
            shape = (1, len(items)) if items else (0, 0)
        dims = _as_shape(shape)
        self._data = _object_grid(items, dims)

    @classmethod
    def _wrap(cls, data: ObjectArray) -> MatCell:
        self = cls.__new__(cls)
        self._data = np.ascontiguousarray(data)
        return self

    @property
    def shape(self) -> tuple[int, ...]:
        return tuple(self._data.shape)

    @property
    def ndim(self) -> int:
        return self._data.ndim

    @property
    def size(self) -> int:
        return int(self._data.size)

    def __len__(self) -> int:
        """The number of elements (MATLAB's ``numel``)."""
        return self.size

    def __iter__(self) -> Iterator[object]:
        return iter(self._data.ravel(order="F").tolist())

    def __getitem__(self, key: Index) -> Any:
        pos = _element_index(key, self.shape)  # type: ignore[arg-type]
        if pos is not None:
            return self._data.reshape(-1)[pos]
        return MatCell._wrap(_select(self._data, key))  # type: ignore[arg-type]

    def __setitem__(self, key: int | tuple[int, ...], value: object) -> None:
        pos = _element_index(key, self.shape)
        if pos is None:
            raise TypeError("cell assignment takes one element (an int or one int per dimension)")
        self._data.reshape(-1)[pos] = value

    def to_list(self) -> list[object]:
        """The values in MATLAB linear (column-major) order."""
        return list(self)

    def to_numpy(self) -> ObjectArray:
        """A copy of the cells as an object array of ``shape``."""
        return self._data.copy()

    def squeeze(self) -> MatCell:
        """Drop singleton dimensions."""
        return MatCell._wrap(self._data.squeeze().copy())

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, MatCell):
            return NotImplemented
        return _same(self._data, other._data)

    def __repr__(self) -> str:
        dims = "x".join(map(str, self.shape)) or "0-d"
        return f"MatCell({dims}, {self.to_list()!r})"
