"""Schema-addressed objects (``<object@store>``, ``<npy@store>``): lazy references and staged inserts.

DataJoint 2.x keeps these at a path named by the row, not by the content:
``_schema/<schema>/<table>/<key>=<value>/.../<attribute>_<token><ext>`` (the store's
``schema_prefix``, then each primary-key value, then a random token so that a rewrite
never overwrites an object a reader may still use). A folder is uploaded under that
path with a manifest beside it (``<path>.manifest.json``: each file's path and size).
The table holds JSON: ``{path, store, size, ext, is_dir, item_count, timestamp}`` for an
object, ``{path, store, dtype, shape}`` for an array.

Fetching returns references that do no I/O until asked: ``ObjectRef`` (``read``,
``open``, ``fsmap``, ``download``, ``verify``) and ``NpyRef`` (``shape`` and ``dtype``
from the row; ``load(mmap_mode="r")`` maps the file).
"""

from __future__ import annotations

import io
import json
import math
import os
import secrets
import shutil
import urllib.parse
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from hashlib import md5
from pathlib import Path
from typing import IO, Any

import numpy as np

from .config import download_folder
from .errors import CorruptObjectError, MissingObjectError, StoreError, TypedjError
from .stores.store import Store, get_store

_TOKEN_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
_UNSAFE = '/\\:*?"<>|'


def _pk_text(value: Any) -> str:
    """A key value as a path segment, spelled as DataJoint 2.x spells it."""
    if isinstance(value, bool):
        return str(int(value))
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%dT%H-%M-%S")
    if isinstance(value, date):
        return value.isoformat()
    text = str(value)
    if len(text) > 100:
        text = text[:50] + "_" + md5(text.encode(), usedforsecurity=False).hexdigest()[:8]
        return urllib.parse.quote(text, safe="")
    if any(c in text for c in _UNSAFE):
        return urllib.parse.quote(text, safe="")
    return text


def object_path(store: Store, schema: str, table: str, attribute: str, key: Mapping[str, Any],
                ext: str | None) -> str:
    """A fresh path for an object of ``attribute`` in the row ``key``."""
    token = "".join(secrets.choice(_TOKEN_ALPHABET) for _ in range(8))
    name = f"{attribute}_{token}"
    if ext:
        name += ext if ext.startswith(".") else "." + ext
    parts = [p for p in (store.spec.schema_prefix,) if p]
    parts += [schema, table, *(f"{k}={_pk_text(v)}" for k, v in key.items()), name]
    return "/".join(parts)


def _under(store: Store, path: str) -> list[str]:
    """Every object below the folder ``path``."""
    return [info.path for info in store.backend.listing(path)]


def put_folder(store: Store, source: Path, path: str) -> tuple[int, int]:
    """Upload the folder ``source`` to ``path`` with its manifest; ``(total size, file count)``."""
    files = []
    for folder, _, names in os.walk(source):
        for name in sorted(names):
            full = Path(folder) / name
            files.append((full.relative_to(source).as_posix(), full))
    manifest: list[dict[str, Any]] = []
    for rel, full in files:
        data = full.read_bytes()
        store.backend.put(f"{path}/{rel}", data)
        manifest.append({"path": rel, "size": len(data)})
    write_manifest(store, path, manifest)
    return sum(f["size"] for f in manifest), len(manifest)


def write_manifest(store: Store, path: str, files: list[dict[str, Any]]) -> None:
    body = {"files": files, "total_size": sum(int(f["size"]) for f in files), "item_count": len(files),
            "created": datetime.now(UTC).isoformat()}
    store.backend.put(f"{path}.manifest.json", json.dumps(body, indent=2).encode())


def remove(store: Store, path: str) -> None:
    """Remove an object, or a folder with its manifest (missing parts are no error)."""
    local = store.backend.local_path(path)
    if local is not None and local.is_dir():
        shutil.rmtree(local, ignore_errors=True)
    else:
        store.backend.delete([path, *_under(store, path)])
    store.backend.delete([f"{path}.manifest.json"])


@dataclass(frozen=True)
class ObjectRef:
    """A stored file or folder (``Object``), read only when asked.

    ``path`` is relative to the store; ``size`` the bytes (all files of a folder);
    ``item_count`` the files of a folder.
    """

    path: str
    store: str | None
    size: int | None
    ext: str | None
    is_dir: bool
    timestamp: datetime | None
    item_count: int | None = None
    meta: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_json(cls, meta: Mapping[str, Any]) -> ObjectRef:
        """A reference from the JSON a column holds (``path``, ``store``, ``size``, ...)."""
        stamp = meta.get("timestamp")
        return cls(
            path=str(meta["path"]), store=meta.get("store"), size=meta.get("size"), ext=meta.get("ext"),
            is_dir=bool(meta.get("is_dir", False)),
            timestamp=(datetime.fromisoformat(stamp.replace("Z", "+00:00"))
                       if isinstance(stamp, str) else None),
            item_count=meta.get("item_count"), meta=dict(meta),
        )

    @classmethod
    def of(cls, source: Path | str | bytes | tuple[str, bytes]) -> ObjectRef:
        """A value to insert: a local file or folder, bytes, or ``(ext, bytes)``.

        Inserts take these as they are; wrapped, they have the attribute's type for type
        checkers, which see an ``Object`` attribute as an ``ObjectRef``.
        """
        return cls(path="", store=None, size=None, ext=None, is_dir=False, timestamp=None,
                   meta={"source": source})

    def _store(self) -> Store:
        return get_store(self.store or "")

    def _sub(self, subpath: str | None) -> str:
        if not subpath:
            return self.path
        if not self.is_dir:
            raise StoreError(f"{self.path!r} is a file; a subpath is for folders")
        if subpath.startswith("/") or ".." in subpath.split("/"):
            raise StoreError(f"invalid subpath {subpath!r}")
        return f"{self.path}/{subpath}"

    def read(self, subpath: str | None = None) -> bytes:
        """The file's bytes (for a folder, the bytes of ``subpath`` in it)."""
        if self.is_dir and not subpath:
            raise StoreError(f"{self.path!r} is a folder: read a file in it, read(subpath)")
        return self._store().backend.get(self._sub(subpath))

    def open(self, subpath: str | None = None, mode: str = "rb") -> IO[Any]:
        """The file (or ``subpath`` of a folder) opened for reading, without loading it."""
        if mode not in {"rb", "r"}:
            raise StoreError("stored objects are opened for reading ('rb' or 'r')")
        path = self._sub(subpath)
        local = self._store().backend.local_path(path)
        if local is not None:
            if not local.is_file():
                raise MissingObjectError(f"store {self.store!r}: object {path!r} is missing")
            return local.open(mode)
        data = io.BytesIO(self._store().backend.get(path))
        return io.TextIOWrapper(data) if mode == "r" else data

    def listdir(self) -> list[str]:
        """The files of a folder, relative to it."""
        if not self.is_dir:
            raise StoreError(f"{self.path!r} is a file, not a folder")
        return sorted(p[len(self.path) + 1 :] for p in _under(self._store(), self.path))

    @property
    def fsmap(self) -> Any:
        """The object as an fsspec mapping (``zarr.open(ref.fsmap)``); needs fsspec."""
        return _fsmap(self._store(), self.path)

    def download(self, destination: Path | str) -> Path:
        """Copy the file into (or the folder as) ``destination``; the local path."""
        store = self._store()
        dest = Path(destination)
        if not self.is_dir:
            target = dest / self.path.rsplit("/", 1)[-1] if dest.is_dir() else dest
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(store.backend.get(self.path))
            return target
        for rel in self.listdir():
            out = dest / rel
            out.parent.mkdir(parents=True, exist_ok=True)
            out.write_bytes(store.backend.get(f"{self.path}/{rel}"))
        return dest

    def exists(self, subpath: str | None = None) -> bool:
        """Whether the object (or a path inside a folder object) is in the store."""
        path = self._sub(subpath)
        if self.is_dir and not subpath:
            return bool(_under(self._store(), path))
        return self._store().backend.stat(path) is not None

    def verify(self) -> bool:
        """Check the object against its row: a file's size, each file of a folder's manifest.

        Raises ``CorruptObjectError`` (or ``MissingObjectError``) naming what differs.
        """
        store = self._store()
        if not self.is_dir:
            info = store.backend.stat(self.path)
            if info is None:
                raise MissingObjectError(f"store {self.store!r}: object {self.path!r} is missing")
            if self.size is not None and info.size != self.size:
                raise CorruptObjectError(f"store {self.store!r}: {self.path!r} has {info.size} bytes, "
                                         f"its row says {self.size}")
            return True
        try:
            manifest = json.loads(store.backend.get(f"{self.path}.manifest.json"))
        except MissingObjectError:
            return True  # staged folders carry no manifest, as in DataJoint
        problems = []
        for entry in manifest.get("files", []):
            info = store.backend.stat(f"{self.path}/{entry['path']}")
            if info is None:
                problems.append(f"{entry['path']} is missing")
            elif info.size != entry["size"]:
                problems.append(f"{entry['path']} has {info.size} bytes, the manifest says {entry['size']}")
        if problems:
            raise CorruptObjectError(f"store {self.store!r}: folder {self.path!r}: " + "; ".join(problems))
        return True

    def __str__(self) -> str:
        return self.path


class NpyRef:
    """A stored numpy array (``Npy``): shape and dtype come from the row; data on ``load``."""

    __slots__ = ("_cached", "meta")

    def __init__(self, meta: Mapping[str, Any]):
        self.meta = dict(meta)
        self._cached: np.ndarray[Any, Any] | None = None

    @classmethod
    def of(cls, array: np.ndarray[Any, Any]) -> NpyRef:
        """A value to insert (an ``Npy`` attribute is an ``NpyRef`` to type checkers)."""
        ref = cls({"dtype": str(array.dtype), "shape": list(array.shape)})
        ref._cached = array
        return ref

    @property
    def path(self) -> str:
        """The object's path in its store."""
        return str(self.meta["path"])

    @property
    def store(self) -> str | None:
        """The store's name (``None``: the default store)."""
        value = self.meta.get("store")
        return None if value is None else str(value)

    @property
    def shape(self) -> tuple[int, ...]:
        """The array's shape, known from the column without reading the object."""
        return tuple(int(n) for n in self.meta["shape"])

    @property
    def dtype(self) -> np.dtype[Any]:
        """The array's dtype, known from the column without reading the object."""
        dtype: np.dtype[Any] = np.dtype(str(self.meta["dtype"]))
        return dtype

    @property
    def ndim(self) -> int:
        """The number of dimensions."""
        return len(self.shape)

    @property
    def size(self) -> int:
        """The number of elements."""
        return math.prod(self.shape)

    @property
    def nbytes(self) -> int:
        """The size of the array's data in bytes."""
        return self.size * self.dtype.itemsize

    @property
    def is_loaded(self) -> bool:
        """Whether the array was read already (and is cached on the reference)."""
        return self._cached is not None

    def load(self, mmap_mode: str | None = None) -> np.ndarray[Any, Any]:
        """The array; with ``mmap_mode`` (``"r"``, ``"c"``) a memory map of the file, read as sliced.

        A file store's file is mapped in place; a remote one is downloaded once into the
        local download folder first.
        """
        if mmap_mode is None and self._cached is not None:
            return self._cached
        store = get_store(self.store or "")
        if mmap_mode is None:
            if self._cached is None:
                self._cached = np.load(io.BytesIO(store.backend.get(self.path)), allow_pickle=False)
            return self._cached
        if mmap_mode not in {"r", "c"}:
            raise StoreError("stored arrays are mapped read-only ('r') or copy-on-write ('c')")
        local = store.backend.local_path(self.path)
        if local is None:
            local = download_folder() / "_npy" / store.name / self.path
            if not local.is_file():
                local.parent.mkdir(parents=True, exist_ok=True)
                tmp = local.with_name(f".{local.name}.{secrets.token_hex(6)}")
                tmp.write_bytes(store.backend.get(self.path))
                os.replace(tmp, local)
        elif not local.is_file():
            raise MissingObjectError(f"store {store.name!r}: array {self.path!r} is missing")
        mode: Any = mmap_mode
        array: np.ndarray[Any, Any] = np.load(local, mmap_mode=mode, allow_pickle=False)
        return array

    def __array__(self, dtype: Any = None, copy: bool | None = None) -> np.ndarray[Any, Any]:
        array = self.load()
        return array if dtype is None else array.astype(dtype)

    def __getitem__(self, index: Any) -> Any:
        return self.load()[index]

    def __len__(self) -> int:
        if not self.shape:
            raise TypeError("len() of a 0-dimensional array")
        return self.shape[0]

    def __repr__(self) -> str:
        state = "loaded" if self.is_loaded else "not loaded"
        return f"NpyRef(shape={self.shape}, dtype={self.dtype}, {state})"


def _fsmap(store: Store, path: str) -> Any:
    try:
        import fsspec  # type: ignore[import-untyped]
    except ImportError as exc:
        raise StoreError("fsmap needs fsspec: pip install 'typedj[objects]'") from exc
    mapper = getattr(store.backend, "mapper", None)
    if mapper is not None:  # a store on an fsspec filesystem
        return mapper(path)
    if store.spec.protocol == "file":
        root = Path(store.spec.location) / path
        return fsspec.get_mapper(str(root), create=True)
    try:
        import s3fs  # type: ignore[import-not-found]  # noqa: F401
    except ImportError as exc:
        raise StoreError(f"store {store.name!r}: fsmap on S3 needs s3fs (pip install s3fs)") from exc
    fs = fsspec.filesystem("s3", key=store.spec.access_key, secret=store.spec.secret_key,
                           client_kwargs={"endpoint_url": store.spec.endpoint_url})
    prefix = store.spec.location.strip("/")
    return fs.get_mapper(f"{store.spec.bucket}/{prefix + '/' if prefix else ''}{path}")


class _Upload(io.BytesIO):
    """A file written into a remote store when closed."""

    def __init__(self, store: Store, path: str):
        super().__init__()
        self._target = (store, path)

    def close(self) -> None:
        if not self.closed:
            store, path = self._target
            store.backend.put(path, self.getvalue())
        super().close()


class StagedInsert:
    """One row being inserted whose objects are written straight into their store (``staged_insert1``)."""

    def __init__(self, table: Any):
        self.table = table
        self.rec: dict[str, Any] = {}
        """The row's values; set the primary key before ``store`` or ``open``."""
        self._staged: dict[str, tuple[Store, str, str | None]] = {}

    def _resolve(self, attribute: str, ext: str) -> tuple[Store, str]:
        if attribute in self._staged:
            store, path, _ = self._staged[attribute]
            return store, path
        table_def = self.table._def
        attr = table_def.heading.get(attribute)
        if attr is None or attr.kind != "object":
            raise TypedjError(f"{self.table.__name__}.{attribute} is not an Object attribute",
                              table=table_def.name, attribute=attribute)
        missing = [k for k in table_def.heading.primary_key if k not in self.rec]
        if missing:
            raise TypedjError(f"{self.table.__name__}: set the primary key in staged.rec before writing "
                              f"objects; missing {missing}", table=table_def.name, attribute=missing[0])
        store = get_store(attr.store or "")
        key = {k: self.rec[k] for k in table_def.heading.primary_key}
        path = object_path(store, table_def.schema, table_def.name, attribute, key, ext or None)
        self._staged[attribute] = (store, path, ext or None)
        return store, path

    def store(self, attribute: str, ext: str = "") -> Any:
        """A mapping onto the object's folder (for Zarr: ``zarr.open(staged.store("a", ".zarr"))``)."""
        store, path = self._resolve(attribute, ext)
        return _fsmap(store, path)

    def open(self, attribute: str, ext: str = "", mode: str = "wb") -> IO[bytes]:
        """The object as a file open for writing."""
        if mode != "wb":
            raise StoreError("staged objects are written in mode 'wb'")
        store, path = self._resolve(attribute, ext)
        local = store.backend.local_path(path)
        if local is not None:
            local.parent.mkdir(parents=True, exist_ok=True)
            return local.open("wb")
        return _Upload(store, path)

    def _metadata(self, attribute: str) -> dict[str, Any]:
        store, path, ext = self._staged[attribute]
        files = [info for info in store.backend.listing(path)]
        is_dir = bool(files)
        if is_dir:
            size, count = sum(f.size for f in files), len(files)
        else:
            info = store.backend.stat(path)
            if info is None:
                raise TypedjError(
                    f"{self.table.__name__}.{attribute}: nothing was written to the staged object",
                    table=self.table._def.name, attribute=attribute)
            size, count = info.size, None
        return {"path": path, "store": self.table._def.heading[attribute].store or None,
                "size": size, "ext": ext, "is_dir": is_dir, "item_count": count,
                "timestamp": datetime.now(UTC).isoformat()}

    def _finish(self) -> None:
        row = dict(self.rec)
        for attribute in self._staged:
            row[attribute] = self._metadata(attribute)
        self.table.insert1(row)

    def _cleanup(self) -> None:
        for store, path, _ in self._staged.values():
            try:
                remove(store, path)
            except Exception:  # the error that brought us here matters more
                continue


@contextmanager
def staged_insert1(table: Any) -> Iterator[StagedInsert]:
    """``Table.staged_insert1()``: see there."""
    staged = StagedInsert(table)
    try:
        yield staged
        staged._finish()
    except BaseException:
        staged._cleanup()
        raise
