"""Query results as one structured numpy array (``to_arrays``) and as a DataFrame.

Built a batch at a time, so the peak stays near the result's own size. Where the driver
hands out rows (SQLite, PostgreSQL), numpy converts each batch from the rows themselves;
MySQL's reader gives columns, which become numpy columns.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..heading import Attribute
from ..optional import require
from .fetch import (
    _NUMPY_KINDS,
    _array,
    _decode_columns,
    _decoded_in_rows,
    _materializing,
    _numpy_type,
    statement,
)

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

    from .operand import Operand


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
    by_rows = stream.reads_rows and len(fields) == len(names) and all(
        a.type_name != "expression" for a in attrs)
    try:
        while True:
            if by_rows:
                if (rows := stream.next_rows(_ARRAY_BATCH)) is None:
                    break
                batch = _structured(query, names, attrs, rows)
                if batch is not None:
                    out = batch if out is None else _append(out, fields, [batch[n] for n in fields])
                    continue
                raw: list[Any] = [list(c) for c in zip(*rows, strict=True)]
                del rows
            elif (raw := stream.next_batch(_ARRAY_BATCH)) is None:  # type: ignore[assignment]
                break
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


def _structured(
    query: Operand, names: list[str], attrs: list[Attribute], rows: list[Any]
) -> np.ndarray | None:
    """A batch of the driver's rows as a structured array, converted by numpy from the rows
    themselves (no columns in between); only the columns that need decoding are taken out
    and set afterwards. The types are ``_array``'s; None where the batch needs its
    column-wise rules (a NULL in an integer column, a value numpy does not convert)."""
    import numpy as np

    decoded = {names[i]: _array(attrs[i], column)
               for i, column in _decoded_in_rows(query, names, rows).items()}
    kinds = [(n, "O" if n in decoded else _numpy_type(a, a.kind) or "O")
             for n, a in zip(names, attrs, strict=True)]
    try:
        batch = np.fromiter(rows, dtype=np.dtype(kinds), count=len(rows))
    except (TypeError, ValueError, OverflowError):
        return None
    if not decoded:
        return batch
    wanted = np.dtype([(n, decoded[n].dtype if n in decoded else t) for n, t in kinds])
    out = batch if wanted == batch.dtype else np.empty(len(batch), dtype=wanted)
    for n in names:
        if n in decoded:
            out[n] = decoded[n]
        elif out is not batch:
            out[n] = batch[n]
    return out


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
