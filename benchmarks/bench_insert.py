"""Insert 10,000 narrow rows in one call and read them back: typedj vs datajoint-python.

Run: ``python3 benchmarks/bench_insert.py [--rows N] [--repeats N]``. Both clients write the
same rows (int key, float, varchar) into the same table definition on the same server; the
table is emptied (untimed) before every insert. Raw pymysql ``executemany`` is shown as the
floor. Targets (issue 2): typedj's insert at least 2x faster, its read no slower.
"""

from __future__ import annotations

import argparse
import random
import warnings
from typing import Any

from _common import Case, bench_server, datajoint_connection, fresh_name, interleaved, print_table

import typedj as tj
from typedj import Attr, Key, Manual


def make_rows(n: int) -> list[dict[str, Any]]:
    rng = random.Random(0)
    return [
        {"reading_id": i, "value": rng.random() * 100, "label": f"label-{rng.randrange(10**6):06d}"}
        for i in range(n)
    ]


def declare_typedj(conn: tj.Connection, name: str) -> type[Manual]:
    schema = tj.Schema(name, connection=conn)

    @schema
    class Reading(Manual):
        """narrow rows for the insert benchmark"""

        reading_id: Key[int]
        value: float
        label: str = Attr(max_length=64)

    return Reading


def declare_datajoint(dj_conn: Any, name: str) -> Any:
    import datajoint as dj

    schema = dj.Schema(name, connection=dj_conn)

    @schema
    class Reading(dj.Manual):
        definition = """
        # narrow rows for the insert benchmark
        reading_id : int32
        ---
        value : float64
        label : varchar(64)
        """

    return Reading


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument("--repeats", type=int, default=9)
    args = parser.parse_args()
    rows = make_rows(args.rows)
    cols = ("reading_id", "value", "label")
    tuples = [tuple(r[c] for c in cols) for r in rows]
    with bench_server() as url:
        conn = tj.connect(url)
        dj_conn = datajoint_connection(url)
        tj_name, dj_name = fresh_name("bench_insert_tj"), fresh_name("bench_insert_dj")
        try:
            Reading = declare_typedj(conn, tj_name)
            raw_sql = conn.dialect.insert(tj_name, "reading", cols)

            def empty(schema: str) -> None:
                conn.query(f"TRUNCATE TABLE {conn.dialect.table(schema, 'reading')}")

            def raw_insert() -> None:
                with conn.transaction():
                    conn.executemany(raw_sql, tuples)

            inserts: dict[str, Any] = {
                "typedj": (lambda: Reading.insert(rows), lambda: empty(tj_name)),
                "pymysql executemany": (raw_insert, lambda: empty(tj_name)),
            }
            reads: dict[str, Any] = {"typedj dicts": (Reading.to_dicts, None),
                                     "typedj instances": (Reading.fetch, None)}
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                if dj_conn is not None:
                    DjReading = declare_datajoint(dj_conn, dj_name)
                    inserts["datajoint"] = (lambda: DjReading.insert(rows), lambda: empty(dj_name))
                    reads["datajoint dicts"] = (DjReading.to_dicts, None)
                    reads["datajoint fetch"] = (DjReading.fetch, None)
                insert = interleaved(inserts, repeats=args.repeats)
                # every timed insert leaves its table full: the reads read those rows
                assert Reading.to_dicts(order_by="KEY") == rows
                read = interleaved(reads, repeats=args.repeats)
        finally:
            for name in (tj_name, dj_name):
                conn.query(f"DROP DATABASE IF EXISTS {conn.dialect.quote(name)}")
    n = f"{args.rows:,}"
    cases = [
        Case(f"insert {n} rows", insert["typedj"], insert.get("datajoint"),
             extra={"pymysql executemany": insert["pymysql executemany"]}),
        Case(f"read {n} rows as dicts", read["typedj dicts"], read.get("datajoint dicts")),
        Case(f"read {n} rows as instances / fetch()", read["typedj instances"], read.get("datajoint fetch")),
    ]
    print_table(f"bench_insert: {n} rows (int32 key, float64, varchar(64)), "
                f"best of {args.repeats} interleaved rounds", cases)


if __name__ == "__main__":
    main()
