"""Codecs of schema-addressed objects: ``<object@store>`` (files, folders) and ``<npy@store>`` (arrays).

Encoding uploads each value to a fresh path named by its row (``objects.object_path``)
before the INSERT runs, and writes DataJoint 2.x's JSON; decoding builds lazy
references (``ObjectRef``, ``NpyRef``) without touching the store.
"""

from __future__ import annotations

import io
import json
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from ..heading import Attribute
from ..objects import NpyRef, ObjectRef, object_path, put_folder
from ..stores.store import get_store
from .core import DecodeError
from .external import _all_or_refused, _dumps, _placed, _present, _refused
from .registry import Column, ColumnFn, Context, register


def _meta(value: Any) -> dict[str, Any]:
    meta = json.loads(value) if isinstance(value, str | bytes | bytearray) else value
    if not isinstance(meta, dict) or "path" not in meta:
        raise ValueError(f"not an object reference: {value!r}")
    return meta


def _source(ref: ObjectRef) -> Any:
    """What to upload for an ``ObjectRef`` value: its source (``ObjectRef.of``) or its file's bytes."""
    if "source" in ref.meta:
        return ref.meta["source"]
    return (ref.ext, ref.read()) if ref.ext else ref.read()


def _keys(attr: Attribute, ctx: Context, values: Column) -> tuple[dict[str, Any], ...]:
    if ctx.keys is None or len(ctx.keys) != len(values):
        raise _refused(ctx, attr, [(i, "objects are written by insert (their path is named by the row's "
                                       "key); update1 cannot rewrite them") for i in _present(values)])
    return ctx.keys


class _Object:
    """``<object@store>``: bytes, ``(ext, bytes)``, a file or a folder, at a path named by the row."""

    def encoder(self, attr: Attribute, ctx: Context) -> ColumnFn | None:
        store = get_store(attr.store or "")

        def column(values: Column) -> Column:
            present = _present(values)
            keys = _keys(attr, ctx, values)

            def put(i: int) -> dict[str, Any]:
                value = values[i]
                if isinstance(value, dict) and "path" in value:
                    return value  # written by a staged insert
                if isinstance(value, ObjectRef) and "source" not in value.meta and value.is_dir:
                    with tempfile.TemporaryDirectory(prefix="typedj-object-") as copy:
                        return upload(i, value.download(Path(copy) / "folder"))
                if isinstance(value, ObjectRef):
                    value = _source(value)
                return upload(i, value)

            def upload(i: int, value: Any) -> dict[str, Any]:
                ext: str | None = None
                is_dir, count = False, None
                if isinstance(value, tuple) and len(value) == 2:
                    ext, value = value
                    value = value.read() if hasattr(value, "read") else value
                if isinstance(value, bytes | bytearray | memoryview):
                    data = bytes(value)
                    path = object_path(store, ctx.schema, ctx.table, attr.name, keys[i], ext)
                    store.backend.put(path, data)
                    size = len(data)
                elif isinstance(value, str | Path):
                    source = Path(value)
                    if source.is_dir():
                        path = object_path(store, ctx.schema, ctx.table, attr.name, keys[i], None)
                        size, count = put_folder(store, source, path)
                        is_dir = True
                    elif source.is_file():
                        ext = source.suffix or None
                        path = object_path(store, ctx.schema, ctx.table, attr.name, keys[i], ext)
                        data = source.read_bytes()
                        store.backend.put(path, data)
                        size = len(data)
                    else:
                        raise FileNotFoundError(f"no file or folder {str(source)!r}")
                else:
                    raise TypeError(
                        f"an Object takes bytes, (ext, bytes) or a path, not {type(value).__name__}")
                return {"path": path, "store": attr.store or None, "size": size, "ext": ext,
                        "is_dir": is_dir, "item_count": count, "timestamp": datetime.now(UTC).isoformat()}

            metas = _all_or_refused(ctx, attr, put, present, "cannot store")
            return _placed(len(values), present, [_dumps(meta) for meta in metas])

        return column

    def decoder(self, attr: Attribute, ctx: Context) -> ColumnFn | None:
        def column(values: Column) -> Column:
            out: Column = [None] * len(values)
            for i in _present(values):
                try:
                    out[i] = ObjectRef.from_json(_meta(values[i]))
                except Exception as exc:
                    raise DecodeError(i, exc) from exc
            return out

        return column


class _Npy:
    """``<npy@store>``: a numpy array as a ``.npy`` file at a path named by the row."""

    def encoder(self, attr: Attribute, ctx: Context) -> ColumnFn | None:
        store = get_store(attr.store or "")

        def column(values: Column) -> Column:
            present = _present(values)
            keys = _keys(attr, ctx, values)

            def put(i: int) -> dict[str, Any]:
                value = values[i]
                if isinstance(value, NpyRef):
                    value = value.load() if "path" in value.meta else value.__array__()
                if not isinstance(value, np.ndarray) or value.dtype == object:
                    raise TypeError(f"an Npy takes a numpy array of numbers, not {type(value).__name__}")
                buffer = io.BytesIO()
                np.save(buffer, value, allow_pickle=False)
                path = object_path(store, ctx.schema, ctx.table, attr.name, keys[i], ".npy")
                store.backend.put(path, buffer.getbuffer())
                return {"path": path, "store": attr.store or None, "dtype": str(value.dtype),
                        "shape": list(value.shape)}

            metas = _all_or_refused(ctx, attr, put, present, "cannot store")
            return _placed(len(values), present, [_dumps(meta) for meta in metas])

        return column

    def decoder(self, attr: Attribute, ctx: Context) -> ColumnFn | None:
        def column(values: Column) -> Column:
            out: Column = [None] * len(values)
            for i in _present(values):
                try:
                    out[i] = NpyRef(_meta(values[i]))
                except Exception as exc:
                    raise DecodeError(i, exc) from exc
            return out

        return column


register("object", _Object())
register("npy", _Npy())
