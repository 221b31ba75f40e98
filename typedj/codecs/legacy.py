"""Codecs of datajoint 0.14's stored values: ``blob@store``, ``attach@store``, ``filepath@store``.

The column holds a ``binary(16)`` UUID, the MD5 of the content (a blob), of
``name\\0content`` (an attachment) or of the path (a linked file); the schema's
``~external_<store>`` table tracks each UUID (size, attachment name, path, content MD5)
and the column references it. Objects live at ``<schema>/<ab>/<cd>/<uuid hex>`` in the
store (subfolded as 0.14 does by default), an attachment with ``.<name>`` appended;
linked files stay at their own path. Objects and tracking rows are written before the
row, as 0.14 writes them, so 0.14 reads what is written here and the reverse.
"""

from __future__ import annotations

import base64
import hashlib
import uuid
from pathlib import Path
from typing import Any

from ..errors import CorruptObjectError, MissingObjectError, TypedjError
from ..heading import Attribute
from ..stores import hashing
from ..stores.store import Store, get_store, run_all
from .core import DecodeError
from .declared import conform, target
from .external import _all_or_refused, _each, _extract, _local_copy, _placed, _present, _refused
from .registry import Column, ColumnFn, Context, register

EXTERNAL_PREFIX = "~external_"
"""The tracking table of store ``s`` is ``~external_s`` (``legacy.external_table`` declares it)."""

SUBFOLDING = (2, 2)
"""0.14's default ``subfolding``: ``0123abcd...`` is stored as ``01/23/0123abcd...``."""


def _md5(*parts: bytes) -> bytes:
    h = hashlib.md5(usedforsecurity=False)
    for p in parts:
        h.update(p)
    return h.digest()


def object_path(schema: str, key: bytes, suffix: str = "") -> str:
    """Where 0.14 keeps the object of UUID ``key`` (relative to the store's location)."""
    hex_ = uuid.UUID(bytes=key).hex
    folds, start = [], 0
    for width in SUBFOLDING:
        folds.append(hex_[start : start + width])
        start += width
    return "/".join([schema, *folds, hex_ + suffix])


def _schema(attr: Attribute, ctx: Context) -> str:
    schema = attr.home or ctx.schema
    if not schema:
        raise TypedjError(f"{attr.name!r}: the schema of this datajoint 0.14 column is unknown")
    return schema


def _track(ctx: Context, schema: str, store: str, rows: list[tuple[Any, ...]], columns: list[str]) -> None:
    """Add tracking rows to ``~external_<store>`` (existing ones are kept)."""
    if not rows:
        return
    conn = ctx.connection
    sql = conn.dialect.insert(schema, EXTERNAL_PREFIX + store, columns, skip_duplicates=True)
    conn.executemany(sql, rows)


def _tracked(
    ctx: Context, schema: str, store: str, keys: list[bytes], columns: str
) -> dict[bytes, tuple[Any, ...]]:
    """The tracking rows of ``keys``: ``{hash: (columns...)}``."""
    conn = ctx.connection
    d = conn.dialect
    out: dict[bytes, tuple[Any, ...]] = {}
    unique = list(dict.fromkeys(keys))
    for start in range(0, len(unique), 1000):
        batch = unique[start : start + 1000]
        rows = conn.query(
            f"SELECT {d.quote('hash')}, {columns} FROM {d.table(schema, EXTERNAL_PREFIX + store)} "
            f"WHERE {d.quote('hash')} IN ({d.params(len(batch))})",
            batch,
        ).fetchall()
        out.update({bytes(r[0]): tuple(r[1:]) for r in rows})
    return out


def _upload(store: Store, items: dict[str, bytes]) -> None:
    """Put each object unless an object of that size is there already (content-addressed)."""

    def put(item: tuple[str, bytes]) -> None:
        path, data = item
        info = store.backend.stat(path)
        if info is None or info.size != len(data):
            store.backend.put(path, data)

    run_all(put, list(items.items()))


class _LegacyBlob:
    """``blob@store``: a serialized blob in the store, its MD5 UUID in the table."""

    def encoder(self, attr: Attribute, ctx: Context) -> ColumnFn | None:
        from .blob import pack

        store_name = attr.store or ""
        store = get_store(store_name)
        schema = _schema(attr, ctx)

        def column(values: Column) -> Column:
            present = _present(values)
            payloads: list[bytes] = _all_or_refused(ctx, attr, lambda i: pack(values[i]), present,
                                                     "cannot serialize")
            keys = [_md5(p) for p in payloads]
            _upload(store, {object_path(schema, k): p for k, p in zip(keys, payloads, strict=True)})
            _track(ctx, schema, store_name, [(k, len(p)) for k, p in zip(keys, payloads, strict=True)],
                   ["hash", "size"])
            return _placed(len(values), present, keys)

        return column

    def decoder(self, attr: Attribute, ctx: Context) -> ColumnFn | None:
        from .blob import unpack

        cls = target(attr.python_type)

        def column(values: Column) -> Column:
            present = _present(values)
            out: Column = [None] * len(values)
            if not present:
                return out
            store = get_store(attr.store or "")
            schema = _schema(attr, ctx)
            refs = [{"hash": hashing.encode(bytes(values[i])), "algorithm": "md5",
                     "path": object_path(schema, bytes(values[i]))} for i in present]
            for i, data in zip(present, store.get_many(refs), strict=True):
                if isinstance(data, BaseException):
                    raise DecodeError(i, data)
                try:
                    value = unpack(data)
                    out[i] = value if cls is None else conform(value, cls)
                except Exception as exc:
                    raise DecodeError(i, exc) from exc
            return out

        return column


class _LegacyAttach:
    """``attach@store``: the file's bytes in the store, named by the MD5 of ``name\\0content``."""

    def encoder(self, attr: Attribute, ctx: Context) -> ColumnFn | None:
        store_name = attr.store or ""
        store = get_store(store_name)
        schema = _schema(attr, ctx)

        def column(values: Column) -> Column:
            present = _present(values)

            def read(i: int) -> tuple[str, bytes]:
                path = Path(values[i])
                return path.name, path.read_bytes()

            files: list[tuple[str, bytes]] = _all_or_refused(ctx, attr, read, present, "cannot read the file")
            keys = [_md5(name.encode(), b"\0", data) for name, data in files]
            _upload(store, {object_path(schema, k, "." + name): data
                            for k, (name, data) in zip(keys, files, strict=True)})
            _track(ctx, schema, store_name,
                   [(k, len(data), name) for k, (name, data) in zip(keys, files, strict=True)],
                   ["hash", "size", "attachment_name"])
            return _placed(len(values), present, keys)

        return column

    def decoder(self, attr: Attribute, ctx: Context) -> ColumnFn | None:
        def column(values: Column) -> Column:
            present = _present(values)
            out: Column = [None] * len(values)
            if not present:
                return out
            store_name = attr.store or ""
            store = get_store(store_name)
            schema = _schema(attr, ctx)
            names = _tracked(ctx, schema, store_name, [bytes(values[i]) for i in present], "attachment_name")

            def load(i: int) -> Path:
                key = bytes(values[i])
                if key not in names or not names[key][0]:
                    raise MissingObjectError(
                        f"store {store.name!r}: attachment {uuid.UUID(bytes=key)} is not tracked in "
                        f"{schema}.{EXTERNAL_PREFIX}{store_name}"
                    )
                name = str(names[key][0])
                path = object_path(schema, key, "." + name)
                data = store.backend.get(path)
                if _md5(name.encode(), b"\0", data) != key:
                    raise CorruptObjectError(f"store {store.name!r}: attachment {path!r} is corrupt "
                                             "(its MD5 does not match the row's)")
                return _extract(name.encode() + b"\0" + data)

            return _each(load, present, out)

        return column


class _LegacyFilepath:
    """``filepath@store``: a file already in the store, linked by the MD5 UUID of its path."""

    def encoder(self, attr: Attribute, ctx: Context) -> ColumnFn | None:
        store_name = attr.store or ""
        store = get_store(store_name)
        schema = _schema(attr, ctx)

        def column(values: Column) -> Column:
            present = _present(values)
            paths = {i: Path(str(values[i])).as_posix().strip("/") for i in present}
            problems = [(i, f"{str(values[i])!r} is not a path within the store")
                        for i, p in paths.items() if not p or ".." in p.split("/")]
            if problems:
                raise _refused(ctx, attr, problems)

            def link(i: int) -> tuple[bytes, int, bytes]:
                info = store.stat(paths[i])
                if info is None:
                    raise MissingObjectError(f"{paths[i]!r} is not in store {store.name!r}")
                contents = _digest(store.digest_object(paths[i], "md5"))
                return _md5(paths[i].encode()), info.size, contents

            links: list[tuple[bytes, int, bytes]] = _all_or_refused(ctx, attr, link, present, "cannot link")
            known = _tracked(ctx, schema, store_name, [k for k, _, _ in links], "contents_hash")
            changed = [(i, f"a different version of {paths[i]!r} has already been placed")
                       for i, (k, _, c) in zip(present, links, strict=True)
                       if k in known and known[k][0] is not None and bytes(known[k][0]) != c]
            if changed:
                raise _refused(ctx, attr, changed)
            _track(ctx, schema, store_name,
                   [(k, size, paths[i], c) for i, (k, size, c) in zip(present, links, strict=True)],
                   ["hash", "size", "filepath", "contents_hash"])
            return _placed(len(values), present, [k for k, _, _ in links])

        return column

    def decoder(self, attr: Attribute, ctx: Context) -> ColumnFn | None:
        def column(values: Column) -> Column:
            present = _present(values)
            out: Column = [None] * len(values)
            if not present:
                return out
            store_name = attr.store or ""
            store = get_store(store_name)
            schema = _schema(attr, ctx)
            rows = _tracked(ctx, schema, store_name, [bytes(values[i]) for i in present],
                            "filepath, contents_hash, size")

            def local(i: int) -> Path:
                key = bytes(values[i])
                if key not in rows:
                    raise MissingObjectError(
                        f"store {store.name!r}: file {uuid.UUID(bytes=key)} is not tracked in "
                        f"{schema}.{EXTERNAL_PREFIX}{store_name}"
                    )
                path, contents, size = rows[key]
                ref = {"path": str(path), "size": size, "algorithm": "md5",
                       "hash": None if contents is None else hashing.encode(bytes(contents))}
                return _local_copy(store, ref)

            return _each(local, present, out)

        return column


def _digest(address: str) -> bytes:
    """The digest a (base32, unpadded) typedj address spells: an MD5 is 0.14's UUID."""
    return base64.b32decode(address.upper() + "=" * (-len(address) % 8))


register("legacy_blob", _LegacyBlob())
register("legacy_attach", _LegacyAttach())
register("legacy_filepath", _LegacyFilepath())
