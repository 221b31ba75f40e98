"""Stored objects of a dataset: found in the rows' references, copied concurrently, verified.

In a dataset an object lives at ``objects/<store>/<path in the store>``, so the rows'
references (``{"path": "_hash/lab/...", "store": "raw", ...}``) stay exactly as they were.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import CorruptObjectError, DatasetError, MissingObjectError, StoreError
from ..heading import Attribute, Heading
from ..stores import hashing
from ..stores.backends import ObjectInfo
from ..stores.spec import HASHES, resolve_name
from ..stores.store import Store, get_store

STORED_KINDS = frozenset({"external", "attach", "filepath", "object", "npy"})
SCHEMA_ADDRESSED = frozenset({"object", "npy"})
"""Kinds kept at a path named by the row (``_schema/<schema>/...``), not by content."""
CHUNK = 1 << 20
PARTIAL = ".typedj-partial"
"""Suffix of a file being written; it gets its final name only when complete."""


def stored(heading: Heading) -> list[Attribute]:
    """Attributes whose values are references to objects in a store."""
    return [a for a in heading if a.kind in STORED_KINDS and a.store is not None]


@dataclass(frozen=True)
class ObjectRef:
    """One object a row references: its store, its path there, and how to check it."""

    store: str
    path: str
    size: int | None
    address: str | None
    algorithm: str
    folder: bool = False
    """An ``Object`` folder: every file under ``path``, and ``path.manifest.json`` beside it."""

    @classmethod
    def of(cls, attr: Attribute, text: Any) -> ObjectRef:
        ref = json.loads(text) if isinstance(text, str | bytes | bytearray) else text
        if not isinstance(ref, dict) or "path" not in ref:
            raise DatasetError(f"attribute {attr.name!r}: not an object reference: {str(text)[:200]!r}",
                               attribute=attr.name)
        store = resolve_name(ref.get("store") or attr.store)
        address = ref.get("hash")
        folder = attr.kind == "object" and bool(ref.get("is_dir"))
        size = None if folder or attr.kind == "npy" else ref.get("size")
        return cls(store, str(ref["path"]), int(size) if size is not None else None,
                   str(address) if address else None, str(ref.get("algorithm", "md5")), folder)

    @property
    def relative(self) -> str:
        return f"objects/{self.store}/{self.path}"


def references(heading: Heading, names: list[str], rows: Iterable[tuple[Any, ...]]) -> Iterator[ObjectRef]:
    columns = [(names.index(a.name), a) for a in stored(heading) if a.name in names]
    for row in rows:
        for i, attr in columns:
            if row[i] is not None:
                yield ObjectRef.of(attr, row[i])


def _check(ref: ObjectRef, digest: str | None, size: int, where: str) -> None:
    if ref.size is not None and size != ref.size:
        raise CorruptObjectError(
            f"{where}: object {ref.path!r} has {size} bytes, its reference says {ref.size}")
    if ref.address and digest is not None and digest != ref.address:
        raise CorruptObjectError(
            f"{where}: object {ref.path!r} is corrupt: its {ref.algorithm} hash is {digest}, "
            f"the reference says {ref.address}")


def _stream(chunks: Iterable[bytes], dest: Path, ref: ObjectRef, where: str) -> None:
    """Write ``chunks`` to ``dest`` (atomically: a partial file never has the final name)."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.with_name(f".{dest.name}.{os.getpid()}{PARTIAL}")
    h = hashing.hasher(ref.algorithm) if ref.address and ref.algorithm in HASHES else None
    size = 0
    try:
        with tmp.open("wb") as f:
            for chunk in chunks:
                f.write(chunk)
                size += len(chunk)
                if h is not None:
                    h.update(chunk)
        _check(ref, hashing.encode(h.digest()) if h is not None else None, size, where)
        os.replace(tmp, dest)
    finally:
        tmp.unlink(missing_ok=True)


def download(ref: ObjectRef, root: Path) -> int:
    """Copy one object (or every file of a folder) from its configured store into the
    dataset folder; the bytes copied."""
    store = get_store(ref.store)
    if not ref.folder:
        return _download_file(store, ref, root)
    listed = [ObjectRef(ref.store, info.path, info.size, None, "md5") for info in
              store.backend.listing(ref.path + "/")]
    if not listed:
        raise MissingObjectError(f"store {ref.store!r}: folder {ref.path!r} is missing or empty")
    manifest = ObjectRef(ref.store, f"{ref.path}.manifest.json", None, None, "md5")
    return sum(_download_file(store, r, root) for r in [*listed, manifest])


def _download_file(store: Store, ref: ObjectRef, root: Path) -> int:
    dest = root / ref.relative
    if dest.exists():
        return 0  # copied before (by another row, or a run that was interrupted)
    if store.backend.stat(ref.path) is None:
        raise MissingObjectError(f"store {ref.store!r}: object {ref.path!r} is missing")
    try:
        _stream(store.backend.chunks(ref.path), dest, ref, f"store {ref.store!r}")
    except StoreError:
        raise
    except Exception as exc:
        raise StoreError(f"store {ref.store!r}: cannot read {ref.path!r}: {exc}") from exc
    return dest.stat().st_size


def files_of(ref: ObjectRef, root: Path) -> list[tuple[Path, str]]:
    """The dataset files of an object, each with its path relative to the object's path."""
    base = root / ref.relative
    if not ref.folder:
        return [(base, "")]
    files = [(f, "/" + f.relative_to(base).as_posix()) for f in sorted(base.rglob("*")) if f.is_file()]
    return [*files, (base.with_name(base.name + ".manifest.json"), ".manifest.json")]


def upload(store: Store, source: Path, path: str) -> int:
    """Put a dataset file into ``store`` at ``path`` unless the same object is there already."""
    size = source.stat().st_size
    info = store.backend.stat(path)
    if info is not None and info.size == size and _same(store, path, info, source):
        store.backend.touch(path)
        return 0
    try:
        store.backend.put(path, source.read_bytes())
    except Exception as exc:
        raise StoreError(f"store {store.name!r}: cannot upload {path!r}: {exc}") from exc
    return size


def _same(store: Store, path: str, info: ObjectInfo, source: Path) -> bool:
    """Whether the stored object holds the file's bytes: hashed in a file store; in S3 the
    ETag (MD5 of a single-part upload) is compared, which costs no download."""
    local = store.backend.local_path(path)
    if local is not None:
        return hashing.digest_file(local, "blake3") == hashing.digest_file(source, "blake3")
    etag = info.version.strip('"')
    if etag and "-" not in etag:
        return hashing.digest_file(source, "md5") == hashing.encode(bytes.fromhex(etag))
    return True  # a multipart ETag says nothing of the content; reads verify it


def run(fn: Callable[[Any], int], items: Iterable[Any], workers: int, progress: Any = None) -> int:
    """``fn`` over ``items`` on ``workers`` threads, at most ``4 * workers`` in flight; bytes done."""
    total = 0
    with ThreadPoolExecutor(max_workers=max(1, workers), thread_name_prefix="typedj-export") as pool:
        pending: list[Any] = []
        for item in items:
            pending.append(pool.submit(fn, item))
            if len(pending) >= 4 * workers:
                total += _drain(pending[: workers], progress)
                del pending[: workers]
        total += _drain(pending, progress)
    return total


def _drain(futures: list[Any], progress: Any) -> int:
    done = 0
    for f in futures:
        n = f.result()
        done += n
        if progress is not None:
            progress.update(1)
    return done
