"""Per-table Parquet files: each attribute with the Arrow type its declared type means.

Integers keep their width and sign, decimals their precision and scale, dates, datetimes
and times their Arrow types, enums become dictionaries (categoricals in pandas and
polars); in-table blobs are their DataJoint serialization as binary, stored objects their
JSON reference as text. Each field's metadata records the declared type and comment.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import time, timedelta
from pathlib import Path
from typing import Any
from uuid import UUID

from ..errors import DatasetError
from ..heading import Attribute, Heading

_INTS = {"tinyint": 8, "smallint": 16, "mediumint": 32, "int": 32, "bigint": 64, "serial": 64, "year": 16}


def _pa() -> Any:
    try:
        import pyarrow as pa
    except ImportError as exc:
        raise DatasetError("Parquet files need pyarrow: pip install 'typedj[export]'") from exc
    return pa


def arrow_type(attr: Attribute) -> Any:
    pa = _pa()
    kind, typ = attr.kind, attr.type
    if kind == "int":
        return getattr(pa, f"{'u' if typ.unsigned else ''}int{_INTS.get(typ.base, 64)}")()
    if kind == "float":
        return pa.float32() if typ.base == "float" else pa.float64()
    if kind == "decimal":
        if typ.precision is None:
            return pa.decimal128(38, 10)
        return pa.decimal128(typ.precision, typ.scale or 0)
    if kind == "bool":
        return pa.bool_()
    if kind == "enum":
        return pa.dictionary(pa.int32(), pa.string())
    if kind == "date":
        return pa.date32()
    if kind == "datetime":
        return pa.timestamp("us")
    if kind == "time":
        return pa.time64("us")
    if kind in {"bytes", "blob"} or (kind == "attach" and attr.store is None):
        return pa.large_binary()
    return pa.large_string()  # text, uuid, json, and references to stored objects


def arrow_schema(heading: Heading) -> Any:
    pa = _pa()
    return pa.schema([
        pa.field(a.name, arrow_type(a), nullable=a.nullable,
                 metadata={"typedj.type": a.type_name, "comment": a.comment})
        for a in heading
    ])


def _time(value: Any) -> time:
    if isinstance(value, time):
        return value
    if isinstance(value, timedelta) and timedelta(0) <= value < timedelta(days=1):
        seconds = int(value.total_seconds())
        return time(seconds // 3600, seconds // 60 % 60, seconds % 60, value.microseconds)
    raise ValueError(f"{value!r} is not a time of day")


def _convert(attr: Attribute, values: list[Any]) -> list[Any]:
    kind = attr.kind
    if kind == "bool":
        return [None if v is None else bool(v) for v in values]
    if kind == "uuid":
        return [None if v is None else str(v if isinstance(v, UUID) else UUID(bytes=bytes(v)))
                for v in values]
    if kind == "time":
        return [None if v is None else _time(v) for v in values]
    if kind in {"bytes", "blob", "attach"} and attr.store is None:
        return [None if v is None else bytes(v) for v in values]
    return values


def write(path: Path, table: str, heading: Heading,
          batches: Iterable[tuple[Sequence[str], list[tuple[Any, ...]]]]) -> int:
    """Write the batches of driver values to ``path`` (atomically); the number of rows."""
    pa = _pa()
    import pyarrow.parquet as pq

    schema = arrow_schema(heading)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.part")
    count = 0
    with pq.ParquetWriter(tmp, schema, compression="zstd") as writer:
        for names, rows in batches:
            columns = list(zip(*rows, strict=True)) if rows else [() for _ in names]
            arrays = []
            for name, values in zip(names, columns, strict=True):
                attr = heading[name]
                try:
                    arrays.append(_array(pa, attr, _convert(attr, list(values))))
                except (ValueError, TypeError, pa.ArrowException) as exc:
                    raise DatasetError(f"{table}: attribute {name!r} cannot be written to Parquet "
                                       f"as {arrow_type(attr)}: {exc}", table=table, attribute=name) from exc
            writer.write_batch(pa.RecordBatch.from_arrays(arrays, schema=schema))
            count += len(rows)
    tmp.replace(path)
    return count


def _array(pa: Any, attr: Attribute, values: list[Any]) -> Any:
    t = arrow_type(attr)
    if pa.types.is_dictionary(t):
        return pa.array(values, type=pa.string()).dictionary_encode()
    return pa.array(values, type=t)
