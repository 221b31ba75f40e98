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

from _common import Case, bench_server, datajoint_connection, fresh_name, print_table, timed

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
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args()
    rows = make_rows(args.rows)
    with bench_server() as url:
        conn = tj.connect(url)
        tj_name, dj_name = fresh_name("bench_insert_tj"), fresh_name("bench_insert_dj")
        try:
            Reading = declare_typedj(conn, tj_name)
            table = conn.dialect.table(tj_name, "reading")

            def empty() -> None:
                conn.query(f"TRUNCATE TABLE {table}")

            insert = Case(
                f"insert {args.rows:,} rows",
                timed(lambda: Reading.insert(rows), repeats=args.repeats, setup=empty),
            )

            cols = ("reading_id", "value", "label")
            raw_sql = conn.dialect.insert(tj_name, "reading", cols)
            tuples = [tuple(r[c] for c in cols) for r in rows]

            def raw_insert() -> None:
                with conn.transaction():
                    conn.executemany(raw_sql, tuples)

            # every timed run leaves the table full: the reads below read those rows
            insert.extra["pymysql executemany"] = timed(raw_insert, repeats=args.repeats, setup=empty)
            read = Case(f"read {args.rows:,} rows (dicts)", timed(Reading.to_dicts, repeats=args.repeats))
            fetch = Case(f"read {args.rows:,} rows (instances)", timed(Reading.fetch, repeats=args.repeats))
            assert Reading.to_dicts(order_by="KEY") == rows

            dj_conn = datajoint_connection(url)
            if dj_conn is not None:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    DjReading = declare_datajoint(dj_conn, dj_name)
                    dj_table = f"`{dj_name}`.`reading`"

                    def dj_empty() -> None:
                        dj_conn.query(f"TRUNCATE TABLE {dj_table}")

                    insert.reference = timed(
                        lambda: DjReading.insert(rows), repeats=args.repeats, setup=dj_empty
                    )
                    read.reference = timed(DjReading.to_dicts, repeats=args.repeats)
                    fetch.reference = timed(DjReading.fetch, repeats=args.repeats)
        finally:
            for name in (tj_name, dj_name):
                conn.query(f"DROP DATABASE IF EXISTS {conn.dialect.quote(name)}")
    print_table(f"bench_insert: {args.rows:,} rows (int32 key, float64, varchar(64)), best of {args.repeats}",
                [insert, read, fetch])


if __name__ == "__main__":
    main()
