"""PostgreSQL: insert, fetch, populate and blobs, typedj vs datajoint-python vs raw psycopg.

Run: ``python3 benchmarks/bench_postgres.py [--rows N] [--keys N] [--blobs N] [--repeats N]``
(``TYPEDJ_BENCH_POSTGRES_URL=postgresql://user:pass@host:port/db`` to use a running server;
otherwise a throwaway cluster is started, see ``_postgres.py``). All three clients talk to
the one server in the same run, interleaved round by round:

- insert: ``--rows`` narrow rows (int32 key, float64, varchar(64)) in one call into an
  emptied table; floors: psycopg ``executemany`` in one transaction, and ``COPY``;
- fetch: those rows as dicts; floor: psycopg ``fetchall()`` of tuples;
- populate: ``--keys`` keys with a trivial ``make()``, with and without ``reserve_jobs``;
  floor: one transaction with one INSERT per key;
- blobs: ``--blobs`` rows of a 100x100 float64 array in an in-table ``<blob>`` (bytea),
  insert and fetch; floors: the same bytes, packed beforehand, written with
  ``executemany`` / read with ``fetchall()``.

Targets (issue 16, as on MariaDB): within 1.2x of the floor, ahead of datajoint-python.
A contender that is missing (datajoint-python or psycopg2 not installed, typedj without
its PostgreSQL backend) shows as "-".
"""

from __future__ import annotations

import argparse
import random
import sys
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import Case, Timing, fresh_name, interleaved, print_table
from _postgres import datajoint_postgres, postgres_server, psycopg_connection, typedj_postgres

import typedj as tj
from typedj import Attr, Blob, Computed, Key, Manual, Ref

Runs = dict[str, tuple[Callable[[], object], Callable[[], object] | None]]


def make_rows(n: int) -> list[dict[str, Any]]:
    rng = random.Random(0)
    return [{"reading_id": i, "value": rng.random() * 100, "label": f"label-{rng.randrange(10**6):06d}"}
            for i in range(n)]


def make_arrays(n: int) -> list[np.ndarray]:
    rng = np.random.default_rng(1)
    return [rng.standard_normal((100, 100)) for _ in range(n)]


# -- the tables, in each client ------------------------------------------------------------


def typedj_tables(conn: tj.Connection, name: str, keys: int) -> dict[str, Any]:
    schema = tj.Schema(name, connection=conn)

    @schema
    class Reading(Manual):
        reading_id: Key[int]
        value: float
        label: str = Attr(max_length=64)

    @schema
    class Source(Manual):
        source_id: Key[int]

    @schema
    class Result(Computed):
        source: Key[Ref[Source]]
        value: float

        def make(self, key: dict[str, Any]) -> None:
            self.insert1({**key, "value": 1.0})

    @schema
    class Image(Manual):
        image_id: Key[int]
        pixels: Blob[np.ndarray]

    Source.insert([(i,) for i in range(keys)])
    return {"reading": Reading, "result": Result, "image": Image}


def datajoint_tables(dj_conn: Any, name: str, keys: int) -> dict[str, Any]:
    import datajoint as dj

    schema = dj.Schema(name, connection=dj_conn)

    @schema
    class Reading(dj.Manual):
        definition = """
        reading_id : int32
        ---
        value : float64
        label : varchar(64)
        """

    @schema
    class Source(dj.Manual):
        definition = """
        source_id : int32
        """

    @schema
    class Result(dj.Computed):
        definition = """
        -> Source
        ---
        value : float64
        """

        def make(self, key: dict[str, Any]) -> None:
            self.insert1({**key, "value": 1.0})

    @schema
    class Image(dj.Manual):
        definition = """
        image_id : int32
        ---
        pixels : <blob>
        """

    Source.insert([(i,) for i in range(keys)])
    return {"reading": Reading, "result": Result, "image": Image}


FLOOR_DDL = [
    'CREATE TABLE {s}.reading (reading_id integer PRIMARY KEY, value double precision NOT NULL, '
    "label varchar(64) NOT NULL)",
    "CREATE TABLE {s}.result (source_id integer PRIMARY KEY, value double precision NOT NULL)",
    "CREATE TABLE {s}.image (image_id integer PRIMARY KEY, pixels bytea NOT NULL)",
]


# -- the cases -----------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument("--keys", type=int, default=300)
    parser.add_argument("--blobs", type=int, default=100)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    rows = make_rows(args.rows)
    tuples = [(r["reading_id"], r["value"], r["label"]) for r in rows]
    arrays = make_arrays(args.blobs)
    packed = [(i, tj_pack(a)) for i, a in enumerate(arrays)]
    with postgres_server() as url:
        raw = psycopg_connection(url)
        conn = typedj_postgres(url)
        dj_conn = datajoint_postgres(url)
        names = {"typedj": fresh_name("bench_pg_tj"), "datajoint": fresh_name("bench_pg_dj"),
                 "floor": fresh_name("bench_pg_floor")}
        try:
            raw.execute(f'CREATE SCHEMA "{names["floor"]}"')
            for ddl in FLOOR_DDL:
                raw.execute(ddl.format(s=f'"{names["floor"]}"'))
            if conn is not None:
                tj.config.database_url = url
            ours = typedj_tables(conn, names["typedj"], args.keys) if conn is not None else None
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                theirs = None if dj_conn is None else datajoint_tables(dj_conn, names["datajoint"], args.keys)
                cases = run_all(raw, names, ours, theirs, rows, tuples, arrays, packed, args)
        finally:
            for name in names.values():
                raw.execute(f'DROP SCHEMA IF EXISTS "{name}" CASCADE')
    for title, table in cases:
        print_table(title, table)


def run_all(raw: Any, names: dict[str, str], ours: dict[str, Any] | None, theirs: dict[str, Any] | None,
            rows: list[dict[str, Any]], tuples: list[tuple[Any, ...]], arrays: list[np.ndarray],
            packed: list[tuple[int, bytes]], args: argparse.Namespace) -> list[tuple[str, list[Case]]]:
    floor = f'"{names["floor"]}"'
    repeats = args.repeats

    def empty(schema: str, *tables: str) -> Callable[[], None]:
        def run() -> None:
            for table in tables:
                if raw.execute("SELECT to_regclass(%s)", (f'"{schema}"."{table}"',)).fetchone()[0]:
                    raw.execute(f'TRUNCATE "{schema}"."{table}"')
        return run

    def in_transaction(sql: str, params: list[tuple[Any, ...]]) -> Callable[[], None]:
        def run() -> None:
            with raw.transaction(), raw.cursor() as cur:
                cur.executemany(sql, params)
        return run

    def copy_rows() -> None:
        with raw.transaction(), raw.cursor() as cur, cur.copy(
                f"COPY {floor}.reading (reading_id, value, label) FROM STDIN") as copy:
            for t in tuples:
                copy.write_row(t)

    def fetch_tuples(table: str) -> Callable[[], object]:
        return lambda: raw.execute(f"SELECT * FROM {floor}.{table}").fetchall()

    # insert
    runs: Runs = {
        "psycopg executemany": (in_transaction(f"INSERT INTO {floor}.reading VALUES (%s, %s, %s)", tuples),
                                empty(names["floor"], "reading")),
        "psycopg COPY": (copy_rows, empty(names["floor"], "reading")),
    }
    if ours:
        runs["typedj"] = (lambda: ours["reading"].insert(rows), empty(names["typedj"], "reading"))
    if theirs:
        runs["datajoint"] = (lambda: theirs["reading"].insert(rows), empty(names["datajoint"], "reading"))
    insert = interleaved(runs, repeats=repeats)

    # fetch (every timed insert left its table full)
    runs = {"psycopg fetchall": (fetch_tuples("reading"), None)}
    if ours:
        assert ours["reading"].to_dicts(order_by="KEY") == rows
        runs["typedj"] = (ours["reading"].to_dicts, None)
    if theirs:
        runs["datajoint"] = (theirs["reading"].to_dicts, None)
    fetch = interleaved(runs, repeats=repeats)

    # populate
    keys = [(k, 1.0) for k in range(args.keys)]
    populate: dict[str, dict[str, Timing]] = {}
    for reserve in (False, True):
        runs = {"floor": (in_transaction(f"INSERT INTO {floor}.result VALUES (%s, %s)", keys),
                          empty(names["floor"], "result"))}
        if ours:
            runs["typedj"] = (lambda r=reserve: ours["result"].populate(reserve_jobs=r),
                              empty(names["typedj"], "__result", "~~result"))
        if theirs:
            runs["datajoint"] = (lambda r=reserve: theirs["result"].populate(reserve_jobs=r),
                                 empty(names["datajoint"], "__result", "~~result"))
        populate[f"reserve_jobs={reserve}"] = interleaved(runs, repeats=max(2, repeats // 2))

    # blobs
    runs = {"psycopg executemany": (in_transaction(f"INSERT INTO {floor}.image VALUES (%s, %s)", packed),
                                    empty(names["floor"], "image"))}
    blob_rows = [{"image_id": i, "pixels": a} for i, a in enumerate(arrays)]
    if ours:
        runs["typedj"] = (lambda: ours["image"].insert(blob_rows), empty(names["typedj"], "image"))
    if theirs:
        runs["datajoint"] = (lambda: theirs["image"].insert(blob_rows), empty(names["datajoint"], "image"))
    blob_insert = interleaved(runs, repeats=repeats)
    runs = {"psycopg fetchall": (fetch_tuples("image"), None)}
    if ours:
        got = ours["image"].to_dicts(order_by="KEY")
        assert all(np.array_equal(g["pixels"], a) for g, a in zip(got, arrays, strict=True))
        runs["typedj"] = (ours["image"].to_dicts, None)
    if theirs:
        runs["datajoint"] = (theirs["image"].to_dicts, None)
    blob_fetch = interleaved(runs, repeats=repeats)

    def case(name: str, timings: dict[str, Timing], *floors: str) -> Case:
        typedj = timings.get("typedj", Timing([float("nan")], [float("nan")]))
        return Case(name, typedj, timings.get("datajoint"), extra={f: timings[f] for f in floors})

    n, b = f"{args.rows:,}", f"{args.blobs:,}"
    return [
        (f"bench_postgres: {n} narrow rows, best of {repeats} interleaved rounds", [
            case(f"insert {n} rows", insert, "psycopg executemany", "psycopg COPY"),
            case(f"read {n} rows as dicts", fetch, "psycopg fetchall"),
        ]),
        (f"bench_postgres: populate {args.keys:,} keys, trivial make()", [
            case(f"populate, {mode}", timings, "floor") for mode, timings in populate.items()
        ]),
        (f"bench_postgres: {b} in-table blobs of 100x100 float64 (80 kB each)", [
            case(f"insert {b} blobs", blob_insert, "psycopg executemany"),
            case(f"fetch {b} blobs", blob_fetch, "psycopg fetchall"),
        ]),
    ]


def tj_pack(array: np.ndarray) -> bytes:
    """The blob bytes both clients store for ``array`` (typedj's packer, as the floor writes them)."""
    from typedj.codecs.blob import pack

    return pack(array)


if __name__ == "__main__":
    main()
