"""Where the bytes go: a folder (``file``), an S3 bucket (``s3``, through boto3), or any
fsspec filesystem (``filesystems.py``).

A backend speaks paths relative to the store's ``location`` and knows nothing of hashes
or tables. Writes are atomic: a reader never sees half an object.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, BinaryIO, Protocol

from ..errors import MissingObjectError, StoreError
from ..optional import require
from .spec import StoreSpec

_TMP = ".typedj-tmp-"


@dataclass(frozen=True)
class ObjectInfo:
    """One stored object: its path in the store, size in bytes, last change (epoch s), and a
    version tag that changes whenever its content does (S3's ETag, or the file's mtime)."""

    path: str
    size: int
    modified: float
    version: str = ""


class Backend(Protocol):
    spec: StoreSpec

    def put(self, path: str, data: bytes | memoryview) -> None: ...

    def get(self, path: str) -> bytes: ...

    def stat(self, path: str) -> ObjectInfo | None: ...

    def touch(self, path: str) -> None: ...

    def listing(self, prefix: str) -> Iterator[ObjectInfo]: ...

    def delete(self, paths: Iterable[str]) -> None: ...

    def chunks(self, path: str) -> Iterator[bytes]: ...

    def local_path(self, path: str) -> Path | None: ...


def check_path(path: str) -> str:
    """``path`` when it stays inside the store (relative, no ``..``, no NUL); else ``StoreError``."""
    if not path or path.startswith("/") or ".." in path.replace("\\", "/").split("/") or "\0" in path:
        raise StoreError(f"invalid object path {path[:200]!r}")
    return path


class FileBackend:
    """Objects as files under ``location``; written to a temporary name, then renamed."""

    def __init__(self, spec: StoreSpec):
        self.spec = spec
        self.root = Path(spec.location)
        self._real_root = self.root.resolve()

    def _full(self, path: str) -> Path:
        full = self.root / check_path(path)
        if not full.resolve().is_relative_to(self._real_root):
            raise StoreError(
                f"store {self.spec.name!r}: {path[:200]!r} leads outside the store "
                "(a symbolic link); typedj reads and writes only inside the store's location"
            )
        return full

    def put(self, path: str, data: bytes | memoryview) -> None:
        full = self._full(path)
        full.parent.mkdir(parents=True, exist_ok=True)
        tmp = full.with_name(f"{_TMP}{uuid.uuid4().hex}")
        try:
            with tmp.open("wb") as f:
                f.write(data)
            os.replace(tmp, full)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise

    def get(self, path: str) -> bytes:
        try:
            return self._full(path).read_bytes()
        except FileNotFoundError:
            raise MissingObjectError(f"store {self.spec.name!r}: object {path!r} is missing") from None

    def stat(self, path: str) -> ObjectInfo | None:
        try:
            st = self._full(path).stat()
        except FileNotFoundError:
            return None
        return ObjectInfo(path, st.st_size, st.st_mtime, f"{st.st_size}-{st.st_mtime_ns}")

    def touch(self, path: str) -> None:
        os.utime(self._full(path), None)

    def listing(self, prefix: str) -> Iterator[ObjectInfo]:
        base = self.root / prefix
        for folder, _, files in os.walk(base):
            for name in files:
                full = Path(folder) / name
                try:
                    st = full.stat()
                except FileNotFoundError:
                    continue
                yield ObjectInfo(full.relative_to(self.root).as_posix(), st.st_size, st.st_mtime)

    def delete(self, paths: Iterable[str]) -> None:
        for path in paths:
            self._full(path).unlink(missing_ok=True)

    def chunks(self, path: str) -> Iterator[bytes]:
        try:
            f: BinaryIO = self._full(path).open("rb")
        except FileNotFoundError:
            raise MissingObjectError(f"store {self.spec.name!r}: object {path!r} is missing") from None
        with f:
            while chunk := f.read(1 << 20):
                yield chunk

    def local_path(self, path: str) -> Path | None:
        return self._full(path)


class S3Backend:
    """Objects in ``bucket`` under the key prefix ``location``; one boto3 client, shared by threads."""

    def __init__(self, spec: StoreSpec, workers: int):
        boto3 = require("boto3", extra="s3", feature=f"the S3 store {spec.name!r}")
        from botocore.config import Config

        self.spec = spec
        self.prefix = spec.location.strip("/")
        self.client: Any = boto3.client(
            "s3",
            endpoint_url=spec.endpoint_url,
            aws_access_key_id=spec.access_key,
            aws_secret_access_key=spec.secret_key,
            region_name="us-east-1",
            config=Config(
                max_pool_connections=max(10, workers), retries={"max_attempts": 5, "mode": "standard"}
            ),
        )

    def _key(self, path: str) -> str:
        check_path(path)
        return f"{self.prefix}/{path}" if self.prefix else path

    def _path(self, key: str) -> str:
        return key[len(self.prefix) + 1 :] if self.prefix else key

    def _missing(self, exc: Exception) -> bool:
        code = str(getattr(exc, "response", {}).get("Error", {}).get("Code", ""))
        return code in {"404", "NoSuchKey", "NotFound"}

    def put(self, path: str, data: bytes | memoryview) -> None:
        self.client.put_object(Bucket=self.spec.bucket, Key=self._key(path), Body=bytes(data))

    def _body(self, path: str) -> Any:
        try:
            return self.client.get_object(Bucket=self.spec.bucket, Key=self._key(path))["Body"]
        except self.client.exceptions.ClientError as exc:
            if self._missing(exc):
                raise MissingObjectError(f"store {self.spec.name!r}: object {path!r} is missing") from None
            raise

    def get(self, path: str) -> bytes:
        data: bytes = self._body(path).read()
        return data

    def stat(self, path: str) -> ObjectInfo | None:
        try:
            head = self.client.head_object(Bucket=self.spec.bucket, Key=self._key(path))
        except self.client.exceptions.ClientError as exc:
            if self._missing(exc):
                return None
            raise
        return ObjectInfo(
            path, int(head["ContentLength"]), head["LastModified"].timestamp(), str(head.get("ETag", ""))
        )

    def touch(self, path: str) -> None:
        """Refresh the object's modification time with a server-side copy onto itself."""
        key = self._key(path)
        self.client.copy_object(
            Bucket=self.spec.bucket, Key=key, CopySource={"Bucket": self.spec.bucket, "Key": key},
            MetadataDirective="REPLACE", Metadata={"touched": datetime.now(UTC).isoformat()},
        )

    def listing(self, prefix: str) -> Iterator[ObjectInfo]:
        paginator = self.client.get_paginator("list_objects_v2")
        for page in paginator.paginate(Bucket=self.spec.bucket, Prefix=self._key(prefix.strip("/")) + "/"):
            for item in page.get("Contents", ()):
                yield ObjectInfo(self._path(item["Key"]), int(item["Size"]), item["LastModified"].timestamp())

    def delete(self, paths: Iterable[str]) -> None:
        keys = [{"Key": self._key(p)} for p in paths]
        for start in range(0, len(keys), 1000):
            batch = {"Objects": keys[start : start + 1000]}
            self.client.delete_objects(Bucket=self.spec.bucket, Delete=batch)

    def chunks(self, path: str) -> Iterator[bytes]:
        yield from self._body(path).iter_chunks(1 << 20)

    def local_path(self, path: str) -> Path | None:
        return None
