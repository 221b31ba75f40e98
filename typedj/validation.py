"""Every insert is validated by a pydantic model built from the table's heading.

The model is a ``TypedDict`` validated as a list in one call, so a batch of 10,000 rows
costs one trip into pydantic's core, and every problem of every row is reported at once.
"""

from __future__ import annotations

import math
import numbers
import reprlib
import typing
from collections.abc import Sequence
from datetime import date, datetime, time
from decimal import Decimal
from pathlib import PurePath
from typing import Annotated, Any, Literal, NotRequired, get_origin
from uuid import UUID

import pydantic
from typing_extensions import TypedDict

from .errors import Problem, ValidationError
from .heading import Attribute, Heading

_KIND_TYPES: dict[str, Any] = {
    "date": date,
    "datetime": datetime,
    "time": time,
    "uuid": UUID,
    "bytes": bytes,
    "bool": bool,
}


def python_type(attr: Attribute, *, nul: bool = True) -> Any:
    """The Python type values of ``attr`` have, with its SQL limits as constraints;
    ``nul``: whether the server stores the NUL character in text and JSON."""
    kind, typ = attr.kind, attr.type
    if kind == "int":
        bounds = typ.int_range or (None, None)
        return Annotated[int, pydantic.Field(ge=bounds[0], le=bounds[1], strict=False)]
    if kind == "float":
        if typ.base == "float":
            return Annotated[float, pydantic.Field(allow_inf_nan=False, ge=-FLOAT32_MAX, le=FLOAT32_MAX)]
        return Annotated[float, pydantic.Field(allow_inf_nan=False)]
    if kind == "decimal":
        digits, places = typ.precision or 10, typ.scale or 0  # MySQL's decimal is decimal(10,0)
        return Annotated[Decimal, pydantic.Field(max_digits=digits, decimal_places=places)]
    if kind == "str":
        text = Annotated[str, pydantic.Field(max_length=typ.length)] if typ.length is not None else str
        return text if nul else Annotated[text, pydantic.AfterValidator(_without_nul)]
    if kind == "enum":
        return Literal[typ.members]
    if kind == "json":
        check = _storable_json if nul else _storable_json_without_nul
        return Annotated[pydantic.JsonValue, pydantic.BeforeValidator(check)]
    if kind == "datetime":
        return Annotated[datetime, pydantic.AfterValidator(_naive)]
    if kind == "time":
        return Annotated[time, pydantic.AfterValidator(_naive)]
    if kind == "blob" or kind == "external":
        return _instance_of(attr.python_type)
    if kind == "attach":
        return pydantic.FilePath
    if kind == "filepath":
        return Annotated[str, pydantic.BeforeValidator(_store_path)]
    if kind in _KIND_TYPES:
        return _KIND_TYPES[kind]
    return Any


FLOAT32_MAX = 3.4028234663852886e38
"""The largest finite float32; MySQL refuses a ``float`` beyond it."""

JSON_MAX_DEPTH = 31
"""The deepest nesting of arrays and objects a json attribute takes: MariaDB refuses 32."""


def _naive(value: datetime | time) -> datetime | time:
    """Refuse aware values: the column stores wall-clock time without an offset, which
    MySQL drops silently and SQLite keeps, so one rule (naive only) serves both."""
    if value.tzinfo is not None:
        raise ValueError(
            "a naive value (no time zone); convert first, e.g. "
            "value.astimezone(zone).replace(tzinfo=None)"
        )
    return value


_NUL_REFUSED = "text without the NUL character (\\x00), which this server cannot store"


def _without_nul(value: str) -> str:
    if "\0" in value:
        raise ValueError(_NUL_REFUSED)
    return value


def _storable_json_without_nul(value: Any) -> Any:
    return _storable_json(value, nul=False)


def _storable_json(value: Any, nul: bool = True) -> Any:
    """Refuse what no backend stores as JSON (NaN, infinities, lone surrogates) or nests deeper than
    ``JSON_MAX_DEPTH``, and NUL in text unless ``nul``; walks without recursion so any
    depth is refused, not crashed on."""
    stack: list[tuple[Any, int]] = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict | list | tuple):
            if depth >= JSON_MAX_DEPTH:
                raise ValueError(f"JSON nested at most {JSON_MAX_DEPTH} levels deep")
            if isinstance(item, dict):
                stack.extend((k, depth) for k in item)
                children: Any = item.values()
            else:
                children = item
            stack.extend((child, depth + 1) for child in children)
        elif isinstance(item, float) and not math.isfinite(item):
            raise ValueError("JSON numbers are finite (no NaN or infinity)")
        elif isinstance(item, str) and not nul and "\0" in item:
            raise ValueError(_NUL_REFUSED)
        elif isinstance(item, str) and not item.isascii():
            try:
                item.encode("utf-8")
            except UnicodeEncodeError:
                raise ValueError("JSON text is valid Unicode (no lone surrogates)") from None
    return value


def _store_path(value: Any) -> Any:
    """A path within a store: relative, ``/``-separated, no ``..`` segments."""
    if isinstance(value, PurePath):
        value = value.as_posix()
    if isinstance(value, str):
        parts = value.replace("\\", "/").strip("/").split("/")
        if not value.strip("/") or ".." in parts or "\0" in value:
            raise ValueError("a path within the store, such as 'subject1/session2/data.bin'")
        drive = len(value) > 1 and value[0].isalpha() and value[1] == ":" and value[2:3] in ("", "/", "\\")
        if value.startswith(("/", "\\")) or drive:
            raise ValueError(
                "a path within the store, relative to its location (such as "
                "'subject1/session2/data.bin'), not an absolute path"
            )
        return "/".join(p for p in parts if p and p != ".")
    return value


def _instance_of(declared: Any) -> Any:
    if declared is None or declared is Any:
        return Any
    origin = get_origin(declared) or declared
    if isinstance(origin, type):
        instance_of: Any = pydantic.InstanceOf
        return instance_of[origin]
    return Any


_short = reprlib.Repr()
_short.maxlevel, _short.maxstring, _short.maxother, _short.maxlist, _short.maxdict = 3, 80, 80, 8, 8
"""Shows a refused value bounded in depth and length: the value may be deep or huge."""


def _describe(attr: Attribute) -> str:
    return f"{attr.type_name}{' or None' if attr.nullable else ''}"


def _is_nan(value: Any) -> bool:
    """NaN of any float type (numpy's float32 is not a ``float``); NaN is stored as NULL."""
    if isinstance(value, float):
        return math.isnan(value)
    if value is None or isinstance(value, int | str | bytes):
        return False
    return isinstance(value, numbers.Real) and math.isnan(value)


class Validator:
    """Validates rows (mappings of attribute names) for one table."""

    def __init__(self, table: str, heading: Heading, *, nul: bool = True):
        """``nul``: the server stores the NUL character in text and JSON (PostgreSQL does not)."""
        self.table = table
        self.heading = heading
        self.attributes = [a for a in heading if not a.is_hidden]
        fields: dict[str, Any] = {}
        for attr in self.attributes:
            t = python_type(attr, nul=nul)
            if attr.nullable:
                t = typing.Optional[t]  # noqa: UP045 - t may be a typing form without __or__
            if attr.has_default:
                t = NotRequired[t]
            fields[attr.name] = t
        make_row_type: Any = TypedDict
        model = make_row_type(f"{table}Row", fields)
        model.__pydantic_config__ = pydantic.ConfigDict(extra="forbid", arbitrary_types_allowed=True)
        rows_type: Any = list.__class_getitem__(model)  # built at run time: no static form
        self._adapter: pydantic.TypeAdapter[list[dict[str, Any]]] = pydantic.TypeAdapter(rows_type)
        self._float_nullable = [a.name for a in self.attributes if a.kind == "float" and a.nullable]

    def validate(self, rows: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
        """Validated copies of ``rows``; raises ``ValidationError`` listing every problem."""
        if self._float_nullable:
            rows = list(rows)
            for i, row in enumerate(rows):
                for name in self._float_nullable:
                    v = row.get(name)
                    if _is_nan(v):
                        row = rows[i] = {**row, name: None}  # a copy: the row may be the caller's
        try:
            return self._adapter.validate_python(rows)
        except pydantic.ValidationError as exc:
            raise ValidationError(self.table, self._problems(exc, rows)) from None

    def _problems(self, exc: pydantic.ValidationError, rows: Sequence[dict[str, Any]]) -> list[Problem]:
        problems = []
        for err in exc.errors():
            loc = err["loc"]
            row = int(loc[0]) if loc and isinstance(loc[0], int) else 0
            name = str(loc[1]) if len(loc) > 1 else None
            attr = self.heading.get(name) if name else None
            if err["type"] == "missing":
                message = f"missing (required {attr.type_name if attr else 'value'})"
            elif err["type"] == "extra_forbidden":
                message = f"unknown attribute; {self.table} has {self.heading.names}"
            else:
                expected = f"expected {_describe(attr)}: " if attr else ""
                message = f"{expected}{err['msg']}, got {_short.repr(err.get('input'))}"
            problems.append(Problem(row=row, attribute=name, message=message, value=err.get("input")))
        problems.sort(key=lambda p: (p.row, p.attribute or ""))
        return problems


_ESCAPED = (b"\0", b"\\", b"\n", b"\r", b"\x1a", b"'", b'"')
_ROW_OVERHEAD = 1024
"""Bytes of a statement besides its values (verb, names, quotes), with room to spare."""


def _sent_size(value: Any) -> int:
    """Bytes ``value`` takes in a MySQL statement: escaped characters count twice."""
    if isinstance(value, str):
        value = value.encode("utf-8", "surrogatepass")
    if isinstance(value, bytes | bytearray | memoryview):
        data = bytes(value)
        return len(data) + sum(data.count(c) for c in _ESCAPED)
    return 0


def oversized(
    columns: Sequence[str], rows: Sequence[Sequence[Any]], limit: tuple[int, bool],
    positions: Sequence[int] | None = None,
) -> list[Problem]:
    """Refuse encoded rows the server would refuse for size (MySQL's ``max_allowed_packet``
    bounds a row's statement; SQLite's length limit bounds each value)."""
    most, per_row = limit
    budget = most - _ROW_OVERHEAD if per_row else most
    problems = []
    for i, row in enumerate(rows):
        sizes = [len(v) if isinstance(v, str | bytes | bytearray | memoryview) else 0 for v in row]
        if sum(sizes) * (2 if per_row else 1) <= budget:
            continue  # the common case: no exact count needed
        exact = [_sent_size(v) for v in row] if per_row else sizes
        over = sum(exact) > budget if per_row else max(exact) > budget
        if over:
            biggest = max(range(len(row)), key=lambda k: exact[k])
            where = "the server's max_allowed_packet" if per_row else "the database's length limit"
            problems.append(Problem(
                row=positions[i] if positions is not None else i, attribute=columns[biggest],
                message=f"{exact[biggest]:,} bytes exceed {where} ({most:,} bytes); "
                "keep large values in an object store (External)",
            ))
    return problems
