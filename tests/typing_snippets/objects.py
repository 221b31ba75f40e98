"""Object and Npy attributes: values to insert wrapped as the attribute's type; lazy references fetched."""

from __future__ import annotations

from pathlib import Path

import numpy as np

import typedj as tj
from typedj import External, Key, Manual

schema = tj.Schema("snippets_objects")


@schema
class Scan(Manual):
    scan_id: Key[int]
    raw: tj.Object = External("raw")
    trace: tj.Npy = External("raw")


Scan.insert1(scan_id=1, raw=tj.ObjectRef.of(Path("scan.zarr")), trace=tj.NpyRef.of(np.zeros((3, 4))))
Scan.insert1(Scan(scan_id=2, raw=tj.ObjectRef.of((".bin", b"\x00")), trace=tj.NpyRef.of(np.ones(2))))
row = Scan.fetch1()
shape: tuple[int, ...] = row.trace.shape
data: bytes = row.raw.read()
first = row.trace.load(mmap_mode="r")[0]
copy = Scan(scan_id=3, raw=row.raw, trace=row.trace)
