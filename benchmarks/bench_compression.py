"""Blob compression levels: pack time, stored size, unpack time, and what a table scan costs.

Run: ``python3 benchmarks/bench_compression.py [--rows 500]``.

Two kinds of 100x100 float64 arrays: *quantized* (values rounded to 0.01, like digitized
signals or images: compresses to ~30%) and *noisy* (full-precision noise: ~96%, stored raw).
Part 1 packs them in memory at each setting (``auto``, the default; fixed levels 1, 6, 9;
0 = raw) and reports client CPU per MB and the size. Part 2 inserts the quantized rows into
MariaDB with typedj at ``auto`` and at level 1 (the previous fixed choice) and with
datajoint-python (level 6), then reports insert time, the bytes stored (sum of the blobs'
lengths), the table's size on the server (``data_length`` after ``ANALYZE TABLE``: InnoDB
keeps long blobs in whole 16 KiB pages) and a full scan: the raw driver reading every
blob (the floor), and each client fetching and decoding them.
"""

from __future__ import annotations

import argparse
import time
import warnings
from typing import Any

import numpy as np
from _common import bench_server, datajoint_connection, fresh_name

import typedj as tj
from typedj import Blob, Key, Manual
from typedj.codecs.blob import pack, unpack


def data(kind: str, rows: int) -> list[np.ndarray]:
    rng = np.random.default_rng(7)
    if kind == "quantized":
        return [np.round(rng.normal(size=(100, 100)), 2) for _ in range(rows)]
    return [rng.normal(size=(100, 100)) for _ in range(rows)]


def cpu(fn: Any) -> tuple[float, Any]:
    c0 = time.process_time()
    out = fn()
    return time.process_time() - c0, out


def part1(rows: int) -> None:
    print(f"\npart 1: pack/unpack in memory, {rows} arrays of 100x100 float64 per kind "
          "(client CPU; MB = uncompressed MB)")
    print(f"{'data':<10} {'setting':<8} {'size MB':>8} {'ratio':>6} {'pack ms/MB':>11} {'unpack ms/MB':>13}")
    for kind in ("quantized", "noisy"):
        arrays = data(kind, rows)
        raw_mb = sum(len(pack(a, compress=False)) for a in arrays) / 1e6
        for setting in ("auto", 1, 6, 9, 0):
            t_pack, blobs = cpu(lambda s=setting: [pack(a, compress=s) for a in arrays])
            t_unpack, _ = cpu(lambda b=blobs: [unpack(x) for x in b])
            size = sum(len(b) for b in blobs) / 1e6
            print(f"{kind:<10} {setting!s:<8} {size:8.1f} {size / raw_mb:6.3f} {t_pack * 1000 / raw_mb:11.2f} "
                  f"{t_unpack * 1000 / raw_mb:13.2f}")


def part2(rows: int) -> None:
    arrays = data("quantized", rows)
    with bench_server() as url:
        conn = tj.connect(url)
        name = fresh_name("bench_compress")
        dj_name = name + "_dj"
        schema = tj.Schema(name, connection=conn)

        @schema
        class Auto(Manual):
            image_id: Key[int]
            pixels: Blob[np.ndarray]

        @schema
        class Level1(Manual):
            image_id: Key[int]
            pixels: Blob[np.ndarray]

        results = []
        try:
            for table, setting in ((Auto, "auto"), (Level1, 1)):
                tj.config.blob_compression = setting
                t0 = time.perf_counter()
                c, _ = cpu(lambda t=table: t.insert([{"image_id": i, "pixels": a} for i, a in enumerate(arrays)]))
                results.append((f"typedj, {setting}", name, table._def.name, time.perf_counter() - t0, c,
                                lambda t=table: t.fetch("pixels")))
            tj.config.blob_compression = "auto"
            dj_conn = datajoint_connection(url)
            if dj_conn is not None:
                import datajoint as dj

                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    dj_schema = dj.Schema(dj_name, connection=dj_conn)

                    @dj_schema
                    class Image(dj.Manual):
                        definition = """
                        image_id : int64
                        ---
                        pixels : <blob>
                        """

                    t0 = time.perf_counter()
                    c, _ = cpu(lambda: Image.insert([{"image_id": i, "pixels": a} for i, a in enumerate(arrays)]))
                    results.append(("datajoint (level 6)", dj_name, "image", time.perf_counter() - t0, c,
                                    lambda: Image.to_arrays("pixels")))
            print(f"\npart 2: {rows} quantized 100x100 arrays in MariaDB ({rows * 80 / 1000:.0f} MB uncompressed)")
            print(f"{'client':<22} {'insert s':>8} {'cpu s':>6} {'blobs MB':>9} {'table MB':>9} {'raw scan ms':>12} "
                  f"{'fetch ms':>9} {'fetch cpu ms':>13}")
            for label, db, table_name, wall, c, fetch in results:
                conn.query(f"ANALYZE TABLE `{db}`.`{table_name}`").fetchall()
                size = conn.query(
                    "SELECT data_length FROM information_schema.tables WHERE table_schema = %s AND table_name = %s",
                    (db, table_name),
                ).fetchone()[0]
                blobs = conn.query(f"SELECT SUM(LENGTH(pixels)) FROM `{db}`.`{table_name}`").fetchone()[0]
                scans = []
                for _ in range(3):
                    t0 = time.perf_counter()
                    conn.query(f"SELECT pixels FROM `{db}`.`{table_name}`").fetchall()
                    scans.append(time.perf_counter() - t0)
                fetches = []
                for _ in range(2):
                    t0 = time.perf_counter()
                    fc, _ = cpu(fetch)
                    fetches.append((time.perf_counter() - t0, fc))
                best = min(fetches)
                print(f"{label:<22} {wall:8.2f} {c:6.2f} {int(blobs) / 1e6:9.1f} {size / 1e6:9.1f} "
                      f"{min(scans) * 1000:12.0f} "
                      f"{best[0] * 1000:9.0f} {best[1] * 1000:13.0f}")
        finally:
            for db in (name, dj_name):
                conn.query(f"DROP DATABASE IF EXISTS `{db}`")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=500)
    parser.add_argument("--no-server", action="store_true", help="only the in-memory part")
    args = parser.parse_args()
    part1(min(args.rows, 200))
    if not args.no_server:
        part2(args.rows)


if __name__ == "__main__":
    main()
