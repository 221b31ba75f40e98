"""The first phase of an insert: any input of rows, read into row dicts keyed by attribute.

Knows nothing of table classes: what it needs of one travels in a ``Target``, and a row
instance is recognised by its base ``Row`` (so this module sits below ``table.py``).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from importlib.util import find_spec
from pathlib import Path, PurePath
from typing import TYPE_CHECKING, Any

from .errors import QueryError

if TYPE_CHECKING:
    from .backend.connection import Connection
    from .heading import Heading, TableDef
    from .validation import Validator


class Row:
    """Base of table rows: an instance holds one row's values in its ``__dict__``."""


@dataclass(frozen=True)
class Target:
    """What writing rows needs to know of a table class, gathered when the write starts."""

    name: str
    """The class name, which errors show."""
    table_def: TableDef
    refs: Mapping[str, Mapping[str, str]]
    """Each reference attribute: the parent's key attribute -> the local column."""
    connection: Connection
    validator: Validator
    tier: str | None
    direct_insert_refused: bool
    """Rows of an auto-populated table come from ``make``: a direct insert needs permission."""

    @property
    def heading(self) -> Heading:
        return self.table_def.heading


def normalized(target: Target, rows: list[Any], *, ignore_extra_fields: bool) -> list[dict[str, Any]]:
    """Row dicts (references spread into their columns, numpy scalars as Python values)."""
    names = target.heading.names
    data = [row_dict(target, r, i, names) for i, r in enumerate(rows)]
    return finished(target, data, ignore_extra_fields=ignore_extra_fields)


def finished(
    target: Target, data: list[dict[str, Any]], *, ignore_extra_fields: bool
) -> list[dict[str, Any]]:
    """Row dicts without extra fields (when asked) and with numpy scalars as Python values."""
    heading = target.heading
    if ignore_extra_fields:
        data = [{k: v for k, v in d.items() if k in heading} for d in data]
    normalize_scalars(data, heading)
    return data


def row_dict(target: Target, row: Any, index: int, names: list[str]) -> dict[str, Any]:
    if type(row) is dict:  # the common case first: an ABC isinstance costs more than the check
        refs = target.refs
        if not refs or not any(ref in row for ref in refs):
            return row  # not copied: the steps before validation replace rows, never change them
        out = row.copy()
    elif isinstance(row, Row):
        return dict(row.__dict__)
    elif isinstance(row, Mapping):
        out = dict(row)
    elif hasattr(row, "dtype") and getattr(row.dtype, "names", None):
        out = dict(zip(row.dtype.names, row.tolist(), strict=True))
    elif isinstance(row, Sequence) and not isinstance(row, str | bytes):
        if len(row) != len(names):
            raise QueryError(
                f"{target.name}: row {index} has {len(row)} values; a positional row needs "
                f"{len(names)} ({names})"
            )
        return dict(zip(names, row, strict=True))
    else:
        raise TypeError(f"{target.name}: row {index} is a {type(row).__name__}, not a row")
    _spread_references(target, out, index)
    return out


def _spread_references(target: Target, out: dict[str, Any], index: int) -> None:
    for ref, columns in target.refs.items():
        if ref in out and ref in target.heading:  # a reference named like its one column
            out[ref] = column_value(columns, ref, out[ref])
        elif ref in out:
            value = out.pop(ref)
            if isinstance(value, Row):
                value = value.__dict__
            if isinstance(value, Mapping):
                for parent, local in columns.items():
                    out[local] = value.get(parent, value.get(local))
            elif len(columns) == 1:
                out[next(iter(columns.values()))] = value
            else:
                raise QueryError(f"{target.name}: row {index}: {ref!r} needs a mapping of {list(columns)}")


def column_value(columns: Mapping[str, str], name: str, value: Any) -> Any:
    """The column ``name`` of a reference named like it, from a parent row or key, or the bare value."""
    if isinstance(value, Row):
        value = value.__dict__
    if isinstance(value, Mapping):
        parent = next(p for p, local in columns.items() if local == name)
        return value.get(parent, value.get(name))
    return value


def as_rows(rows: Any) -> list[Any]:
    return rows if isinstance(rows, list) else list(row_source(rows))


_ARROW = ("__arrow_c_stream__", "to_batches", "to_arrow", "__dataframe__")
"""What an Arrow-readable table offers: the Arrow PyCapsule stream, pyarrow's batches, a
conversion, or the DataFrame interchange protocol."""


def row_source(rows: Any) -> Iterable[Any]:
    """The rows of any input, recognised by what it can do rather than by its class:
    pandas frames (with their index), Arrow-readable tables (pyarrow, polars, anything in
    ``_ARROW``), tables that list their rows (``to_dicts``/``to_pylist``, read without
    pyarrow), record arrays, a CSV path, or any iterable of rows (read lazily, so
    ``chunk_size`` bounds memory)."""
    if isinstance(rows, PurePath):
        if rows.suffix.lower() != ".csv":
            raise TypeError(f"insert reads a path only as a CSV file (.csv), not {rows.name!r}")
        return _csv_rows(Path(rows))
    if hasattr(rows, "to_dict") and hasattr(rows, "index") and hasattr(rows, "columns"):
        frame = rows.reset_index() if any(n is not None for n in rows.index.names) else rows
        records: list[Any] = frame.to_dict("records")
        return records
    listed = getattr(rows, "to_dicts", None) or getattr(rows, "to_pylist", None)
    if any(hasattr(rows, m) for m in _ARROW) and (listed is None or find_spec("pyarrow") is not None):
        return _arrow_rows(rows)
    if callable(listed):
        return listed()  # type: ignore[no-any-return]
    names = getattr(getattr(rows, "dtype", None), "names", None)
    if names:
        return (dict(zip(names, r, strict=True)) for r in rows.tolist())
    if isinstance(rows, Mapping | Row | str | bytes):
        raise TypeError("insert takes a collection of rows; use insert1 for one row")
    return rows  # type: ignore[no-any-return]


def _csv_rows(path: Path) -> Iterator[dict[str, Any]]:
    """Rows of a CSV file with a header line; an empty cell is an omitted value (its default)."""
    import csv

    with path.open(newline="", encoding="utf-8") as f:
        for row in csv.DictReader(f):
            yield {k: v for k, v in row.items() if v != ""}


def _arrow_rows(table: Any) -> Iterator[dict[str, Any]]:
    """Rows of an Arrow table or stream, one record batch at a time."""
    from .optional import require

    pa = require("pyarrow", extra="arrow", feature="inserting an Arrow table")
    if hasattr(table, "to_batches"):
        batches: Iterable[Any] = table.to_batches()
    elif hasattr(table, "__arrow_c_stream__"):
        batches = pa.RecordBatchReader.from_stream(table)
    elif hasattr(table, "to_arrow"):
        batches = table.to_arrow().to_batches()
    else:
        from pyarrow.interchange import from_dataframe

        batches = from_dataframe(table).to_batches()
    for batch in batches:
        yield from batch.to_pylist()


_COERCED_KINDS = frozenset({"int", "float", "str", "bool", "decimal"})
"""Kinds whose validation turns numpy scalars into Python values by itself."""


def normalize_scalars(rows: list[dict[str, Any]], heading: Heading) -> None:
    names = [a.name for a in heading if a.kind not in _COERCED_KINDS]
    if not names:
        return
    import numpy as np

    for i, row in enumerate(rows):
        for k in names:
            v = row.get(k)
            if isinstance(v, np.generic):
                row = rows[i] = {**row, k: v.item()}  # a copy: the row may be the caller's
