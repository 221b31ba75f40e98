"""Fetch 10,000 rows as dicts, arrays and a DataFrame, and run a join + restriction + aggregation.

Run: ``python3 benchmarks/bench_fetch.py [--rows N] [--repeats N]``. typedj and
datajoint-python read the same rows (int keys, date, decimal, float, varchar, enum,
bool, a nullable float) from identical table definitions on the same server. Raw
pymysql (``cursor.fetchall()`` of tuples, no conversion to a result format) is shown
as the floor. Targets (issue 3): ``to_dicts()`` at least 2x faster than
datajoint-python's, arrays and DataFrames no slower.
"""

from __future__ import annotations

import argparse
import random
import warnings
from datetime import date, timedelta
from decimal import Decimal
from typing import Any, Literal

from _common import Case, bench_server, datajoint_connection, fresh_name, print_table, timed

import typedj as tj
from typedj import Attr, Key, Manual, Ref

SUBJECTS = 200


def make_rows(n: int) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    rng = random.Random(3)
    subjects = [
        {
            "subject_id": s,
            "subject_name": f"subject-{s:04d}",
            "sex": rng.choice(["F", "M", "U"]),
            "birth": date(2020, 1, 1) + timedelta(days=rng.randrange(1500)),
        }
        for s in range(SUBJECTS)
    ]
    per_subject = max(1, n // SUBJECTS)
    trials = [
        {
            "subject_id": i // per_subject,
            "trial_id": i % per_subject,
            "trial_date": date(2024, 1, 1) + timedelta(days=rng.randrange(365)),
            "score": rng.random(),
            "weight": Decimal(f"{rng.uniform(10, 40):.2f}"),
            "label": f"label-{rng.randrange(10**6):06d}",
            "outcome": rng.choice(["hit", "miss", "abort"]),
            "rewarded": rng.random() < 0.5,
            "latency": None if rng.random() < 0.1 else rng.random(),
        }
        for i in range(per_subject * SUBJECTS)
    ]
    return subjects, trials


def declare_typedj(conn: tj.Connection, name: str) -> tuple[Any, Any]:
    schema = tj.Schema(name, connection=conn)

    @schema
    class Subject(Manual):
        """subjects"""

        subject_id: Key[tj.int32]
        subject_name: str = Attr(max_length=32)
        sex: Literal["F", "M", "U"]
        birth: date

    @schema
    class Trial(Manual):
        """trials"""

        subject: Key[Ref[Subject]]
        trial_id: Key[tj.int32]
        trial_date: date
        score: float
        weight: Decimal = Attr(precision=6, scale=2)
        label: str = Attr(max_length=32)
        outcome: Literal["hit", "miss", "abort"]
        rewarded: bool
        latency: float | None = None

    return Subject, Trial


def declare_datajoint(dj_conn: Any, name: str) -> tuple[Any, Any]:
    import datajoint as dj

    schema = dj.Schema(name, connection=dj_conn)

    @schema
    class Subject(dj.Manual):
        definition = """
        # subjects
        subject_id : int32
        ---
        subject_name : varchar(32)
        sex : enum('F','M','U')
        birth : date
        """

    @schema
    class Trial(dj.Manual):
        definition = """
        # trials
        -> Subject
        trial_id : int32
        ---
        trial_date : date
        score : float64
        weight : decimal(6,2)
        label : varchar(32)
        outcome : enum('hit','miss','abort')
        rewarded : bool
        latency = null : float64
        """

    return Subject, Trial


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args()
    subjects, trials = make_rows(args.rows)
    n = len(trials)
    with bench_server() as url:
        conn = tj.connect(url)
        tj_name, dj_name = fresh_name("bench_fetch_tj"), fresh_name("bench_fetch_dj")
        r = args.repeats
        try:
            Subject, Trial = declare_typedj(conn, tj_name)
            Subject.insert(subjects)
            Trial.insert(trials)
            assert Trial.to_dicts(order_by="KEY") == trials

            def tj_query() -> Any:
                return (
                    (Subject & "sex <> 'U'").aggr(
                        Trial & "score > 0.25", n="count(*)", mean="avg(score)", heavy="max(weight)"
                    )
                ).to_dicts()

            def tj_join() -> Any:
                return ((Subject * Trial) & "sex = 'F'" & {"outcome": "hit"}).to_dicts()

            dicts = Case(f"to_dicts(): {n:,} rows", timed(Trial.to_dicts, repeats=r))
            inst = Case(f"fetch(): {n:,} rows", timed(Trial.fetch, repeats=r))
            arrays = Case(f"to_arrays(): {n:,} rows", timed(Trial.to_arrays, repeats=r))
            frame = Case(f"to_pandas(): {n:,} rows", timed(Trial.to_pandas, repeats=r))
            column = Case("fetch('score', 'label')", timed(lambda: Trial.fetch("score", "label"), repeats=r))
            join = Case("join + restrict -> dicts", timed(tj_join, repeats=r))
            aggr = Case("restrict + aggr over join", timed(tj_query, repeats=r))

            sql = Trial._query().sql

            def raw() -> Any:
                cur = conn.query(sql)
                return cur.fetchall()

            dicts.extra["raw pymysql tuples"] = timed(raw, repeats=r)

            dj_conn = datajoint_connection(url)
            if dj_conn is not None:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    DjSubject, DjTrial = declare_datajoint(dj_conn, dj_name)
                    DjSubject.insert(subjects)
                    DjTrial.insert(trials)

                    def dj_query() -> Any:
                        return (
                            (DjSubject & "sex <> 'U'").aggr(
                                DjTrial & "score > 0.25", n="count(*)", mean="avg(score)", heavy="max(weight)"
                            )
                        ).to_dicts()

                    def dj_join() -> Any:
                        return ((DjSubject * DjTrial) & "sex = 'F'" & {"outcome": "hit"}).to_dicts()

                    # the join only: datajoint-python 2.3.5's aggr drops subjects without a
                    # matching trial despite exclude_nonmatching=False (at small sizes some have none)
                    assert len(dj_join()) == len(tj_join())
                    dicts.reference = timed(DjTrial.to_dicts, repeats=r)
                    inst.reference = timed(DjTrial.fetch, repeats=r)
                    arrays.reference = timed(DjTrial.to_arrays, repeats=r)
                    frame.reference = timed(DjTrial.to_pandas, repeats=r)
                    column.reference = timed(lambda: DjTrial.to_arrays("score", "label"), repeats=r)
                    join.reference = timed(dj_join, repeats=r)
                    aggr.reference = timed(dj_query, repeats=r)
        finally:
            for name in (tj_name, dj_name):
                conn.query(f"DROP DATABASE IF EXISTS {conn.dialect.quote(name)}")
    print_table(
        f"bench_fetch: {n:,} trials x 9 attributes ({SUBJECTS} subjects), best of {args.repeats}",
        [dicts, inst, arrays, frame, column, join, aggr],
    )


if __name__ == "__main__":
    main()
