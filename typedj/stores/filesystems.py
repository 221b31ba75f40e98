"""Stores on any fsspec filesystem: GCS, Azure, SFTP, HTTP, memory, local, S3 through s3fs.

The same backend contract as the folder and boto3 backends: paths relative to the store's
root, whole-object puts that a reader never sees half-written (object stores replace an
object at once; on filesystems with folders the bytes go to a temporary name first), and
modification times a garbage collection can trust.
"""

from __future__ import annotations

import contextlib
import hashlib
import time
import uuid
from collections.abc import Iterable, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

from ..errors import MissingObjectError, StoreError
from ..optional import require
from .backends import ObjectInfo, check_path
from .spec import StoreSpec

_FOLDERS = frozenset({"file", "local", "sftp", "ssh", "ftp", "smb", "webdav", "dbfs", "hdfs", "webhdfs"})
"""Filesystems with real folders, where a write is not atomic by itself."""
_TIMES = ("mtime", "LastModified", "last_modified", "updated", "modified", "created", "time")
"""Where fsspec implementations report a file's last change (local, s3fs, adlfs, gcsfs, memory, ...)."""
_TMP = ".typedj-tmp-"


def _seconds(info: dict[str, Any]) -> float | None:
    """The last change of a file, in epoch seconds, from its fsspec ``info``; None when the
    filesystem tells none (its objects then never look old to a garbage collection)."""
    for key in _TIMES:
        value = info.get(key)
        if isinstance(value, datetime):
            return value.timestamp()
        if isinstance(value, int | float) and not isinstance(value, bool):
            return float(value)
        if isinstance(value, str):
            with contextlib.suppress(ValueError):
                return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()
    return None


class FsspecBackend:
    """Objects under a root path of one fsspec filesystem, shared by threads."""

    def __init__(self, spec: StoreSpec):
        fsspec = require("fsspec", extra="fsspec", feature=f"the {spec.protocol} store {spec.name!r}")
        self.spec = spec
        protocol, self.root, options = spec.filesystem
        try:
            self.fs: Any = fsspec.filesystem(protocol, **options)
        except ValueError as exc:  # fsspec's "Protocol not known"
            raise StoreError(f"store {spec.name!r}: fsspec knows no protocol {protocol!r}") from exc
        except ImportError as exc:  # the filesystem's own package (gcsfs, adlfs, sftp's paramiko, ...)
            raise StoreError(f"store {spec.name!r}: the {protocol} filesystem needs a package that is "
                             f"not installed: {exc}") from exc
        names = {self.fs.protocol} if isinstance(self.fs.protocol, str) else set(self.fs.protocol)
        self.folders = bool(names & _FOLDERS)
        self.local = bool(names & {"file", "local"})
        self.base: str = self.fs._strip_protocol(self.root).rstrip("/") if self.root else ""
        """The root as the filesystem spells the paths it lists."""

    def full(self, path: str) -> str:
        """The path of a store object in the filesystem."""
        check_path(path)
        return f"{self.base}/{path}" if self.base else path

    def put(self, path: str, data: bytes | memoryview) -> None:
        full = self.full(path)
        if not self.folders:
            self.fs.pipe_file(full, bytes(data))
            return
        parent = full.rpartition("/")[0]
        self.fs.makedirs(parent or "/", exist_ok=True)
        tmp = f"{parent}/{_TMP}{uuid.uuid4().hex}"
        try:
            self.fs.pipe_file(tmp, bytes(data))
            self.fs.mv(tmp, full)
        except BaseException:
            with contextlib.suppress(Exception):
                self.fs.rm_file(tmp)
            raise

    def get(self, path: str) -> bytes:
        try:
            data: bytes = self.fs.cat_file(self.full(path))
        except FileNotFoundError:
            raise MissingObjectError(f"store {self.spec.name!r}: object {path!r} is missing") from None
        return data

    def _info(self, path: str, info: dict[str, Any]) -> ObjectInfo:
        size = int(info.get("size") or 0)
        modified = _seconds(info)
        etag = str(info.get("ETag") or "")  # S3's: the MD5 of a single-part upload
        when = time.time() if modified is None else modified
        return ObjectInfo(path, size, when, etag or f"{size}-{modified}")

    def holds(self, info: ObjectInfo, data: bytes) -> bool:
        """Whether the stored object ``info`` holds ``data``: by its S3 ETag when it is an
        MD5, else by reading it back (a filesystem without content checksums)."""
        etag = info.version.strip('"')
        if len(etag) == 32 and "-" not in etag:
            return hashlib.md5(data, usedforsecurity=False).hexdigest() == etag
        try:
            return bool(self.fs.cat_file(self.full(info.path)) == data)
        except FileNotFoundError:
            return False

    def stat(self, path: str) -> ObjectInfo | None:
        try:
            info = self.fs.info(self.full(path))
        except FileNotFoundError:
            return None
        return None if info.get("type") == "directory" else self._info(path, info)

    def touch(self, path: str) -> None:
        """Refresh the object's modification time; where the filesystem cannot, write the
        same bytes again (a new object of the same content)."""
        full = self.full(path)
        try:
            self.fs.touch(full, truncate=False)
        except (NotImplementedError, ValueError):
            self.fs.pipe_file(full, self.fs.cat_file(full))

    def listing(self, prefix: str) -> Iterator[ObjectInfo]:
        base = self.full(prefix.strip("/"))
        try:
            found: dict[str, dict[str, Any]] = self.fs.find(base, detail=True)
        except FileNotFoundError:
            return
        for name, info in found.items():
            relative = name.removeprefix(self.base).lstrip("/")
            if info.get("type") != "directory" and _TMP not in relative:
                yield self._info(relative, info)

    def delete(self, paths: Iterable[str]) -> None:
        for path in paths:
            with contextlib.suppress(FileNotFoundError):
                self.fs.rm_file(self.full(path))

    def chunks(self, path: str) -> Iterator[bytes]:
        try:
            f = self.fs.open(self.full(path), "rb")
        except FileNotFoundError:
            raise MissingObjectError(f"store {self.spec.name!r}: object {path!r} is missing") from None
        with f:
            while chunk := f.read(1 << 20):
                yield chunk

    def local_path(self, path: str) -> Path | None:
        return Path(self.full(path)) if self.local else None

    def mapper(self, path: str) -> Any:
        """An fsspec mapping of the folder ``path`` (for zarr)."""
        return self.fs.get_mapper(self.full(path), create=True)
