"""Decoding blob items, each bounded by its declared length."""

from __future__ import annotations

import datetime as _dt
import math
import struct
import uuid
from collections.abc import Callable
from decimal import Decimal, InvalidOperation
from typing import Any, Final, TypeAlias

import numpy as np

from .format import (
    C128,
    CLASS_CHAR,
    CLASS_NAMES,
    CLASS_OBJECT,
    DATETIME,
    DTYPE_OF,
    F64,
    ITEM_NAMES,
    MAX_DEPTH,
    MIN_ITEM,
    U16,
    U32,
    U32X2,
    BlobError,
    unpack_u64,
)
from .matlab import MatCell, MatStruct

_Reader: TypeAlias = "Callable[[Decoder, int, int], tuple[object, int]]"


class Decoder:
    """Reads items from one buffer; ``end`` bounds each item so lengths are enforced."""

    __slots__ = ("depth", "mv", "squeeze", "where")

    def __init__(self, mv: memoryview, squeeze: bool, where: str) -> None:
        self.mv = mv
        self.squeeze = squeeze
        self.where = where
        self.depth = 0

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
        return int(unpack_u64(self.mv, pos)[0])

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
        if self.depth >= MAX_DEPTH:
            raise self.too_deep(pos)
        self.depth += 1
        try:
            return reader(self, pos + 1, end)
        except BlobError:
            raise
        except (ValueError, TypeError, LookupError, ArithmeticError, MemoryError) as exc:
            raise self.invalid(code, pos, exc) from exc
        finally:
            self.depth -= 1

    def too_deep(self, pos: int) -> BlobError:
        return BlobError(f"blob nests too deeply to decode (over {MAX_DEPTH} levels, byte {pos}{self.where})")

    def unknown(self, code: int, pos: int) -> BlobError:
        return BlobError(
            f"corrupt blob: unknown item code {code:#04x} ({chr(code)!r}) at byte {pos}{self.where}"
        )

    def invalid(self, code: int, pos: int, exc: BaseException) -> BlobError:
        return BlobError(f"corrupt blob: invalid {ITEM_NAMES[code]} item at byte {pos}{self.where}: {exc}")

    def sized(self, pos: int, end: int) -> tuple[object, int]:
        """An item preceded by its uint64 length; the item must fill exactly that length."""
        if end - pos < 8:
            self.need(pos, 8, end, "item length")
        (n,) = unpack_u64(self.mv, pos)
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
        if self.depth >= MAX_DEPTH:
            raise self.too_deep(start)
        self.depth += 1
        try:
            value, used = reader(self, start + 1, stop)
        except BlobError:
            raise
        except (ValueError, TypeError, LookupError, ArithmeticError, MemoryError) as exc:
            raise self.invalid(code, start, exc) from exc
        finally:
            self.depth -= 1
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
        cls, is_complex = U32X2.unpack_from(self.mv, pos)
        pos += 8
        n = math.prod(shape)
        if cls == CLASS_OBJECT:
            if n * MIN_ITEM > end - pos:
                raise BlobError(
                    f"truncated blob: {n}-element object array at byte {pos}{self.where}, "
                    f"{end - pos} bytes left"
                )
            out = np.empty(n, dtype=object)
            for i in range(n):
                out[i], pos = self.sized(pos, end)
            return out.reshape(shape, order="F"), pos
        if cls == CLASS_CHAR:
            self.need(pos, 2 * n, end, "{}-element char data", n)
            stop = pos + 2 * n
            if join_rows and (len(shape) == 1 or (len(shape) == 2 and shape[0] == 1)):
                # A MATLAB row of chars is one string (datajoint-python's shape: (1,)).
                return np.array([str(self.mv[pos:stop], "utf-16-le", "surrogatepass")]), stop
            codes = np.frombuffer(self.mv, "<u2", n, pos) if n else np.empty(0, "<u2")
            return codes.astype("<u4").view("<U1").reshape(shape, order="F"), stop
        dtype = DTYPE_OF.get(cls)
        if dtype is None:
            kind = CLASS_NAMES.get(cls, "unknown")
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
        (n_fields,) = U32.unpack_from(self.mv, pos)
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
        (n_fields,) = U32.unpack_from(self.mv, pos)
        pos += 4
        names, pos = self.field_names(pos, end, n_fields, "struct")
        n = math.prod(shape)
        if n_fields == 0 and pos + 1 == end and self.mv[pos] == 0:
            pos += 1  # datajoint-python writes a NUL even when there are no field names
        if n * n_fields * MIN_ITEM > end - pos:
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
        if n * MIN_ITEM > end - pos:
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
        n = self.count(pos, end, MIN_ITEM, what + " length")
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
        n = self.count(pos, end, 2 * MIN_ITEM, "dict length")
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
        (n,) = U16.unpack_from(self.mv, pos)
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
        re, im = C128.unpack_from(self.mv, pos)
        return complex(re, im), pos + 16

    def real(self, pos: int, end: int) -> tuple[object, int]:
        if end - pos < 8:
            self.need(pos, 8, end, "float")
        return F64.unpack_from(self.mv, pos)[0], pos + 8

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
        days, micros = DATETIME.unpack_from(self.mv, pos)
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
    0x41: Decoder.array,
    0x50: Decoder.sparse,
    0x53: Decoder.struct,
    0x43: Decoder.cell,
    0x46: Decoder.record,
    0xFF: Decoder.none,
    0x01: Decoder.tuple_,
    0x02: Decoder.list_,
    0x03: Decoder.set_,
    0x04: Decoder.dict_,
    0x05: Decoder.string,
    0x06: Decoder.binary,
    0x0A: Decoder.integer,
    0x0B: Decoder.boolean,
    0x0C: Decoder.complex_,
    0x0D: Decoder.real,
    0x64: Decoder.decimal,
    0x74: Decoder.datetime,
    0x75: Decoder.uuid_,
}


