"""Reading a MySQL result straight into columns: the fast path of every fetch.

pymysql parses each row with several Python calls per value (read a length, slice,
decode, convert). Here the row packets of an unbuffered result are read off the socket
in one tight loop that splits each packet into its fields, and each *column* is then
converted with one C-level ``map`` (``int(b"12")``, ``float(b"1.5")``,
``date.fromisoformat``), giving exactly the values pymysql would give.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from typing import Any

import pymysql
from pymysql import converters
from pymysql.constants import SERVER_STATUS

Column = list[Any]

_MAX_PACKET = 0xFFFFFF


def read_columns(cursor: Any, max_rows: int | None = None) -> list[Column] | None:
    """The remaining rows (at most ``max_rows``) of an unbuffered pymysql cursor, as columns.

    Returns None (nothing read) when ``cursor`` is not a pymysql unbuffered cursor
    with a pending result: the caller reads it the ordinary way, or, once this has
    read a result to its end, knows there is nothing left.
    """
    result = getattr(cursor, "_result", None)
    if not isinstance(cursor, pymysql.cursors.SSCursor) or result is None:
        return None
    if not getattr(result, "unbuffered_active", False) or not result.field_count:
        return None
    raw = _read_raw(result, max_rows)
    return [_convert(col, enc, conv) for col, (enc, conv) in zip(raw, result.converters, strict=True)]


def _finish(result: Any, eof: bytes) -> None:
    """Close ``result`` on its EOF packet, as pymysql does."""
    status = int.from_bytes(eof[3:5], "little") if len(eof) >= 5 else 0
    result.warning_count = int.from_bytes(eof[1:3], "little") if len(eof) >= 3 else 0
    result.has_next = bool(status & SERVER_STATUS.SERVER_MORE_RESULTS_EXISTS)
    result.unbuffered_active = False
    result.connection = None
    result.rows = None


def _read_raw(result: Any, max_rows: int | None) -> list[list[bytes | None]]:
    """The fields of the row packets up to the EOF packet, as byte strings per column."""
    conn = result.connection
    read = conn._rfile.read
    columns: list[list[bytes | None]] = [[] for _ in range(result.field_count)]
    appends = [c.append for c in columns]
    seq = conn._next_seq_id
    remaining = -1 if max_rows is None else max_rows
    try:
        while remaining:
            remaining -= 1
            header = read(4)
            if len(header) < 4:
                raise pymysql.err.OperationalError(2013, "Lost connection to MySQL server during query")
            length = header[0] | header[1] << 8 | header[2] << 16
            if header[3] != seq:
                conn._next_seq_id = seq
                raise pymysql.err.InternalError(f"packet sequence number {header[3]}, expected {seq}")
            seq = (seq + 1) & 0xFF
            data = read(length)
            while length == _MAX_PACKET:  # a row over 16 MB continues in further packets
                more = read(4)
                length = more[0] | more[1] << 8 | more[2] << 16
                seq = (seq + 1) & 0xFF
                data += read(length)
            first = data[0] if data else 0
            if first == 0xFE and len(data) < 9:
                _finish(result, data)
                break
            if first == 0xFF:
                conn._next_seq_id = seq
                result.unbuffered_active = False
                pymysql.protocol.MysqlPacket(data, conn.encoding).raise_for_error()
            pos = 0
            for append in appends:
                n = data[pos]
                if n < 251:
                    pos += 1
                elif n == 251:
                    append(None)
                    pos += 1
                    continue
                elif n == 252:
                    n = data[pos + 1] | data[pos + 2] << 8
                    pos += 3
                elif n == 253:
                    n = data[pos + 1] | data[pos + 2] << 8 | data[pos + 3] << 16
                    pos += 4
                else:
                    n = int.from_bytes(data[pos + 1 : pos + 9], "little")
                    pos += 9
                append(data[pos : pos + n])
                pos += n
    finally:
        conn._next_seq_id = seq
    return columns


def _date(value: bytes) -> date:
    return date.fromisoformat(value.decode("ascii"))


def _datetime(value: bytes) -> datetime:
    return datetime.fromisoformat(value.decode("ascii"))


_FAST: dict[Any, Callable[[bytes], Any]] = {
    int: int,
    float: float,
    converters.convert_date: _date,
    converters.convert_datetime: _datetime,
}


def _convert(column: list[bytes | None], encoding: str | None, converter: Any) -> Column:
    """One column as pymysql would convert it, mapped in C where the type allows."""
    fast = _FAST.get(converter)
    if fast is not None:
        try:
            return _apply(fast, column)
        except ValueError:
            pass  # e.g. a zero date, which pymysql returns as text: take its way
    if encoding is None and converter is None:
        return column
    if converter is None and encoding in {"utf8", "utf-8", "ascii"}:
        return _apply(bytes.decode, column)  # utf-8 is bytes.decode's default
    if converter is None:

        def decode(v: bytes) -> Any:
            return v.decode(encoding)  # type: ignore[arg-type]

    elif encoding is None:
        decode = converter
    else:

        def decode(v: bytes) -> Any:
            return converter(v.decode(encoding))

    return _apply(decode, column)


def _apply(fn: Callable[[bytes], Any], column: list[bytes | None]) -> Column:
    if None in column:
        return [None if v is None else fn(v) for v in column]
    return list(map(fn, column))  # type: ignore[arg-type]
