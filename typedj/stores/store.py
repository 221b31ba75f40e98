"""A configured store: content-addressed puts and verified gets, many at a time.

Uploads and downloads of a column run on a shared thread pool; objects already in the
store are not uploaded again (their modification time is refreshed instead, so a
garbage collection running meanwhile keeps them through its grace period); downloads
check the local cache first and verify every object against its address.
"""

from __future__ import annotations

import hashlib
import logging
import os
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

from ..config import config, default_cache_folder
from ..errors import CorruptObjectError, MissingDependencyError, StoreError
from . import hashing
from .backends import Backend, FileBackend, ObjectInfo, S3Backend
from .cache import LocalCache
from .spec import StoreSpec, spec_of

log = logging.getLogger("typedj")

WORKERS = 16
T = TypeVar("T")
R = TypeVar("R")

_pool: tuple[int, ThreadPoolExecutor] | None = None
_pool_lock = threading.Lock()


def run_all(fn: Callable[[T], R], items: Sequence[T]) -> list[R]:
    """``[fn(x) for x in items]`` on the I/O thread pool (in order; the first error is raised)."""
    global _pool
    if len(items) <= 1:
        return [fn(x) for x in items]
    with _pool_lock:
        if _pool is None or _pool[0] != os.getpid():  # a forked worker needs its own threads
            _pool = (os.getpid(), ThreadPoolExecutor(max_workers=WORKERS, thread_name_prefix="typedj-store"))
        pool = _pool[1]
    return list(pool.map(fn, items))


def open_backend(spec: StoreSpec, workers: int) -> Backend:
    """The backend of a store: a folder, boto3 for S3, or the fsspec filesystem its protocol names."""
    if spec.protocol == "file":
        return FileBackend(spec)
    if spec.protocol == "s3":
        return S3Backend(spec, workers)
    from .filesystems import FsspecBackend  # fsspec is imported only for the stores that use it

    return FsspecBackend(spec)


class Store:
    """One configured object store: its settings, backend and cache."""

    def __init__(self, spec: StoreSpec):
        self.spec = spec
        self.name = spec.name
        self.backend: Backend = open_backend(spec, WORKERS)
        self.cache: LocalCache | None = None
        if spec.cache:
            folder = Path(config.cache_folder) if config.cache_folder else default_cache_folder()
            self.cache = LocalCache(folder, config.cache_size)

    def __repr__(self) -> str:
        return f"Store({self.name!r}, {self.spec.protocol}, hash={self.spec.hash})"

    # -- hash-addressed objects ----------------------------------------------------------

    def reference(self, schema: str, data: bytes, store_name: str | None) -> dict[str, Any]:
        """The JSON reference of ``data`` in this store (nothing is uploaded)."""
        algorithm = self.spec.hash
        address = hashing.digest(data, algorithm)
        ref: dict[str, Any] = {
            "hash": address,
            "path": hashing.object_path(self.spec.hash_prefix, schema, address),
            "schema": schema,
            "store": store_name,
            "size": len(data),
        }
        if algorithm != "md5":
            ref["algorithm"] = algorithm
        return ref

    def put_many(
        self, schema: str, payloads: Sequence[bytes], store_name: str | None
    ) -> list[dict[str, Any]]:
        """Store each payload once (per schema) and return its reference, in order."""
        refs = run_all(lambda d: self.reference(schema, d, store_name), payloads)
        unique: dict[str, tuple[str, bytes]] = {}
        for ref, data in zip(refs, payloads, strict=True):
            unique.setdefault(ref["path"], (ref["hash"], data))
        run_all(lambda item: self._ensure(item[0], *item[1]), list(unique.items()))
        return refs

    def _intact(self, info: ObjectInfo, address: str, data: bytes) -> bool:
        """Whether the stored object holds ``data``: hashed again in a file store; in S3,
        its ETag (the MD5 of a single-part upload) is compared, which costs no download."""
        if info.size != len(data):
            return False
        local = self.backend.local_path(info.path)
        if local is not None:
            return hashing.digest_file(local, self.spec.hash) == address
        holds = getattr(self.backend, "holds", None)  # a filesystem that knows best how to tell
        if holds is not None:
            return bool(holds(info, data))
        etag = info.version.strip('"')
        if etag and "-" not in etag:
            return hashlib.md5(data, usedforsecurity=False).hexdigest() == etag
        return True  # a multipart ETag says nothing of the content; reads verify it

    def _ensure(self, path: str, address: str, data: bytes) -> None:
        try:
            info = self.backend.stat(path)
            if info is not None and self._intact(info, address, data):
                self.backend.touch(path)
            else:
                if info is not None:
                    log.warning("store %r: object %r is damaged; uploading it again", self.name, path)
                self.backend.put(path, data)
        except StoreError:
            raise
        except Exception as exc:
            raise StoreError(f"store {self.name!r}: cannot upload {path!r}: {exc}") from exc

    def get_many(self, refs: Sequence[dict[str, Any]]) -> list[bytes | BaseException]:
        """The verified bytes of each reference, or the error that prevented it, in order."""
        paths: dict[str, dict[str, Any]] = {}
        for ref in refs:
            paths.setdefault(ref["path"], ref)

        def fetch(ref: dict[str, Any]) -> bytes | BaseException:
            try:
                return self.get(ref)
            except Exception as exc:
                return exc

        unique = list(paths.values())
        results = dict(zip((r["path"] for r in unique), run_all(fetch, unique), strict=True))
        return [results[ref["path"]] for ref in refs]

    def get(self, ref: dict[str, Any]) -> bytes:
        """The bytes a reference points at, from the cache or the store, verified."""
        algorithm = str(ref.get("algorithm", "md5"))
        address = str(ref["hash"])
        path = str(ref["path"])
        try:
            hashing.check_address(algorithm, address)
        except ValueError as exc:
            raise CorruptObjectError(
                f"store {self.name!r}: reference to {path[:200]!r} is invalid: {exc}"
            ) from None
        if self.cache is not None:
            data = self.cache.get(algorithm, address)
            if data is not None:
                if hashing.digest(data, algorithm) == address:
                    return data
                self.cache.discard(algorithm, address)
        data = self.backend.get(path)
        actual = hashing.digest(data, algorithm)
        if actual != address:
            raise CorruptObjectError(
                f"store {self.name!r}: object {path!r} is corrupt: its {algorithm} hash is "
                f"{actual}, the reference says {address}"
            )
        if self.cache is not None:
            self.cache.put(algorithm, address, data)
        return data

    # -- plain files (filepath) ----------------------------------------------------------

    def stat(self, path: str) -> ObjectInfo | None:
        return self.backend.stat(path)

    def digest_object(self, path: str, algorithm: str | None = None) -> str:
        """The content address of a stored file, read in chunks."""
        algorithm = algorithm or self.spec.hash
        local = self.backend.local_path(path)
        if local is not None:
            return hashing.digest_file(local, algorithm)
        return hashing.digest_chunks(self.backend.chunks(path), algorithm)


_stores: dict[tuple[StoreSpec, str | None, int, int], Store] = {}
_stores_lock = threading.Lock()


def get_store(name: str | None) -> Store:
    """The store ``name`` (``""``/None: the default store) as configured now."""
    spec = spec_of(name)
    key = (spec, config.cache_folder, config.cache_size, os.getpid())  # clients are per process
    with _stores_lock:
        store = _stores.get(key)
        if store is None:
            try:
                store = Store(spec)
            except (StoreError, MissingDependencyError):
                raise
            except Exception as exc:
                raise StoreError(f"store {spec.name!r}: cannot open it: {exc}") from exc
            _stores[key] = store
        return store
