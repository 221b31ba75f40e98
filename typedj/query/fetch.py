"""Running queries and shaping their results: instances, dicts, arrays, DataFrames."""

from __future__ import annotations

import html
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any

from .. import codecs
from ..codecs.core import DecodeError
from ..errors import FetchError, QueryError, UnknownAttributeError
from ..heading import Attribute
from .compiler import Compiler

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

    from .expression import Query

_BATCH = 4096


def order_clause(query: Query[Any], order_by: Any, dialect: Any) -> list[str]:
    """``"KEY"``, ``"name"``, ``"name DESC"``, or a list of them, as ORDER BY terms."""
    if order_by is None:
        return []
    items = [order_by] if isinstance(order_by, str) else list(order_by)
    terms = []
    for item in items:
        parts = str(item).split()
        name, direction = parts[0], (parts[1].upper() if len(parts) > 1 else "")
        if direction not in {"", "ASC", "DESC"} or len(parts) > 2:
            raise QueryError(f"order_by: cannot read {item!r}; use 'name', 'name DESC' or 'KEY'")
        names = query.primary_key if name == "KEY" else [name]
        for n in names:
            if n not in query.heading:
                raise UnknownAttributeError(
                    f"order_by: {n!r} is not an attribute of the query; it has {query.heading.names}",
                    attribute=n,
                )
            terms.append(dialect.quote(n) + (f" {direction}" if direction else ""))
    return terms


def statement(
    query: Query[Any],
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
        select = c.wrap(select) if select.closed or not select.plain else select.copy()
        select.order_by = order_clause(query, order_by, dialect)
        select.limit, select.offset = limit, offset
    columns = list(names) if names is not None else [n for n in query.heading.all_names if n in select.columns]
    return select.sql(dialect, columns), select.params(), columns


def _decoders(query: Query[Any], names: Sequence[str]) -> list[tuple[int, Attribute, Any]]:
    ctx = codecs.Context("", query._node.describe(), query.connection)
    out = []
    dialect = query.connection.dialect
    for i, name in enumerate(names):
        attr = query.heading[name]
        fn = codecs.decoder(attr, ctx)
        driver = dialect.decoder(attr)
        if driver is not None:
            fn = driver if fn is None else _chain(driver, fn)
        if fn is not None:
            out.append((i, attr, fn))
    return out


def _chain(first: Any, then: Any) -> Any:
    """The dialect's driver-level conversion, then the codec."""
    return lambda column: then(first(column))


def _decode(query: Query[Any], names: Sequence[str], rows: Sequence[Sequence[Any]]) -> list[list[Any]]:
    """Rows as lists of Python values; decoding is done a column at a time."""
    decoders = _decoders(query, names)
    if not decoders:
        return [list(r) for r in rows]
    table = [list(r) for r in rows]
    for i, attr, fn in decoders:
        column = [r[i] for r in table]
        try:
            decoded = fn(column)
        except DecodeError as exc:
            row = dict(zip(names, table[exc.index], strict=True))
            key = {k: row[k] for k in query.primary_key if k in row}
            raise FetchError(
                f"{query._node.describe()}: cannot decode attribute {attr.name!r} of the row "
                f"with key {key}: {exc.cause}",
                attribute=attr.name,
            ) from exc.cause
        for r, v in zip(table, decoded, strict=True):
            r[i] = v
    return table


def _check_names(query: Query[Any], names: Sequence[str]) -> None:
    unknown = [n for n in names if n not in query.heading]
    if unknown:
        raise UnknownAttributeError(
            f"fetch: {unknown} are not attributes of the query; it has {query.heading.names}",
            attribute=unknown[0],
        )


def rows(query: Query[Any], names: Sequence[str] | None = None, **options: Any) -> tuple[list[str], list[list[Any]]]:
    sql, params, columns = statement(query, names, **options)
    cursor = query.connection.query(sql, params)
    return columns, _decode(query, columns, cursor.fetchall())


def _visible(columns: list[str]) -> list[int]:
    return [i for i, n in enumerate(columns) if not n.startswith("_")]


def to_dicts(query: Query[Any], **options: Any) -> list[dict[str, Any]]:
    columns, data = rows(query, **options)
    keep = _visible(columns)
    if len(keep) == len(columns):
        return [dict(zip(columns, r, strict=True)) for r in data]
    names = [columns[i] for i in keep]
    return [dict(zip(names, [r[i] for i in keep], strict=True)) for r in data]


def _instances(cls: type, columns: list[str], data: list[list[Any]]) -> list[Any]:
    new = object.__new__
    out = []
    for r in data:
        obj = new(cls)
        obj.__dict__.update(zip(columns, r, strict=True))
        out.append(obj)
    return out


def fetch(query: Query[Any], attributes: Sequence[str], **options: Any) -> Any:
    if attributes:
        _check_names(query, [a for a in attributes if a != "KEY"])
        if "KEY" in attributes:
            if len(attributes) > 1:
                raise QueryError("fetch('KEY') cannot be combined with attribute names")
            return keys(query, **options)
        columns, data = rows(query, list(attributes), **options)
        arrays = [_array(query.heading[n], [r[i] for r in data]) for i, n in enumerate(columns)]
        return arrays[0] if len(arrays) == 1 else tuple(arrays)
    if query._row_class is not None:
        columns, data = rows(query, **options)
        return _instances(query._row_class, columns, data)
    return to_dicts(query, **options)


def fetch1(query: Query[Any], attributes: Sequence[str]) -> Any:
    if attributes:
        _check_names(query, attributes)
    columns, data = rows(query, list(attributes) if attributes else None, limit=2)
    if len(data) != 1:
        found = "no rows" if not data else "2 or more rows"
        raise FetchError(
            f"fetch1 requires exactly one row; {query._node.describe()} has {found}"
        )
    if attributes:
        values = data[0]
        return values[0] if len(values) == 1 else tuple(values)
    if query._row_class is not None:
        return _instances(query._row_class, columns, data)[0]
    keep = _visible(columns)
    return {columns[i]: data[0][i] for i in keep}


def keys(query: Query[Any], **options: Any) -> list[dict[str, Any]]:
    names = query.primary_key
    columns, data = rows(query, names, **options)
    visible = [n for n in columns if not n.startswith("_")]
    return [dict(zip(visible, r[: len(visible)], strict=True)) for r in data] if visible == columns else [
        {n: v for n, v in zip(columns, r, strict=True) if not n.startswith("_")} for r in data
    ]


def count(query: Query[Any]) -> int:
    sql, params, _ = statement(query)
    cursor = query.connection.query(f"SELECT COUNT(*) FROM ({sql}) AS {query.connection.dialect.quote('_c')}", params)
    return int(cursor.fetchone()[0])


def exists(query: Query[Any]) -> bool:
    sql, params, _ = statement(query)
    cursor = query.connection.query(f"SELECT EXISTS({sql})", params)
    return bool(cursor.fetchone()[0])


def iterate(query: Query[Any]) -> Iterator[Any]:
    """Stream rows from the server in batches instead of holding the whole result."""
    sql, params, columns = statement(query)
    cursor = query.connection.query(sql, params, stream=True)
    keep = _visible(columns)
    names = [columns[i] for i in keep]
    try:
        while True:
            batch = cursor.fetchmany(_BATCH)
            if not batch:
                return
            data = _decode(query, columns, batch)
            if query._row_class is not None:
                yield from _instances(query._row_class, columns, data)
            else:
                for r in data:
                    yield dict(zip(names, [r[i] for i in keep], strict=True))
    finally:
        cursor.close()


def _array(attr: Attribute, values: list[Any]) -> np.ndarray:
    import numpy as np

    kind = attr.kind
    has_null = any(v is None for v in values)
    if kind == "int" and not has_null:
        return np.array(values, dtype=np.int64)
    if kind == "float":
        return np.array([np.nan if v is None else v for v in values], dtype=np.float64)
    if kind == "bool" and not has_null:
        return np.array(values, dtype=bool)
    out = np.empty(len(values), dtype=object)
    out[:] = values
    return out


def to_arrays(query: Query[Any], **options: Any) -> np.ndarray:
    import numpy as np

    columns, data = rows(query, **options)
    names = [n for n in columns if not n.startswith("_")]
    arrays = [_array(query.heading[n], [r[columns.index(n)] for r in data]) for n in names]
    dtype = np.dtype([(n, a.dtype) for n, a in zip(names, arrays, strict=True)])
    out = np.empty(len(data), dtype=dtype)
    for n, a in zip(names, arrays, strict=True):
        out[n] = a
    return out


def to_pandas(query: Query[Any], **options: Any) -> pd.DataFrame:
    import pandas as pd

    columns, data = rows(query, **options)
    names = [n for n in columns if not n.startswith("_")]
    frame = pd.DataFrame({n: [r[columns.index(n)] for r in data] for n in names}, columns=names)
    key = [k for k in query.primary_key if k in names]
    return frame.set_index(key) if key else frame


def _cell(value: Any) -> str:
    if isinstance(value, bytes | bytearray):
        return f"=bytes[{len(value)}]="
    if hasattr(value, "shape") and hasattr(value, "dtype"):
        return f"=array{tuple(value.shape)}="
    text = str(value)
    return text if len(text) <= 24 else text[:21] + "..."


def preview(query: Query[Any], limit: int = 12) -> str:
    """A compact text table: first rows, primary key marked with ``*``, row count."""
    try:
        columns, data = rows(query, limit=limit + 1)
        total = len(query) if len(data) > limit else len(data)
    except Exception as exc:  # noqa: BLE001 - a repr must not raise
        return f"<Query {query._node.describe()} (not run: {exc})>"
    names = [n for n in columns if not n.startswith("_")]
    key = set(query.primary_key)
    header = [("*" if n in key else "") + n for n in names]
    cells = [[_cell(r[columns.index(n)]) for n in names] for r in data[:limit]]
    widths = [max([len(h)] + [len(c[i]) for c in cells]) for i, h in enumerate(header)]
    lines = ["  ".join(h.ljust(w) for h, w in zip(header, widths, strict=True))]
    lines.append("  ".join("-" * w for w in widths))
    lines += ["  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)) for row in cells]
    if total > limit:
        lines.append(" ...")
    lines.append(f" ({total} rows)")
    return "\n".join(lines)


def preview_html(query: Query[Any], limit: int = 12) -> str:
    """Jupyter's table: values escaped, key columns in bold."""
    columns, data = rows(query, limit=limit + 1)
    total = len(query) if len(data) > limit else len(data)
    names = [n for n in columns if not n.startswith("_")]
    key = set(query.primary_key)
    head = "".join(
        f"<th>{'<b>' if n in key else ''}{html.escape(n)}{'</b>' if n in key else ''}</th>" for n in names
    )
    body = "".join(
        "<tr>" + "".join(f"<td>{html.escape(_cell(r[columns.index(n)]))}</td>" for n in names) + "</tr>"
        for r in data[:limit]
    )
    more = "<p>...</p>" if total > limit else ""
    return f'<table class="typedj"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>{more}<p>{total} rows</p>'
