"""A seeded blob fuzzer: mutated blobs (bit flips, truncations, inflated length fields,
spliced bytes) either decode or raise ``BlobError``; nothing else escapes, and no
declared length makes the decoder allocate more than the data can hold."""

from __future__ import annotations

import random
import struct
import tracemalloc
from datetime import datetime
from uuid import UUID

import numpy as np

from typedj.codecs.blob import BlobError, pack, unpack

SEEDS = [
    np.arange(12, dtype=np.float64).reshape(3, 4),
    np.array([1 + 2j, 3 - 4j]),
    np.array([True, False]),
    np.zeros((2, 0, 3), dtype=np.int16),
    "text ü 😀",
    {"a": [1, 2.5, "x"], "b": {"c": None}},
    [np.arange(3, dtype=np.uint8), "y", 7, (1, 2)],
    b"\x00\x01\xff",
    datetime(2024, 1, 2, 3, 4, 5),
    UUID(int=12345),
    np.zeros(2000),  # compressed
]


def _mutants(blob: bytes, rng: random.Random, count: int) -> list[bytes]:
    out = []
    for _ in range(count):
        data = bytearray(blob)
        how = rng.randrange(5)
        if how == 0 and data:
            i = rng.randrange(len(data))
            data[i] ^= 1 << rng.randrange(8)
        elif how == 1:
            data = data[: rng.randrange(len(data) + 1)]
        elif how == 2 and len(data) >= 8:
            i = rng.randrange(len(data) - 7)
            data[i : i + 8] = struct.pack("<Q", rng.choice([2**63, 2**40, 2**32 - 1, 10**12]))
        elif how == 3:
            i = rng.randrange(len(data) + 1)
            data[i:i] = rng.randbytes(rng.randrange(1, 9))
        elif how == 4 and len(data) >= 4:
            i = rng.randrange(len(data) - 3)
            data[i : i + 4] = struct.pack("<I", rng.choice([0xFFFFFFFF, 2**31, 65536]))
        out.append(bytes(data))
    return out


def test_mutated_blobs_decode_or_raise_blob_error() -> None:
    rng = random.Random(20261201)
    escaped = []
    decoded = refused = 0
    tracemalloc.start()
    try:
        for value in SEEDS:
            blob = pack(value)
            assert type(unpack(blob)) is not None
            for mutant in _mutants(blob, rng, 150):
                try:
                    unpack(mutant)
                    decoded += 1
                except BlobError:
                    refused += 1
                except Exception as exc:
                    escaped.append(f"{type(exc).__name__}: {exc} <- {mutant[:40]!r}")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert escaped == []
    assert refused > 500 and decoded + refused == 150 * len(SEEDS)
    assert peak < 64 << 20  # no mutant made the decoder allocate what a length field claimed
