"""Encoding values into blob items; the chunks are joined once, by ``pack``."""

from __future__ import annotations

import datetime as _dt
import math
import struct
import uuid
from collections.abc import Callable, Mapping, MutableSequence, Sequence
from collections.abc import Set as AbstractSet
from decimal import Decimal
from typing import Any, Final, TypeAlias

import numpy as np

from .format import (
    ARRAY_HEADS,
    C128,
    CLASS_CHAR,
    CLASS_OBJECT,
    DATETIME,
    DATETIME_BASE,
    DATETIME_UNITS,
    F64,
    FLOAT_ITEM,
    MAX_DEPTH,
    NUMERIC_CLASS,
    STR_HEAD,
    U16_INT,
    U32,
    BlobError,
    ObjectArray,
    pack_u64,
)
from .matlab import MatCell, MatStruct

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


class Encoder:
    """Collects the blob as a list of chunks; array data stays in numpy until the final join."""

    __slots__ = ("depth", "dj0", "parts", "size")

    def __init__(self) -> None:
        self.parts: list[Chunk] = [b""]  # slot 0: protocol header, known only at the end
        self.size = 0
        self.dj0 = False
        self.depth = 0

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
        parts[slot] = pack_u64(self.size - start)

    def item(self, obj: object) -> None:
        if self.depth >= MAX_DEPTH:
            raise BlobError(f"value nests too deeply to pack (over {MAX_DEPTH} levels, or a container "
                            "contains itself)")
        self.depth += 1
        try:
            handler = _EXACT_TYPES.get(type(obj))
            if handler is not None:
                handler(self, obj)
            else:
                self.other(obj)
        finally:
            self.depth -= 1

    def other(self, obj: object) -> None:
        """Dispatch in the reference's order, so subclasses land where datajoint puts them."""
        if isinstance(obj, MatStruct):
            self.struct(obj.shape, obj.fields, list(obj._columns.values()))
            return
        if isinstance(obj, MatCell):
            self.cell(obj._data)
            return
        if isinstance(obj, np.ndarray):
            self.array_subclass(obj)
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
            self.put(b"\x0c" + C128.pack(obj.real, obj.imag))
        elif isinstance(obj, float):
            self.put(b"\x0d" + F64.pack(obj))
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

    def array_subclass(self, obj: np.ndarray[Any, Any]) -> None:
        """An ndarray subclass: datajoint's MatCell/MatStruct, a masked array, or a plain array."""
        ref = _reference_kind(obj)
        if ref == "MatCell":
            self.cell(np.asarray(obj))
        elif ref == "MatStruct":
            names = tuple(obj.dtype.names or ())
            self.struct(obj.shape, names, [np.asarray(obj[n]) for n in names])
        elif isinstance(obj, np.ma.MaskedArray):
            raise BlobError("masked arrays cannot be packed; use .filled() or pack the mask")
        else:
            self.ndarray(np.asarray(obj))

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
        self.parts.append(U16_INT.pack(0x0A, n) + value.to_bytes(n, "little", signed=True))
        self.size += 3 + n

    def real(self, obj: object) -> None:
        self.dj0 = True
        self.parts.append(FLOAT_ITEM.pack(0x0D, obj))
        self.size += 9

    def complex_(self, obj: object) -> None:
        assert isinstance(obj, complex)
        self.dj0 = True
        self.put(b"\x0c" + C128.pack(obj.real, obj.imag))

    def string(self, obj: object) -> None:
        assert isinstance(obj, str)
        self.dj0 = True
        try:
            raw = obj.encode()
        except UnicodeEncodeError as exc:
            raise BlobError(f"str is not encodable as UTF-8: {exc}") from exc
        n = len(raw)
        if n < 4096:  # one small chunk beats two
            self.parts.append(STR_HEAD.pack(0x05, n) + raw)
            self.size += 9 + n
        else:
            self.put(STR_HEAD.pack(0x05, n))
            self.put(raw)

    def binary(self, obj: object) -> None:
        assert isinstance(obj, bytes | bytearray | memoryview)
        self.dj0 = True
        raw = obj if type(obj) is bytes else bytes(obj)
        self.put(b"\x06" + pack_u64(len(raw)))
        self.put(raw)

    def decimal(self, obj: Decimal) -> None:
        text = str(obj).encode("ascii")
        self.put(b"d" + pack_u64(len(text)) + text)

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
        self.put(b"t" + DATETIME.pack(days, micros))

    def sequence(self, code: bytes, items: list[object]) -> None:
        self.dj0 = True
        self.put(code + pack_u64(len(items)))
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
        self.put(b"\x04" + pack_u64(len(items)))
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
        numeric = NUMERIC_CLASS.get(dt)
        if numeric is not None:  # fast path: little-endian bool/int/float/complex
            cls, is_complex = numeric
        else:
            cls, is_complex, a = self.other_array(a)
            if cls < 0:
                return
        shape = a.shape
        if not shape:
            self.dj0 = True  # MATLAB has no 0-d arrays
        self.put(ARRAY_HEADS[len(shape)].pack(0x41, len(shape), *shape, cls, is_complex))
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
            self.put(ARRAY_HEADS[a.ndim].pack(0x41, a.ndim, *a.shape, CLASS_OBJECT, 0))
            flat = a.ravel(order="F")
            for element in flat.tolist() if kind == "U" else flat:
                self.sized(element)
            self.dj0 = True
            return -1, 0, a
        if kind == "S" and dt.itemsize == 1:
            # MATLAB char: UTF-16 code units, column-major as the format says (datajoint-python
            # writes multi-row char arrays row-major). 0-d stays mYm, as in datajoint-python.
            self.put(ARRAY_HEADS[a.ndim].pack(0x41, a.ndim, *a.shape, CLASS_CHAR, 0))
            self.put(a.ravel(order="F").view(np.uint8).astype("<u2").view(np.uint8).data)
            return -1, 0, a
        if kind == "M":
            unit, count = np.datetime_data(dt)
            if count != 1 or unit not in DATETIME_UNITS:
                raise BlobError(f"cannot pack {dt}: only datetime64 with a plain unit is supported")
            self.dj0 = True
            return DATETIME_BASE + DATETIME_UNITS.index(unit), 0, a.astype(f"<M8[{unit}]", copy=False)
        little = dt.newbyteorder("<")
        numeric = NUMERIC_CLASS.get(little)
        if numeric is None:
            raise BlobError(
                f"cannot pack an array of dtype {dt}: no DataJoint class for it "
                "(convert, e.g. float16 -> float32, bytes -> object array)"
            )
        return numeric[0], numeric[1], a.astype(little)  # big-endian input

    def record(self, a: np.ndarray[Any, Any]) -> None:
        """``F`` item: field names, then each field's column as an ``A``/``F`` item."""
        names = a.dtype.names or ()
        self.put(b"F" + U32.pack(len(names)) + _names(names))
        for name in names:
            column = a[name]
            if column.dtype.names is not None:
                self.record(column)
            else:
                self.array(column)

    def struct(self, shape: tuple[int, ...], names: Sequence[str], columns: list[Any]) -> None:
        self.put(b"S" + _dims(shape) + U32.pack(len(names)) + _names(names))
        flat = [c.ravel(order="F") for c in columns]
        for i in range(math.prod(shape)):
            for column in flat:
                self.sized(column[i])

    def cell(self, data: ObjectArray) -> None:
        self.put(b"C" + _dims(data.shape))
        for element in data.ravel(order="F"):
            self.sized(element)


_EXACT_TYPES: Final[dict[type, Callable[[Encoder, Any], None]]] = {
    type(None): Encoder.none,
    bool: Encoder.boolean,
    int: Encoder.integer,
    float: Encoder.real,
    complex: Encoder.complex_,
    str: Encoder.string,
    bytes: Encoder.binary,
    list: Encoder.list_,
    np.ndarray: Encoder.ndarray,
    tuple: Encoder.tuple_,
    set: Encoder.set_,
    frozenset: Encoder.set_,
    dict: Encoder.mapping,
}


