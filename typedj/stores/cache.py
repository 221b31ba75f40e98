"""The local object cache: repeated reads of stored objects come from local disk.

Entries are named by content address, so one entry serves every schema and store that
holds the same bytes, and an entry can never be stale, only corrupt (reads verify it).
The least recently used entries go when the folder grows past its size limit.
"""

from __future__ import annotations

import os
import threading
import uuid
from pathlib import Path

from .spec import HASHES

_TMP = ".tmp-"


class LocalCache:
    """A folder of objects by content address, at most ``size`` bytes, evicted LRU."""

    def __init__(self, folder: Path, size: int):
        self.folder = folder
        self.size = size
        self._lock = threading.Lock()
        self._total: int | None = None

    def _file(self, algorithm: str, address: str) -> Path:
        if algorithm not in HASHES or not (address.isascii() and address.isalnum()):
            raise ValueError(f"not a content address: {algorithm[:40]!r}, {address[:80]!r}")
        return self.folder / address[:2] / f"{algorithm}-{address}"

    def get(self, algorithm: str, address: str) -> bytes | None:
        """The cached bytes, or None; a hit counts as a use for eviction."""
        path = self._file(algorithm, address)
        try:
            data = path.read_bytes()
            os.utime(path, None)
        except FileNotFoundError:
            return None
        return data

    def discard(self, algorithm: str, address: str) -> None:
        path = self._file(algorithm, address)
        try:
            size = path.stat().st_size
            path.unlink()
        except FileNotFoundError:
            return
        with self._lock:
            if self._total is not None:
                self._total -= size

    def put(self, algorithm: str, address: str, data: bytes) -> None:
        if len(data) > self.size:
            return
        path = self._file(algorithm, address)
        if path.exists():
            return
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f"{_TMP}{uuid.uuid4().hex}")
        tmp.write_bytes(data)
        os.replace(tmp, path)
        with self._lock:
            total = self._scan() if self._total is None else self._total + len(data)
            self._total = total
            if total > self.size:
                self._evict()

    def _entries(self) -> list[tuple[float, int, Path]]:
        out: list[tuple[float, int, Path]] = []
        if not self.folder.is_dir():
            return out
        for sub in self.folder.iterdir():
            if not sub.is_dir():
                continue
            for entry in os.scandir(sub):
                try:
                    st = entry.stat()
                except FileNotFoundError:
                    continue
                out.append((st.st_mtime, st.st_size, Path(entry.path)))
        return out

    def _scan(self) -> int:
        return sum(size for _, size, _ in self._entries())

    def _evict(self) -> None:
        """Drop the least recently used entries down to 90% of the limit (lock held)."""
        entries = sorted(self._entries(), key=lambda e: e[0])
        total = sum(e[1] for e in entries)
        target = int(self.size * 0.9)
        for _, size, path in entries:
            if total <= target:
                break
            path.unlink(missing_ok=True)
            total -= size
        self._total = total

    @property
    def used(self) -> int:
        """Bytes in the cache now."""
        with self._lock:
            self._total = self._scan()
            return self._total
