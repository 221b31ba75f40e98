"""Codecs of stored values: ``<blob@store>``, ``<attach>``/``<attach@store>``, ``<filepath@store>``.

The table holds a JSON reference (``{"hash", "path", "schema", "store", "size"}`` as in
datajoint-python 2.x, plus ``"algorithm"`` when the hash is not MD5); the bytes live in
an object store. Encoding uploads a whole column before the INSERT runs, so a failed
insert leaves at most an unreferenced object, never a row pointing at nothing.
"""

from __future__ import annotations

import json
import os
import threading
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ..config import download_folder
from ..errors import CorruptObjectError, MissingObjectError, Problem, ValidationError
from ..heading import Attribute
from ..stores import hashing
from ..stores.store import Store, get_store, run_all
from .core import DecodeError
from .declared import conform, target
from .registry import Column, ColumnFn, Context, register


def _reference(value: Any) -> dict[str, Any]:
    ref = json.loads(value) if isinstance(value, str | bytes | bytearray) else value
    if not isinstance(ref, dict) or "path" not in ref:
        raise ValueError(f"not an object reference: {value!r}")
    return ref


def _dumps(ref: dict[str, Any]) -> str:
    return json.dumps(ref, separators=(", ", ": "))


def _present(values: Column) -> list[int]:
    return [i for i, v in enumerate(values) if v is not None]


def _placed(length: int, rows: list[int], values: list[Any]) -> Column:
    """A column of ``length`` holding ``values`` at ``rows`` (the non-null ones) and None elsewhere."""
    out: Column = [None] * length
    for i, value in zip(rows, values, strict=True):
        out[i] = value
    return out


def _store_of(attr: Attribute, ref: dict[str, Any]) -> Store:
    return get_store(ref.get("store") or attr.store)


def _refused(ctx: Context, attr: Attribute, problems: list[tuple[int, str]]) -> ValidationError:
    return ValidationError(ctx.table, [Problem(row=i, attribute=attr.name, message=m) for i, m in problems])


def _all_or_refused(ctx: Context, attr: Attribute, fn: Any, rows: list[int], what: str) -> list[Any]:
    """``fn(i)`` for each row on the I/O pool; any failure refuses the whole column, by row."""

    def safe(i: int) -> Any:
        try:
            return fn(i)
        except Exception as exc:
            return exc

    results = run_all(safe, rows)
    failed = [(i, f"{what}: {r}") for i, r in zip(rows, results, strict=True) if isinstance(r, BaseException)]
    if failed:
        raise _refused(ctx, attr, failed)
    return results


def _get_column(attr: Attribute, values: Column) -> list[tuple[int, bytes]]:
    """Download the objects of a column of references (concurrently, store by store)."""
    present = _present(values)
    refs: dict[int, dict[str, Any]] = {}
    for i in present:
        try:
            refs[i] = _reference(values[i])
        except ValueError as exc:
            raise DecodeError(i, exc) from exc
    by_name: dict[str | None, list[int]] = {}
    for i, ref in refs.items():
        by_name.setdefault(ref.get("store") or attr.store, []).append(i)
    out: dict[int, bytes] = {}
    for name, rows in by_name.items():
        results = get_store(name).get_many([refs[i] for i in rows])
        for i, result in zip(rows, results, strict=True):
            if isinstance(result, BaseException):
                raise DecodeError(i, result)
            out[i] = result
    return [(i, out[i]) for i in present]


class _StoredBlob:
    """``<blob@store>``: serialized with DataJoint's blob format, stored by content address."""

    def encoder(self, attr: Attribute, ctx: Context) -> ColumnFn | None:
        from .blob import pack

        store = get_store(attr.store)

        def column(values: Column) -> Column:
            present = _present(values)

            level = attr.compression if attr.compression is not None else store.spec.compression
            if level is None:
                from ..config import config

                level = config.blob_compression
            payloads = _all_or_refused(
                ctx, attr, lambda i: pack(values[i], compress=level), present, "cannot serialize"
            )
            refs = store.put_many(ctx.schema, payloads, attr.store or None)
            return _placed(len(values), present, [_dumps(ref) for ref in refs])

        return column

    def decoder(self, attr: Attribute, ctx: Context) -> ColumnFn | None:
        from .blob import unpack

        cls = target(attr.python_type)

        def column(values: Column) -> Column:
            out: Column = [None] * len(values)
            for i, data in _get_column(attr, values):
                try:
                    value = unpack(data)
                    out[i] = value if cls is None else conform(value, cls)
                except Exception as exc:
                    raise DecodeError(i, exc) from exc
            return out

        return column


def _attachment(path: Path) -> bytes:
    return path.name.encode("utf-8") + b"\0" + path.read_bytes()


def _extract(payload: bytes) -> Path:
    """Write an attachment (``name\\0content``) into the download folder; its path.

    Each content gets its own subfolder (named by its address), so attachments with the
    same file name never overwrite each other and a repeated fetch rewrites nothing.
    """
    cut = payload.index(b"\0")
    name = Path(payload[:cut].decode("utf-8", "replace").replace("\\", "/")).name
    if name in {"", ".", ".."}:
        name = "attachment"
    content = memoryview(payload)[cut + 1 :]
    folder = download_folder() / hashing.digest(payload, "blake3")[:20]
    dest = folder / name
    try:
        if dest.stat().st_size == len(content) and dest.read_bytes() == content:
            return dest
    except FileNotFoundError:
        pass
    folder.mkdir(parents=True, exist_ok=True)
    tmp = folder / f".{name}.{uuid.uuid4().hex}"
    tmp.write_bytes(content)
    os.replace(tmp, dest)
    return dest


class _Attach:
    """``<attach>`` (in the table) and ``<attach@store>``: a file with its name."""

    def encoder(self, attr: Attribute, ctx: Context) -> ColumnFn | None:
        store = get_store(attr.store) if attr.store is not None else None

        def column(values: Column) -> Column:
            present = _present(values)

            payloads = _all_or_refused(
                ctx, attr, lambda i: _attachment(Path(values[i])), present, "cannot read the file"
            )
            if store is None:
                return _placed(len(values), present, payloads)
            refs = store.put_many(ctx.schema, payloads, attr.store or None)
            return _placed(len(values), present, [_dumps(ref) for ref in refs])

        return column

    def decoder(self, attr: Attribute, ctx: Context) -> ColumnFn | None:
        def column(values: Column) -> Column:
            if attr.store is None:
                payloads = {i: bytes(values[i]) for i in _present(values)}
            else:
                payloads = dict(_get_column(attr, values))
            return _each(lambda i: _extract(payloads[i]), list(payloads), [None] * len(values))

        return column


def _each(fn: Any, rows: list[int], out: Column) -> Column:
    """``out[i] = fn(i)`` for each row, on the I/O pool; a failure is reported with its row."""

    def safe(i: int) -> Any:
        try:
            return fn(i)
        except Exception as exc:
            return exc

    for i, result in zip(rows, run_all(safe, rows), strict=True):
        if isinstance(result, BaseException):
            raise DecodeError(i, result)
        out[i] = result
    return out


_verified: dict[tuple[str, int, int, str], str] = {}
_verified_lock = threading.Lock()


def _file_address(path: Path, algorithm: str) -> str:
    """The address of a local file; remembered while its size and mtime stay the same."""
    st = path.stat()
    key = (str(path), st.st_size, st.st_mtime_ns, algorithm)
    with _verified_lock:
        known = _verified.get(key)
    if known is None:
        known = hashing.digest_file(path, algorithm)
        with _verified_lock:
            _verified[key] = known
    return known


class _Filepath:
    """``<filepath@store>``: a file already in the store, linked by its path and checksum."""

    def encoder(self, attr: Attribute, ctx: Context) -> ColumnFn | None:
        store = get_store(attr.store)
        spec = store.spec
        reserved = [p + "/" for p in (spec.hash_prefix, spec.schema_prefix) if p]

        def column(values: Column) -> Column:
            present = _present(values)
            problems: list[tuple[int, str]] = []
            for i in present:
                path = str(values[i])
                if any(path.startswith(r) for r in reserved):
                    problems.append((i, f"{path!r} is in a section the store manages ({reserved})"))
                elif spec.filepath_prefix and not path.startswith(spec.filepath_prefix + "/"):
                    problems.append(
                        (i, f"{path!r} is not under the store's filepath_prefix {spec.filepath_prefix!r}")
                    )
            if problems:
                raise _refused(ctx, attr, problems)

            def link(i: int) -> dict[str, Any] | str:
                path = str(values[i])
                local = store.backend.local_path(path)
                if local is not None and local.is_dir():
                    return f"{path!r} is a folder in store {store.name!r}; link files"
                info = store.stat(path)
                if info is None:
                    return f"{path!r} is not in store {store.name!r}"
                address = (_file_address(local, spec.hash) if local is not None
                           else store.digest_object(path))
                return {
                    "path": path, "store": attr.store or None, "size": info.size, "is_dir": False,
                    "timestamp": datetime.now(UTC).isoformat(),
                    "hash": address, "algorithm": spec.hash,
                }

            links = _all_or_refused(ctx, attr, link, present, "cannot link")
            problems = [(i, r) for i, r in zip(present, links, strict=True) if isinstance(r, str)]
            if problems:
                raise _refused(ctx, attr, problems)
            return _placed(len(values), present, [_dumps(ref) for ref in links])

        return column

    def decoder(self, attr: Attribute, ctx: Context) -> ColumnFn | None:
        def column(values: Column) -> Column:
            def local(i: int) -> Path:
                ref = _reference(values[i])
                return _local_copy(_store_of(attr, ref), ref)

            return _each(local, _present(values), [None] * len(values))

        return column


def _local_copy(store: Store, ref: dict[str, Any]) -> Path:
    """A verified local path of a linked file: the file itself in a file store, a download otherwise."""
    path = str(ref["path"])
    address = ref.get("hash")
    algorithm = str(ref.get("algorithm", "md5"))
    local = store.backend.local_path(path)
    if local is not None:
        if not local.is_file():
            raise MissingObjectError(f"store {store.name!r}: linked file {path!r} is missing")
        if address is not None and _file_address(local, algorithm) != address:
            raise CorruptObjectError(
                f"store {store.name!r}: linked file {path!r} changed since it was inserted "
                f"(its {algorithm} checksum differs)"
            )
        if address is None and ref.get("size") is not None and local.stat().st_size != ref["size"]:
            raise CorruptObjectError(f"store {store.name!r}: linked file {path!r} changed size")
        return local
    remote = store.stat(path)
    if remote is None:
        raise MissingObjectError(f"store {store.name!r}: linked file {path!r} is missing")
    dest = download_folder() / "_filepath" / store.name / path
    seen = dest.with_name(f".{dest.name}.version")
    if (
        dest.is_file()
        and seen.is_file()
        and seen.read_text() == remote.version
        and (address is None or _file_address(dest, algorithm) == address)
    ):
        return dest
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.with_name(f".{dest.name}.{uuid.uuid4().hex}")
    h = hashing.hasher(algorithm)
    try:
        with tmp.open("wb") as f:
            for chunk in store.backend.chunks(path):
                h.update(chunk)
                f.write(chunk)
        if address is not None and hashing.encode(h.digest()) != address:
            raise CorruptObjectError(
                f"store {store.name!r}: linked file {path!r} changed since it was inserted "
                f"(its {algorithm} checksum differs)"
            )
        os.replace(tmp, dest)
        seen.write_text(remote.version)
    finally:
        tmp.unlink(missing_ok=True)
    return dest


register("external", _StoredBlob())
register("attach", _Attach())
register("filepath", _Filepath())
