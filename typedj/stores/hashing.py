"""Content addresses: BLAKE3 by default, MD5 as datajoint-python writes them.

Both are base32 without padding, lowercase, as the reference spells its MD5 addresses
(26 characters); BLAKE3's 256-bit digest gives 52.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Iterable
from pathlib import Path
from typing import Any, Protocol

import blake3

_PARALLEL_OVER = 1 << 20  # BLAKE3 hashes larger inputs on several threads


class Hasher(Protocol):
    def update(self, data: Any, /) -> Any: ...

    def digest(self) -> bytes: ...


def hasher(algorithm: str) -> Hasher:
    """A fresh incremental hasher for ``algorithm`` (``blake3`` or ``md5``)."""
    if algorithm == "blake3":
        return blake3.blake3()
    if algorithm == "md5":
        return hashlib.md5(usedforsecurity=False)
    raise ValueError(f"unknown hash algorithm {algorithm!r}")


_ADDRESS_LENGTH = {"md5": 26, "blake3": 52}
_BASE32 = frozenset("abcdefghijklmnopqrstuvwxyz234567")


def check_address(algorithm: str, address: str) -> None:
    """Refuse a reference whose algorithm or address is not one typedj writes: both come
    from the database and name files (the cache), so they must not be able to name others."""
    length = _ADDRESS_LENGTH.get(algorithm)
    if length is None:
        raise ValueError(f"unknown hash algorithm {algorithm[:40]!r}; known: {sorted(_ADDRESS_LENGTH)}")
    if len(address) != length or not _BASE32.issuperset(address):
        raise ValueError(f"not a {algorithm} address: {address[:80]!r} ({length} base32 characters expected)")


def encode(digest: bytes) -> str:
    return base64.b32encode(digest).decode("ascii").rstrip("=").lower()


def digest(data: bytes | memoryview, algorithm: str) -> str:
    """The content address of ``data``."""
    if algorithm == "blake3":
        threads = blake3.blake3.AUTO if len(data) > _PARALLEL_OVER else 1
        return encode(blake3.blake3(data, max_threads=threads).digest())
    h = hasher(algorithm)
    h.update(data)
    return encode(h.digest())


def digest_chunks(chunks: Iterable[bytes], algorithm: str) -> str:
    h = hasher(algorithm)
    for chunk in chunks:
        h.update(chunk)
    return encode(h.digest())


def digest_file(path: Path, algorithm: str, prefix: bytes = b"") -> str:
    """The content address of ``prefix`` followed by the file's bytes, without loading it."""
    if algorithm == "blake3" and not prefix and path.stat().st_size > 0:
        h = blake3.blake3(max_threads=blake3.blake3.AUTO)
        h.update_mmap(str(path))
        return encode(h.digest())
    h2 = hasher(algorithm)
    h2.update(prefix)
    with path.open("rb") as f:
        while chunk := f.read(1 << 20):
            h2.update(chunk)
    return encode(h2.digest())


def object_path(prefix: str, schema: str, address: str) -> str:
    """Where a hash-addressed object lives in its store: ``_hash/<schema>/<address>``."""
    return f"{prefix}/{schema}/{address}" if prefix else f"{schema}/{address}"
