"""Built-in codecs: bool, uuid, json, time, float, and in-table blobs."""

from __future__ import annotations

import json
import math
from datetime import time, timedelta
from typing import Any
from uuid import UUID

from ..errors import Problem, ValidationError
from ..heading import Attribute
from .registry import Column, ColumnFn, Context, register


class DecodeError(Exception):
    """A stored value that cannot be decoded; ``index`` is its row in the column."""

    def __init__(self, index: int, cause: BaseException):
        super().__init__(str(cause))
        self.index = index
        self.cause = cause


def _map(fn: Any) -> ColumnFn:
    def column(values: Column) -> Column:
        return [None if v is None else fn(v) for v in values]

    return column


class Unsigned64(int):
    """A ``bigint unsigned`` value beyond the signed 64-bit range, marked for the driver:
    MySQL takes it as it is; SQLite, whose integers are signed, stores it wrapped below
    zero (two's complement) and its decoder adds 2**64 back."""


_SIGNED_MAX = 2**63 - 1


class _Int:
    def encoder(self, attr: Attribute, ctx: Context) -> ColumnFn | None:
        if not attr.type.is_wide_unsigned:
            return None

        def column(values: Column) -> Column:
            return [Unsigned64(v) if v is not None and v > _SIGNED_MAX else v for v in values]

        return column

    def decoder(self, attr: Attribute, ctx: Context) -> ColumnFn | None:
        return None


class _Bool:
    def encoder(self, attr: Attribute, ctx: Context) -> ColumnFn | None:
        return _map(bool)  # PostgreSQL's boolean takes no integers; MySQL and SQLite take bools

    def decoder(self, attr: Attribute, ctx: Context) -> ColumnFn | None:
        return _map(bool)


class _Uuid:
    """UUIDs go to the driver as ``UUID``: PostgreSQL stores them natively, and the MySQL
    and SQLite drivers send their 16 bytes (``binary(16)``)."""

    def encoder(self, attr: Attribute, ctx: Context) -> ColumnFn | None:
        return _map(lambda v: v if isinstance(v, UUID) else UUID(str(v)))

    def decoder(self, attr: Attribute, ctx: Context) -> ColumnFn | None:
        return _map(lambda v: v if isinstance(v, UUID) else UUID(bytes=bytes(v)))


class _Json:
    def encoder(self, attr: Attribute, ctx: Context) -> ColumnFn | None:
        return _map(lambda v: json.dumps(v, separators=(",", ":"), default=str))

    def decoder(self, attr: Attribute, ctx: Context) -> ColumnFn | None:
        return _map(lambda v: json.loads(v) if isinstance(v, str | bytes | bytearray) else v)


def _to_time(value: Any) -> Any:
    if isinstance(value, timedelta):
        seconds = int(value.total_seconds())
        if 0 <= seconds < 86400:
            return time(seconds // 3600, seconds // 60 % 60, seconds % 60, value.microseconds)
    return value


class _Time:
    def encoder(self, attr: Attribute, ctx: Context) -> ColumnFn | None:
        return None

    def decoder(self, attr: Attribute, ctx: Context) -> ColumnFn | None:
        return _map(_to_time)


class _Float:
    """NaN is stored as NULL, as DataJoint does."""

    def encoder(self, attr: Attribute, ctx: Context) -> ColumnFn | None:
        if not attr.nullable:
            return None  # NaN cannot reach a NOT NULL column: validation refuses it

        def column(values: Column) -> Column:
            return [None if isinstance(v, float) and math.isnan(v) else v for v in values]

        return column

    def decoder(self, attr: Attribute, ctx: Context) -> ColumnFn | None:
        return None


class _Blob:
    """DataJoint's in-table blob serialization (``<blob>``)."""

    def encoder(self, attr: Attribute, ctx: Context) -> ColumnFn | None:
        from ..config import config
        from .blob import pack

        def column(values: Column) -> Column:
            out = []
            level = config.blob_compression if attr.compression is None else attr.compression
            for i, v in enumerate(values):
                try:
                    out.append(None if v is None else pack(v, compress=level))
                except Exception as exc:
                    problem = Problem(row=i, attribute=attr.name, message=f"cannot serialize: {exc}")
                    raise ValidationError(ctx.table, [problem]) from exc
            return out

        return column

    def decoder(self, attr: Attribute, ctx: Context) -> ColumnFn | None:
        from .blob import unpack
        from .declared import conform, target

        cls = target(attr.python_type)

        def column(values: Column) -> Column:
            out = []
            for i, v in enumerate(values):
                try:
                    value = None if v is None else unpack(v)
                    out.append(value if cls is None else conform(value, cls))
                except Exception as exc:
                    raise DecodeError(i, exc) from exc
            return out

        return column


register("int", _Int())
register("bool", _Bool())
register("uuid", _Uuid())
register("json", _Json())
register("time", _Time())
register("float", _Float())
register("blob", _Blob())
