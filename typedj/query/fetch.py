"""Running queries and shaping their results: instances, dicts, arrays, DataFrames, Arrow.

Results are handled a column at a time: the driver's rows are transposed once, only
the columns whose type needs it are decoded, and each format is built from the
columns (``dict(zip(...))`` rows, one numpy array per column), so no Python work is
done per value beyond what the driver itself does.
"""

from __future__ import annotations

import contextlib
import functools
import gc
import html
import json
import threading
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from decimal import Decimal
from itertools import repeat
from operator import attrgetter, itemgetter, setitem
from typing import TYPE_CHECKING, Any, TypeVar

from .. import codecs
from ..codecs.core import DecodeError
from ..errors import FetchError, QueryError, UnknownAttributeError
from ..heading import Attribute
from ..optional import require
from .compiler import Compiler
from .condition import order_terms

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

    from .operand import Operand

_BATCH = 4096
_vars = attrgetter("__dict__")
F = TypeVar("F", bound=Callable[..., Any])

_gc_lock = threading.Lock()
_gc_holders = 0


@contextlib.contextmanager
def _collector_paused() -> Iterator[None]:
    """The cyclic garbage collector off while a result is built.

    Building a result allocates millions of tracked containers (rows, dicts, instances)
    and no reference cycles; with the collector on, every so many allocations it walks
    all live objects (the growing result included), so the cost per row grows with the
    result. Paused, the cost per row is flat. Nested and concurrent fetches share one
    pause; a collector the caller disabled stays disabled.
    """
    global _gc_holders
    with _gc_lock:
        if _gc_holders == 0 and not gc.isenabled():
            paused = False
        else:
            paused = True
            _gc_holders += 1
            gc.disable()
    try:
        yield
    finally:
        if paused:
            with _gc_lock:
                _gc_holders -= 1
                if _gc_holders == 0:
                    gc.enable()


def _materializing(fn: F) -> F:
    @functools.wraps(fn)
    def run(*args: Any, **kwargs: Any) -> Any:
        with _collector_paused():
            return fn(*args, **kwargs)

    return run  # type: ignore[return-value]



def statement(
    query: Operand,
    names: Sequence[str] | None = None,
    *,
    order_by: Any = None,
    limit: int | None = None,
    offset: int | None = None,
) -> tuple[str, list[Any], list[str]]:
    """SQL, parameters and output column names of ``query`` with ordering and limits."""
    dialect = query.connection.dialect
    c = Compiler(dialect)
    select = query._node.compile(c)
    if order_by is not None or limit is not None or offset is not None:
        terms = order_terms(order_by, query.heading, dialect.quote, term=dialect.order_term)
        reorder = select.closed or not select.is_plain(dialect) or bool(select.order_by)
        select = c.wrap(select) if reorder else select.copy()
        select.order_by = terms
        select.limit, select.offset = limit, offset
    columns = (
        list(names) if names is not None else [n for n in query.heading.all_names if n in select.columns]
    )
    return select.sql(dialect, columns), select.params(), columns


def _decoders(query: Operand, names: Sequence[str]) -> list[tuple[int, Attribute, Any]]:
    ctx = codecs.Context("", query._node.describe(), query.connection)
    out = []
    dialect = query.connection.dialect
    for i, name in enumerate(names):
        attr = query.heading[name]
        fn = codecs.decoder(attr, ctx)
        if attr.type_name == "expression" and attr.python_type is not Decimal:
            fn = _plain_numbers
        driver = dialect.decoder(attr)
        if driver is not None:
            fn = driver if fn is None else _chain(driver, fn)
        if fn is not None:
            out.append((i, attr, fn))
    return out


def _plain_numbers(column: list[Any]) -> list[Any]:
    """Exact server results of a computed attribute as ``int`` or ``float`` (see ``_reads_decimals``)."""
    return [_plain_number(v) if type(v) is Decimal else v for v in column]


def _plain_number(value: Decimal) -> int | float:
    exponent = value.as_tuple().exponent
    return int(value) if isinstance(exponent, int) and exponent >= 0 else float(value)


def _chain(first: Any, then: Any) -> Any:
    """The dialect's driver-level conversion, then the codec."""
    return lambda column: then(first(column))


def _columns(
    query: Operand, names: Sequence[str], rows: Sequence[Sequence[Any]]
) -> list[list[Any] | tuple[Any, ...]]:
    """The result as one sequence per column, decoded to the declared Python types."""
    if not rows:
        return [[] for _ in names]
    return _decode_columns(query, names, [list(map(itemgetter(i), rows)) for i in range(len(names))])


def _decode_columns(
    query: Operand, names: Sequence[str], columns: list[list[Any] | tuple[Any, ...]]
) -> list[list[Any] | tuple[Any, ...]]:
    for i, attr, fn in _decoders(query, names):
        column = columns[i]
        columns[i] = _decoded(query, names, attr, fn, column if type(column) is list else list(column),
                              lambda index: {n: col[index] for n, col in zip(names, columns, strict=True)})
    return columns


def _decoded_in_rows(query: Operand, names: Sequence[str], rows: list[Any]) -> dict[int, list[Any]]:
    """The decoded columns of rows as the driver gave them, by position; only the columns
    whose type needs decoding are taken out of the rows."""
    return {
        i: _decoded(query, names, attr, fn, list(map(itemgetter(i), rows)),
                    lambda index: dict(zip(names, rows[index], strict=True)))
        for i, attr, fn in _decoders(query, names)
    }


def _decoded(
    query: Operand, names: Sequence[str], attr: Attribute, fn: Any, column: list[Any],
    row: Callable[[int], dict[str, Any]],
) -> list[Any]:
    try:
        out: list[Any] = fn(column)
        return out
    except DecodeError as exc:
        values = row(exc.index)
        key = {k: values[k] for k in query.primary_key if k in values}
        raise FetchError(
            f"{query._node.describe()}: cannot decode attribute {attr.name!r} of the row "
            f"with key {key}: {exc.cause}",
            attribute=attr.name,
        ) from exc.cause


def _check_names(query: Operand, names: Sequence[str]) -> None:
    unknown = [n for n in names if n not in query.heading]
    if unknown:
        raise UnknownAttributeError(
            f"fetch: {unknown} are not attributes of the query; it has {query.heading.names}",
            attribute=unknown[0],
        )


def columns(
    query: Operand, names: Sequence[str] | None = None, **options: Any
) -> tuple[list[str], list[Any]]:
    """Run ``query``: its output names and one decoded sequence per name."""
    out, rows, data = _result(query, names, **options)
    return out, data if rows is None else _columns(query, out, rows)


def _result(
    query: Operand, names: Sequence[str] | None = None, **options: Any
) -> tuple[list[str], list[Any] | None, list[Any]]:
    """Run ``query``: its output names, and either the driver's rows, not yet decoded
    (``None`` where the driver reads columns, as the MySQL reader does), or the decoded
    columns."""
    if names is not None and any(query.heading[n].is_blob for n in names):
        extra = [k for k in query.primary_key if k not in names]
        if extra:  # the key names the row in a decoding error
            out, data = columns(query, [*names, *extra], **options)
            return out[: len(names)], None, data[: len(names)]
    sql, params, out = statement(query, names, **options)
    conn = query.connection
    cursor = conn.query(sql, params, stream=True)
    with conn.reading(sql):
        try:
            raw = conn.driver.read_columns(cursor)
            if raw is None:
                rows = cursor.fetchall()
        finally:
            cursor.close()
    if raw is not None:
        return out, None, _decode_columns(query, out, list(raw))
    return out, rows, []


def _visible(names: list[str], data: list[Any]) -> tuple[list[str], list[Any]]:
    keep = [i for i, n in enumerate(names) if not n.startswith("_")]
    if len(keep) == len(names):
        return names, data
    return [names[i] for i in keep], [data[i] for i in keep]


@_materializing
def to_dicts(query: Operand, **options: Any) -> list[dict[str, Any]]:
    out, rows, data = _result(query, **options)
    if rows is not None and not any(n.startswith("_") for n in out):
        return _dicts_of_rows(query, out, rows)
    names, data = _visible(out, data if rows is None else _columns(query, out, rows))
    return _dicts(names, data)


def _dicts(names: list[str], data: list[Any]) -> list[dict[str, Any]]:
    """One dict per row of the columns ``data``, built in C (``map``), no Python step per row."""
    return list(map(dict, map(zip, repeat(names), zip(*data, strict=True)))) if data else []


def _dicts_of_rows(query: Operand, names: list[str], rows: list[Any]) -> list[dict[str, Any]]:
    """One dict per driver row, built in C, then the decoded columns set into them (also in C):
    no transposing of the whole result into columns and back."""
    out = list(map(dict, map(zip, repeat(names), rows)))
    for i, column in _decoded_in_rows(query, names, rows).items():
        deque(map(setitem, out, repeat(names[i]), column), maxlen=0)
    return out


def _instances(cls: type, names: list[str], data: list[Any]) -> list[Any]:
    return _instances_of_rows(cls, names, list(zip(*data, strict=True)))


def _instances_of_rows(cls: type, names: list[str], rows: Sequence[Sequence[Any]]) -> list[Any]:
    """One instance per row, its ``__dict__`` filled in row order (CPython then shares one
    key table among them: less memory), all in C (``map``)."""
    out: list[Any] = list(map(object.__new__, repeat(cls, len(rows))))
    deque(map(dict.update, map(_vars, out), map(zip, repeat(names), rows)), maxlen=0)
    return out


@_materializing
def fetch(query: Operand, attributes: Sequence[str], **options: Any) -> Any:
    if attributes:
        _check_names(query, [a for a in attributes if a != "KEY"])
        if "KEY" in attributes:
            if len(attributes) > 1:
                raise QueryError("fetch('KEY') cannot be combined with attribute names")
            return keys(query, **options)
        names, data = columns(query, list(attributes), **options)
        arrays = [_array(query.heading[n], list(col)) for n, col in zip(names, data, strict=True)]
        return arrays[0] if len(arrays) == 1 else tuple(arrays)
    if query._row_class is not None:
        names, rows, data = _result(query, **options)
        if rows is None:
            return _instances(query._row_class, names, data)
        out = _instances_of_rows(query._row_class, names, rows)
        for i, column in _decoded_in_rows(query, names, rows).items():
            deque(map(setitem, map(_vars, out), repeat(names[i]), column), maxlen=0)
        return out
    return to_dicts(query, **options)


def fetch1(query: Operand, attributes: Sequence[str]) -> Any:
    if attributes:
        _check_names(query, attributes)
    names, data = columns(query, list(attributes) if attributes else None, limit=2)
    found = len(data[0]) if data else 0
    if found != 1:
        counted = "no rows" if found == 0 else f"{count(query)} rows"
        raise FetchError(f"fetch1 requires exactly one row; {query._node.describe()} has {counted}")
    if attributes:
        values = [col[0] for col in data]
        return values[0] if len(values) == 1 else tuple(values)
    if query._row_class is not None:
        return _instances(query._row_class, names, data)[0]
    names, data = _visible(names, data)
    return {n: col[0] for n, col in zip(names, data, strict=True)}


@_materializing
def keys(query: Operand, **options: Any) -> list[dict[str, Any]]:
    names, data = _visible(*columns(query, query.primary_key, **options))
    if not names:
        count_ = len(data[0]) if data else count(query)
        return [{} for _ in range(count_)]
    return _dicts(names, data)


def count(query: Operand) -> int:
    sql, params, _ = statement(query)
    conn = query.connection
    counting = f"SELECT COUNT(*) FROM ({sql}) AS {conn.dialect.quote('_c')}"
    cursor = conn.query(counting, params)
    with conn.reading(counting):
        return int(cursor.fetchone()[0])


def exists(query: Operand) -> bool:
    sql, params, _ = statement(query)
    conn = query.connection
    asking = f"SELECT EXISTS({sql})"
    cursor = conn.query(asking, params)
    with conn.reading(asking):
        return bool(cursor.fetchone()[0])


def iterate(query: Operand) -> Iterator[Any]:
    """Stream rows from the server in batches instead of holding the whole result.

    Every row is yielded even when the loop body runs statements on the same connection
    (the stream then buffers its remainder first; see ``backend.stream``).
    """
    sql, params, names = statement(query)
    stream = query.connection.stream(sql, params)
    try:
        while True:
            with _collector_paused():
                raw = stream.next_batch(_BATCH)
                if raw is None:
                    return
                data = _decode_columns(query, names, list(raw))
                if query._row_class is not None:
                    rows = _instances(query._row_class, names, data)
                else:
                    visible, cols = _visible(names, data)
                    rows = _dicts(visible, cols)
            yield from rows
    finally:
        stream.close()


_NUMPY_KINDS = {"int": "int64", "float": "float64", "bool": "bool"}


def _array(attr: Attribute, values: list[Any]) -> np.ndarray:
    """A column as a numpy array: numeric types as numbers (NULL: NaN for floats), else objects."""
    import numpy as np

    kind = attr.kind
    if attr.type_name == "expression":
        kind = _inferred_kind(values)
    dtype = _NUMPY_KINDS.get(kind)
    if dtype == "int64" and attr.type.is_wide_unsigned:
        dtype = "uint64"
    if dtype is not None:
        try:
            if dtype == "float64":
                return np.array(values, dtype=np.float64)  # None becomes NaN
            if not attr.nullable or None not in values:
                return np.array(values, dtype=dtype)
        except (TypeError, ValueError, OverflowError):
            pass
    out = np.empty(len(values), dtype=object)
    out[:] = values
    return out


def _inferred_kind(values: list[Any]) -> str:
    """The numeric kind of a computed column, from its values (the server does not say)."""
    present = [v for v in values if v is not None]
    if present and all(type(v) is int for v in present):
        return "int" if len(present) == len(values) else "float"
    if present and all(type(v) is float for v in present):
        return "float"
    return "object"


@_materializing
def named_arrays(query: Operand, attributes: Sequence[str], include_key: bool, **options: Any) -> Any:
    """One array per named attribute, read by one statement; with ``include_key`` the
    rows' primary keys (a list of dicts) come first, in the same order."""
    _check_names(query, attributes)
    wanted = list(dict.fromkeys([*query.primary_key, *attributes])) if include_key else list(attributes)
    names, data = columns(query, wanted, **options)
    by_name = dict(zip(names, data, strict=True))
    arrays = [_array(query.heading[a], list(by_name[a])) for a in attributes]
    if include_key:
        key_names, key_data = _visible(list(query.primary_key), [by_name[k] for k in query.primary_key])
        return (_dicts(key_names, key_data), *arrays)
    return arrays[0] if len(arrays) == 1 else tuple(arrays)


@_materializing
def to_arrays(query: Operand, **options: Any) -> np.ndarray:
    """The result as one structured array, built a batch of rows at a time.

    Each batch's columns become numpy columns and are copied into the result, which grows
    in place (``ndarray.resize``: a ``realloc``, no second copy), so the peak is the result
    plus one batch rather than the whole result as Python objects beside its arrays.
    """
    import numpy as np

    sql, params, names = statement(query, **options)
    visible = [i for i, n in enumerate(names) if not n.startswith("_")]
    fields = [names[i] for i in visible]
    attrs = [query.heading[n] for n in fields]
    out: np.ndarray | None = None
    stream = query.connection.stream(sql, params)
    try:
        while (raw := stream.next_batch(_ARRAY_BATCH)) is not None:
            data = _decode_columns(query, names, list(raw))
            del raw
            arrays = [_array(a, list(data[i])) for a, i in zip(attrs, visible, strict=True)]
            del data
            out = _append(out, fields, arrays)
    finally:
        stream.close()
    if out is None:
        return np.empty(0, dtype=np.dtype([(n, _empty_dtype(a)) for n, a in zip(fields, attrs, strict=True)]))
    return out


_ARRAY_BATCH = 16384


def _empty_dtype(attr: Attribute) -> str:
    return _NUMPY_KINDS.get(attr.kind, "object") if attr.type_name != "expression" else "object"


def _append(out: np.ndarray | None, fields: list[str], arrays: list[np.ndarray]) -> np.ndarray:
    """``out`` with the rows of ``arrays`` after its own; field types widen where a batch needs."""
    import numpy as np

    wanted = np.dtype([
        (n, a.dtype if out is None else np.promote_types(out.dtype[n], a.dtype))
        for n, a in zip(fields, arrays, strict=True)
    ])
    start = 0 if out is None else len(out)
    if out is None:
        out = np.empty(len(arrays[0]) if arrays else 0, dtype=wanted)
    else:
        if out.dtype != wanted:  # e.g. a nullable int column meets its first NULL: rare, one copy
            out = out.astype(wanted)
        out.resize(start + len(arrays[0]), refcheck=False)
    for n, a in zip(fields, arrays, strict=True):
        out[n][start:] = a
    return out


@_materializing
def to_pandas(query: Operand, **options: Any) -> pd.DataFrame:
    pd = require("pandas", extra="pandas", feature="to_pandas()")

    arrays = to_arrays(query, **options)  # built batch by batch: the peak stays near twice the frame
    names = list(arrays.dtype.names or ())
    # copies: a view of one field would keep the whole structured array (every column) alive
    frame = pd.DataFrame({n: arrays[n].copy() for n in names}, columns=names)
    del arrays
    key = [k for k in query.primary_key if k in names]
    return frame.set_index(key) if key else frame


@_materializing
def to_arrow(query: Operand, **options: Any) -> Any:
    pa = require("pyarrow", extra="arrow", feature="to_arrow()")
    names, data = _visible(*columns(query, **options))
    arrays = {}
    for n, col in zip(names, data, strict=True):
        values = _arrow_values(query.heading[n], col)
        try:
            arrays[n] = pa.array(values)
        except (pa.ArrowException, TypeError, ValueError) as exc:
            raise QueryError(
                f"to_arrow: attribute {n!r} holds values Arrow cannot represent ({exc}); "
                "project it away or use to_dicts()",
                attribute=n,
            ) from exc
    return pa.table(arrays)


def _arrow_values(attr: Attribute, col: Sequence[Any]) -> list[Any]:
    """UUIDs as text and json as JSON text; Arrow has no column type for either."""
    if attr.kind == "uuid":
        return [None if v is None else str(v) for v in col]
    if attr.kind == "json":
        return [None if v is None else json.dumps(v) for v in col]
    return list(col)


def to_polars(query: Operand, **options: Any) -> Any:
    pl = require("polars", extra="polars", feature="to_polars()")
    return pl.from_arrow(to_arrow(query, **options))


def _cell(value: Any) -> str:
    if isinstance(value, bytes | bytearray):
        return f"=bytes[{len(value)}]="
    if hasattr(value, "shape") and hasattr(value, "dtype"):
        return f"=array{tuple(value.shape)}="
    text = str(value)
    return text if len(text) <= 24 else text[:21] + "..."


def _preview_rows(query: Operand, limit: int) -> tuple[list[str], list[list[str]], int]:
    names, data = _visible(*columns(query, order_by="KEY" if query.primary_key else None, limit=limit + 1))
    found = len(data[0]) if data else 0
    total = count(query) if found > limit else found
    cells = [[_cell(v) for v in r] for r in list(zip(*data, strict=True))[:limit]] if data else []
    return names, cells, total


def preview(query: Operand, limit: int = 12) -> str:
    """A compact text table: first rows, primary key marked with ``*``, row count."""
    try:
        names, cells, total = _preview_rows(query, limit)
    except Exception as exc:
        return f"<Query {query._node.describe()} (not run: {exc})>"
    key = set(query.primary_key)
    header = [("*" if n in key else "") + n for n in names]
    widths = [max([len(h)] + [len(c[i]) for c in cells]) for i, h in enumerate(header)]
    lines = ["  ".join(h.ljust(w) for h, w in zip(header, widths, strict=True)).rstrip()]
    lines.append("  ".join("-" * w for w in widths))
    lines += ["  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip() for row in cells]
    if total > limit:
        lines.append(" ...")
    lines.append(f" ({_rows(total)})")
    return "\n".join(lines)


def preview_html(query: Operand, limit: int = 12) -> str:
    """Jupyter's table: values escaped, key columns in bold."""
    names, cells, total = _preview_rows(query, limit)
    key = set(query.primary_key)
    head = "".join(
        f"<th>{'<b>' if n in key else ''}{html.escape(n)}{'</b>' if n in key else ''}</th>" for n in names
    )
    body = "".join("<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in row) + "</tr>" for row in cells)
    more = "<p>...</p>" if total > limit else ""
    table = f'<table class="typedj"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'
    return f"{table}{more}<p>{_rows(total)}</p>"


def _rows(count: int) -> str:
    return f"{count} row" if count == 1 else f"{count} rows"
