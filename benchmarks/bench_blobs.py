"""Blobs in tables and in a store: 200 rows of 100x100 float64 arrays, typedj vs datajoint-python.

Run: ``python3 benchmarks/bench_blobs.py [--rows N] [--repeats N]``. Two data sets: random
(incompressible, like noisy recordings) and smooth (compressible, like images). For each:
insert and fetch with in-table ``<blob>`` columns, and with ``<blob@store>`` in a file
store (typedj with its default BLAKE3 addressing, and with ``hash: md5`` as the reference
writes). The store is emptied (untimed) before every insert, so every insert uploads.

datajoint-python 2.3.5 cannot insert into ``<blob@store>`` on MariaDB (it hands pymysql the
JSON reference as a dict); its store column is therefore "-" for inserts, and its store
fetch reads the rows typedj wrote to the MD5 store (which it can read). Targets (issue 4):
in-table insert at least 2x faster than the reference, fetch no slower.

With fsspec installed, the same blobs go to stores on fsspec filesystems too (``file://``
beside the native file store, and ``memory://``). With moto installed, an S3 store is
measured too (moto's server in its own process on loopback): insert, a cold fetch (local
cache emptied first) and a warm one (from the cache), beside one-request-per-row serial
downloads (what the reference does) as a floor.
"""

from __future__ import annotations

import argparse
import contextlib
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import warnings
from collections.abc import Iterator
from importlib.util import find_spec
from pathlib import Path
from typing import Any

import numpy as np
from _common import Case, bench_server, datajoint_connection, fresh_name, interleaved, print_table

import typedj as tj
from typedj import Blob, External, Key, Manual


def make_arrays(kind: str, n: int) -> list[np.ndarray]:
    rng = np.random.default_rng(0)
    if kind == "random":
        return [rng.standard_normal((100, 100)) for _ in range(n)]
    x = np.linspace(0, 4 * np.pi, 100)
    return [np.round(np.outer(np.sin(x + i / 10), np.cos(x)) * 1000) / 1000 for i in range(n)]


def declare_typedj(conn: tj.Connection, name: str) -> tuple[Any, Any, Any]:
    schema = tj.Schema(name, connection=conn)

    @schema
    class InTable(Manual):
        frame_id: Key[int]
        frame: Blob[np.ndarray]

    @schema
    class Stored(Manual):
        frame_id: Key[int]
        frame: Blob[np.ndarray] = External("bench")

    @schema
    class StoredMd5(Manual):
        frame_id: Key[int]
        frame: Blob[np.ndarray] = External("bench_md5")

    return InTable, Stored, StoredMd5


def declare_datajoint(dj_conn: Any, name: str, tj_name: str) -> tuple[Any, Any]:
    import datajoint as dj

    schema = dj.Schema(name, connection=dj_conn)

    @schema
    class InTable(dj.Manual):
        definition = """
        frame_id : int32
        ---
        frame : <blob>
        """

    # the table typedj fills in its MD5 store, opened by the reference
    theirs = dj.Schema(tj_name, connection=dj_conn)

    @theirs
    class StoredMd5(dj.Manual):
        definition = """
        frame_id : int32
        ---
        frame : <blob@bench_md5>
        """

    return InTable, StoredMd5


@contextlib.contextmanager
def moto_endpoint() -> Iterator[str | None]:
    """An S3 server (moto) in a subprocess on a free loopback port, or None without moto."""
    try:
        import moto.server  # noqa: F401
    except ImportError:
        yield None
        return
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    proc = subprocess.Popen([sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _ in range(100):
            with socket.socket() as sock:
                if sock.connect_ex(("127.0.0.1", port)) == 0:
                    break
            time.sleep(0.1)
        yield f"127.0.0.1:{port}"
    finally:
        proc.terminate()
        proc.wait()


def measure_s3(conn: tj.Connection, name: str, endpoint: str, rows: list[dict[str, Any]], kind: str,
               cache: Path, repeats: int) -> list[Case]:
    import boto3

    from typedj.codecs.blob import unpack
    from typedj.stores.store import get_store

    boto3.client("s3", endpoint_url=f"http://{endpoint}", aws_access_key_id="k", aws_secret_access_key="s",
                 region_name="us-east-1").create_bucket(Bucket=f"bench-{kind}")
    tj.config.stores["bench_s3"] = {"protocol": "s3", "endpoint": endpoint, "bucket": f"bench-{kind}",
                                    "location": "lab", "access_key": "k", "secret_key": "s", "secure": False}
    tj.config.cache_folder = str(cache)
    schema = tj.Schema(name, connection=conn)

    @schema
    class InS3(Manual):
        frame_id: Key[int]
        frame: Blob[np.ndarray] = External("bench_s3")

    store = get_store("bench_s3")

    def empty() -> None:
        conn.query(f"DELETE FROM {conn.dialect.table(name, 'in_s3')}")
        store.backend.delete([o.path for o in store.backend.listing("_hash")])

    def cold() -> None:
        shutil.rmtree(cache, ignore_errors=True)

    def serial() -> list[Any]:
        import json

        sql = f"SELECT frame FROM {conn.dialect.table(name, 'in_s3')}"
        texts = [r[0] for r in conn.query(sql).fetchall()]
        return [unpack(store.backend.get(json.loads(t)["path"])) for t in texts]

    insert = interleaved({"s3": (lambda: InS3.insert(rows), empty)}, repeats=repeats)
    read = interleaved({"cold": (lambda: InS3.fetch("frame"), cold),
                        "warm": (lambda: InS3.fetch("frame"), None),
                        "serial": (serial, None)}, repeats=repeats)
    n = len(rows)
    return [
        Case(f"{kind}: insert {n}, S3 (moto)", insert["s3"]),
        Case(f"{kind}: fetch {n}, S3, cold cache", read["cold"],
             extra={"serial, 1 request/row": read["serial"]}),
        Case(f"{kind}: fetch {n}, S3, warm cache", read["warm"]),
    ]


def measure_fsspec(conn: tj.Connection, name: str, rows: list[dict[str, Any]], kind: str, folder: Path,
                   repeats: int) -> list[Case]:
    """The same blobs in stores on fsspec filesystems: local files through ``file://`` (to set
    beside the native file store) and fsspec's in-memory filesystem (no disk: the overhead)."""
    import fsspec

    from typedj.stores.store import get_store

    urls = {"fsspec file://": (folder / f"fsspec-{kind}").as_uri(), "fsspec memory://": f"memory://bench-{kind}"}
    schema = tj.Schema(name, connection=conn)
    tables: dict[str, Any] = {}
    for i, (label, url) in enumerate(urls.items()):
        tj.config.stores[f"bench_fs{i}"] = {"protocol": "fsspec", "location": url, "cache": False}

        class InFs(Manual):
            frame_id: Key[int]
            frame: Blob[np.ndarray] = External(f"bench_fs{i}")

        InFs.__name__ = InFs.__qualname__ = f"InFs{i}"
        tables[label] = schema(InFs)

    def empty(label: str, index: int) -> None:
        conn.query(f"DELETE FROM {conn.dialect.table(name, f'in_fs{index}')}")
        backend = get_store(f"bench_fs{index}").backend
        backend.delete([o.path for o in backend.listing("_hash")])

    inserts = {label: (lambda t=t: t.insert(rows), lambda label=label, i=i: empty(label, i))
               for i, (label, t) in enumerate(tables.items())}
    insert = interleaved(inserts, repeats=repeats)
    for t in tables.values():
        fetched = t.fetch("frame", order_by="frame_id")
        assert all(np.array_equal(a, r["frame"]) for a, r in zip(fetched, rows, strict=True))
    read = interleaved({label: (lambda t=t: t.fetch("frame"), None) for label, t in tables.items()},
                       repeats=repeats)
    fsspec.filesystem("memory").rm(f"/bench-{kind}", recursive=True)
    n = len(rows)
    return [case for label in tables for case in (Case(f"{kind}: insert {n}, {label}", insert[label]),
                                                   Case(f"{kind}: fetch {n}, {label}", read[label]))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=200)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="typedj-bench-store-"))
    tj.config.stores["bench"] = {"protocol": "file", "location": str(folder / "blake3")}
    tj.config.stores["bench_md5"] = {"protocol": "file", "location": str(folder / "md5"), "hash": "md5"}
    cases: list[Case] = []
    with bench_server() as url, moto_endpoint() as s3:
        conn = tj.connect(url)
        dj_conn = datajoint_connection(url)
        if dj_conn is not None:
            import datajoint as dj

            dj.config.stores = {"bench_md5": {"protocol": "file", "location": str(folder / "md5")}}
        tj_name, dj_name = fresh_name("bench_blobs_tj"), fresh_name("bench_blobs_dj")
        try:
            InTable, Stored, StoredMd5 = declare_typedj(conn, tj_name)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                DjInTable, DjStoredMd5 = (declare_datajoint(dj_conn, dj_name, tj_name) if dj_conn
                                          else (None, None))
                for kind in ("random", "smooth"):
                    arrays = make_arrays(kind, args.rows)
                    rows = [{"frame_id": i, "frame": a} for i, a in enumerate(arrays)]
                    cases += measure(conn, kind, rows, tj_name, dj_name, folder, args.repeats,
                                     InTable, Stored, StoredMd5, DjInTable, DjStoredMd5)
                    if find_spec("fsspec") is not None:
                        cases += measure_fsspec(conn, f"{tj_name}_fs_{kind}", rows, kind, folder,
                                                args.repeats)
                    if s3 is not None:
                        cases += measure_s3(conn, f"{tj_name}_{kind}", s3, rows, kind, folder / "cache",
                                            args.repeats)
        finally:
            for name in (tj_name, dj_name, f"{tj_name}_random", f"{tj_name}_smooth", f"{tj_name}_fs_random",
                         f"{tj_name}_fs_smooth"):
                conn.query(f"DROP DATABASE IF EXISTS {conn.dialect.quote(name)}")
            shutil.rmtree(folder, ignore_errors=True)
    print_table(f"bench_blobs: {args.rows} rows of 100x100 float64 (80 kB each), "
                f"best of {args.repeats} interleaved rounds; store = file store on local disk", cases)
    print("store inserts: datajoint-python 2.3.5 fails on MariaDB (TypeError: dict can not be used "
          "as parameter), so there is no reference figure")


def measure(conn: tj.Connection, kind: str, rows: list[dict[str, Any]], tj_name: str, dj_name: str,
            folder: Path, repeats: int, InTable: Any, Stored: Any, StoredMd5: Any,
            DjInTable: Any, DjStoredMd5: Any) -> list[Case]:
    def empty(schema: str, table: str, store: str | None = None) -> None:
        conn.query(f"DELETE FROM {conn.dialect.table(schema, table)}")
        if store:
            shutil.rmtree(folder / store, ignore_errors=True)

    inserts: dict[str, Any] = {
        "typedj in-table": (lambda: InTable.insert(rows), lambda: empty(tj_name, "in_table")),
        "typedj store": (lambda: Stored.insert(rows), lambda: empty(tj_name, "stored", "blake3")),
        "typedj store md5": (lambda: StoredMd5.insert(rows), lambda: empty(tj_name, "stored_md5", "md5")),
    }
    if DjInTable is not None:
        inserts["datajoint in-table"] = (lambda: DjInTable.insert(rows), lambda: empty(dj_name, "in_table"))
    insert = interleaved(inserts, repeats=repeats)
    for table in (InTable, Stored, StoredMd5):
        fetched = table.fetch("frame", order_by="frame_id")
        assert all(np.array_equal(a, r["frame"]) for a, r in zip(fetched, rows, strict=True))
    reads: dict[str, Any] = {
        "typedj in-table": (lambda: InTable.fetch("frame"), None),
        "typedj store": (lambda: Stored.fetch("frame"), None),
        "typedj store md5": (lambda: StoredMd5.fetch("frame"), None),
    }
    if DjInTable is not None:
        reads["datajoint in-table"] = (lambda: DjInTable.to_arrays("frame"), None)
        reads["datajoint store md5"] = (lambda: DjStoredMd5.to_arrays("frame"), None)
        fetched = DjStoredMd5.to_arrays("frame", order_by="frame_id")
        assert all(np.array_equal(a, r["frame"]) for a, r in zip(fetched, rows, strict=True))
    read = interleaved(reads, repeats=repeats)
    n = len(rows)
    return [
        Case(f"{kind}: insert {n}, in-table", insert["typedj in-table"], insert.get("datajoint in-table")),
        Case(f"{kind}: fetch {n}, in-table", read["typedj in-table"], read.get("datajoint in-table")),
        Case(f"{kind}: insert {n}, store (blake3)", insert["typedj store"]),
        Case(f"{kind}: insert {n}, store (md5)", insert["typedj store md5"]),
        Case(f"{kind}: fetch {n}, store (blake3)", read["typedj store"]),
        Case(f"{kind}: fetch {n}, store (md5)", read["typedj store md5"], read.get("datajoint store md5")),
    ]


if __name__ == "__main__":
    main()
