"""Blob compression: the reference's ``ZL123`` zlib wrapper, and when compressing pays."""

from __future__ import annotations

import zlib

from ...config import config
from .format import (
    COMPRESS_OVER,
    LEVEL6_GAIN,
    MAX_DECLARED,
    MIN_SAVING,
    SMALL_BLOB,
    U64,
    ZLIB,
    BlobError,
    pack_u64,
)


def compression_level(setting: bool | int | str | None) -> int | None:
    """A compression setting as a zlib level: None for automatic, 0 for none; else an error."""
    if setting is None or setting is True or setting == "auto":
        return None
    if setting is False:
        return 0
    if isinstance(setting, int) and 0 <= setting <= 9:
        return setting
    if isinstance(setting, str) and setting.isdigit() and int(setting) <= 9:
        return int(setting)
    raise BlobError(f"blob compression is 'auto', a zlib level 0-9 or a bool, not {setting!r}")


def maybe_compress(blob: bytes, level: int | None = None) -> bytes:
    """Compress when it pays: small blobs like the reference, large ones only if a sample shrinks.

    zlib runs at ~35 MB/s on noisy float data whatever the level, so large blobs are first
    sampled (a few KiB at level 1) and stored raw unless the sample saves ``MIN_SAVING``
    (ZFS's 1/8 rule). Automatic (``level`` None): the same sample is compressed at level 6
    too, and level 6 is used when it is ``LEVEL6_GAIN`` smaller than level 1 (quantized
    or smooth data, where the default level stores a fifth less and every later scan
    reads that much less), else level 1, which on data that barely compresses gets
    within a percent of level 6 at up to four times the speed. A fixed ``level`` skips the
    choice (but not the test for data that does not compress).
    """
    n = len(blob)
    if n <= COMPRESS_OVER:
        return blob
    if n <= SMALL_BLOB:
        # automatic: the reference's level, identical bytes for small blobs
        body = zlib.compress(blob, -1 if level is None else level)
    else:
        fast, better = _sample_ratio(blob, 1 if level is None else level)
        if fast > 1.0 - MIN_SAVING:
            return blob
        if level is None:
            level = 6 if better is not None and better <= fast * (1.0 - LEVEL6_GAIN) else 1
        body = zlib.compress(blob, level)
    if len(ZLIB) + 8 + len(body) >= n:
        return blob
    return b"".join((ZLIB, pack_u64(n), body))


def _sample_ratio(blob: bytes, level: int) -> tuple[float, float | None]:
    """Compression ratios of four evenly spaced chunks (at most 16 KiB): at ``level``, and at
    level 6 when ``level`` is 1 and the sample compresses at all (else None)."""
    n = len(blob)
    chunk = max(1024, min(4096, n // 32))
    step = (n - chunk) // 3
    mv = memoryview(blob)
    parts = [mv[k * step : k * step + chunk] for k in range(4)]

    def ratio(at: int) -> float:
        comp = zlib.compressobj(at)
        out = sum(len(comp.compress(p)) for p in parts) + len(comp.flush())
        return out / (4 * chunk)

    fast = ratio(level)
    return fast, (ratio(6) if level == 1 and fast <= 1.0 - MIN_SAVING else None)


def decompress(mv: memoryview) -> bytes:
    """Inflate a ``ZL123`` blob, checking the declared size and the stream's integrity."""
    if len(mv) < 14:
        raise BlobError(
            f"truncated compressed blob: {len(mv)} bytes, the header alone needs 14 (ZL123 tag + uint64 size)"
        )
    (size,) = U64.unpack_from(mv, 6)
    if size > MAX_DECLARED:
        raise BlobError(f"corrupt compressed blob: implausible uncompressed size {size} at byte 6")
    if size > config.blob_limit:
        raise BlobError(
            f"compressed blob declares {size:,} bytes uncompressed at byte 6, more than "
            f"tj.config.blob_limit ({config.blob_limit:,}); not inflated (raise the limit to read it)"
        )
    inflater = zlib.decompressobj()
    try:
        out = inflater.decompress(mv[14:], size + 1)
    except zlib.error as exc:
        raise BlobError(f"corrupt zlib stream starting at byte 14: {exc}") from exc
    if len(out) > size:
        raise BlobError(f"corrupt compressed blob: inflates to more than the {size} bytes declared at byte 6")
    if not inflater.eof:
        raise BlobError(
            f"truncated compressed blob: the zlib stream starting at byte 14 ends early "
            f"({len(out)} of {size} bytes recovered)"
        )
    if inflater.unused_data:
        extra = len(inflater.unused_data)
        raise BlobError(
            f"corrupt compressed blob: {extra} trailing bytes after the zlib stream at byte {len(mv) - extra}"
        )
    if len(out) != size:
        raise BlobError(f"corrupt compressed blob: inflates to {len(out)} bytes, {size} declared at byte 6")
    return out


