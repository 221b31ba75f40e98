"""Pictures of stored values, drawn on the server: 1-D arrays as SVG line plots, 2-D as PNG.

Both are built from numbers only (no text from the database enters the SVG), so they
can be served as images without escaping concerns.
"""

from __future__ import annotations

import struct
import zlib
from typing import Any

import numpy as np

MAX_POINTS = 2000
MIN_SIDE = 240


def summary(value: Any) -> str:
    """One line describing any stored value."""
    if value is None:
        return "NULL"
    if isinstance(value, np.ndarray):
        return f"array {value.dtype} {'x'.join(map(str, value.shape)) or 'scalar'}"
    if isinstance(value, bytes | bytearray):
        return f"{len(value)} bytes"
    if isinstance(value, dict | list | tuple):
        return f"{type(value).__name__} of {len(value)}"
    text = str(value)
    return text if len(text) <= 80 else text[:77] + "..."


def picture(value: Any) -> tuple[str, bytes] | None:
    """``(media type, bytes)`` of a picture of ``value``, or None when it has none."""
    if not isinstance(value, np.ndarray) or value.dtype.kind not in "biuf" or value.size < 2:
        return None
    array = np.squeeze(value)
    if array.ndim == 1:
        return "image/svg+xml", line_plot(array).encode()
    if array.ndim == 2:
        return "image/png", grey_png(array)
    return None


def line_plot(values: np.ndarray, width: int = 480, height: int = 160) -> str:
    y = values.astype(float)
    if y.size > MAX_POINTS:  # min/max per bucket keeps peaks visible
        buckets = np.array_split(y, MAX_POINTS // 2)
        y = np.array([v for b in buckets for v in (b.min(), b.max())])
    finite = np.isfinite(y)
    lo, hi = (float(y[finite].min()), float(y[finite].max())) if finite.any() else (0.0, 1.0)
    span = hi - lo or 1.0
    pad = 8
    xs = np.linspace(pad, width - pad, y.size)
    ys = height - pad - (np.where(finite, y, lo) - lo) / span * (height - 2 * pad)
    points = " ".join(f"{x:.1f},{v:.1f}" for x, v in zip(xs, ys, strict=True))
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}"><rect width="100%" height="100%" fill="#fff" stroke="#ccc"/>'
        f'<polyline fill="none" stroke="#1f5fa8" stroke-width="1.2" points="{points}"/>'
        f'<text x="{pad}" y="{pad + 8}" font-size="10" fill="#555">{hi:.4g}</text>'
        f'<text x="{pad}" y="{height - pad - 2}" font-size="10" fill="#555">{lo:.4g}</text></svg>'
    )


def grey_png(values: np.ndarray, max_side: int = 512) -> bytes:
    """A greyscale PNG of a 2-D array, scaled to its range, resized (nearest neighbour) to 240-512 pixels."""
    a = values.astype(float)
    step = max(1, int(np.ceil(max(a.shape) / max_side)))
    a = a[::step, ::step]
    finite = np.isfinite(a)
    lo, hi = (float(a[finite].min()), float(a[finite].max())) if finite.any() else (0.0, 1.0)
    scaled = np.where(finite, (a - lo) / ((hi - lo) or 1.0) * 255, 0).astype(np.uint8)
    zoom = max(1, MIN_SIDE // max(scaled.shape))  # small images are enlarged, pixels kept square
    scaled = np.repeat(np.repeat(scaled, zoom, axis=0), zoom, axis=1)
    height, width = scaled.shape
    raw = b"".join(b"\x00" + scaled[r].tobytes() for r in range(height))

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(raw))
        + chunk(b"IEND", b"")
    )
