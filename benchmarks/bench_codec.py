"""Blob codec throughput: typedj's pack/unpack against datajoint-python's.

Run: ``python3 benchmarks/bench_codec.py [--quick]``. Throughput is the uncompressed blob
size divided by the best per-call time over interleaved rounds, so both libraries are measured
on the same byte count and the ratio is a plain speed ratio. Decoding is measured on each
library's own output (what a user writing and reading with one library sees); the last
column is typedj decoding the reference's bytes (compressed where the reference compressed).
"""

from __future__ import annotations

import argparse
import time
import warnings
from collections.abc import Callable
from functools import partial
from typing import Any

import numpy as np

from typedj.codecs.blob import MatCell, MatStruct, pack, unpack

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    import datajoint.blob as ref


def batch_size(fn: Callable[[], object], target: float) -> int:
    """Calls per timing batch so one batch lasts about ``target`` seconds."""
    fn()
    n = 1
    while True:
        t0 = time.perf_counter()
        for _ in range(n):
            fn()
        if time.perf_counter() - t0 >= target:
            return n
        n *= 2


def best_times(fns: list[Callable[[], object]], rounds: int, target: float) -> list[float]:
    """Best per-call seconds of each function, rounds interleaved so load spikes hit all alike."""
    sizes = [batch_size(fn, target) for fn in fns]
    best = [float("inf")] * len(fns)
    for _ in range(rounds):
        for i, (fn, n) in enumerate(zip(fns, sizes, strict=True)):
            t0 = time.perf_counter()
            for _ in range(n):
                fn()
            best[i] = min(best[i], (time.perf_counter() - t0) / n)
    return best


def to_ref(value: object) -> object:
    """typedj's MATLAB containers as datajoint-python's ndarray subclasses."""
    if isinstance(value, MatStruct):
        rec = np.empty(value.shape, dtype=[(f, object) for f in value.fields])
        for f in value.fields:
            column = value[f]
            for index in np.ndindex(value.shape):
                rec[f][index] = to_ref(column[index])
        return rec.view(ref.MatStruct)
    if isinstance(value, MatCell):
        cells = value.to_numpy()
        for index in np.ndindex(cells.shape):
            cells[index] = to_ref(cells[index])
        return cells.view(ref.MatCell)
    return value


def cases() -> dict[str, object]:
    rng = np.random.default_rng(0)
    nested = {
        f"key{i}": [i, float(i) / 3, f"s{i}", None, (True, i * 1000), {"x": i, "y": [1.5, 2.5]}]
        for i in range(200)
    }
    struct = MatStruct.from_dicts(
        [
            {
                "name": np.array([list("trial")], dtype="S1"),
                "t": np.array([[float(i)]]),
                "spikes": rng.standard_normal((1, 50)),
                "tags": MatCell([np.array([[1.0]]), np.array([[2.0]])]),
            }
            for i in range(40)
        ]
    )
    return {
        "f8 100x100 random": rng.standard_normal((100, 100)),
        "f8 100x100 smooth": np.cumsum(rng.standard_normal((100, 100)), axis=0),
        "f8 1000x1000 random": rng.standard_normal((1000, 1000)),
        "i2 100x100 random": rng.integers(-32768, 32767, (100, 100)).astype(np.int16),
        "i2 1000x1000 ephys": np.cumsum(rng.integers(-3, 4, (1000, 1000)), axis=1)
        .clip(-32768, 32767)
        .astype(np.int16),
        "nested dict/list": nested,
        "struct 1x40": struct,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="shorter timing budget")
    parser.add_argument("--small", action="store_true", help="only the cases under 1 MB")
    args = parser.parse_args()
    rounds, target = (3, 0.02) if args.quick else (9, 0.05)

    header = (
        f"{'case':<22}{'MB':>7}{'zip t/r':>9} | {'enc typedj':>11}{'enc ref':>9}{'ratio':>7} | "
        f"{'dec typedj':>11}{'dec ref':>9}{'ratio':>7} | {'dec ref-blob':>13}{'ratio':>7}"
    )
    print("throughput in MB/s of uncompressed blob; ratio = typedj / datajoint-python")
    print(header)
    print("-" * len(header))
    ratios: list[tuple[float, float]] = []
    for name, value in cases().items():
        if args.small and "1000x1000" in name:
            continue
        ref_value = to_ref(value)
        ours = pack(value)
        theirs = ref.pack(ref_value)
        mb = len(pack(value, compress=False)) / 1e6
        zipped = ("Z" if ours.startswith(b"ZL123") else "-") + (
            "Z" if theirs.startswith(b"ZL123") else "-"
        )
        enc_t, enc_r, dec_t, dec_r, dec_x = best_times(
            [
                partial(pack, value),
                partial(ref.pack, ref_value),
                partial(unpack, ours),
                partial(ref.unpack, theirs),
                partial(unpack, theirs),
            ],
            rounds,
            target,
        )
        row: list[Any] = [mb / enc_t, mb / enc_r, enc_r / enc_t, mb / dec_t, mb / dec_r, dec_r / dec_t]
        ratios.append((enc_r / enc_t, dec_r / dec_t))
        print(
            f"{name:<22}{mb:>7.3f}{zipped:>9} | {row[0]:>11.0f}{row[1]:>9.0f}{row[2]:>6.1f}x | "
            f"{row[3]:>11.0f}{row[4]:>9.0f}{row[5]:>6.1f}x | {mb / dec_x:>13.0f}{dec_r / dec_x:>6.1f}x"
        )
    print("-" * len(header))
    enc = np.exp(np.mean(np.log([r[0] for r in ratios])))
    dec = np.exp(np.mean(np.log([r[1] for r in ratios])))
    print(f"geometric mean ratio: encode {enc:.1f}x, decode {dec:.1f}x")
    print("zip t/r: whether typedj (t) and datajoint-python (r) compressed the blob (Z) or not (-)")


if __name__ == "__main__":
    main()
