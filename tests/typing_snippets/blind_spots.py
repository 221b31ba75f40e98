"""The plugin's checks of names in SQL text, Top(order_by=...), dict rows given to inserts,
and queries passed through parameters. Runtime twins: ``tests/test_sql_text.py``."""

# ruff: noqa: E501  (expected-error comments are long)
from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

import typedj as tj
from typedj import Computed, Key, Manual, Ref

from .pipeline import Session, Subject, schema

# names inside SQL text: restrictions, and computed attributes of proj and aggr
t_ok = Session & "session_date > '2024-01-01' AND session_id = 1"
t_bad = Session & "session_date > '2024-01-01' AND sesion_id = 1"  # E: typedj-attr Session has no attribute "sesion_id" (restriction text)
t_not = Subject - tj.Not("date_of_brth IS NULL")  # E: typedj-attr did you mean "date_of_birth"?
t_list = Subject & ["sex = 'F'", "spieces = 'rat'"]  # E: typedj-attr did you mean "species"?
t_subquery = Subject & "subject_id IN (SELECT subject_id FROM other.subject)"
t_functions = Session & "session_date > date_sub(curdate(), INTERVAL 1 YEAR)"
a_ok = Subject.aggr(Session, n="count(*)", last="max(session_date)")
a_bad = Subject.aggr(Session, last="max(sesion_date)")  # E: typedj-attr did you mean "session_date"?
p_ok = Session.proj(year="year(session_date)")
p_bad = Session.proj(later="date_add(sesion_date, INTERVAL 1 DAY)")  # E: typedj-attr did you mean "session_date"?

# Top(order_by=...)
top_ok = Subject & tj.Top(2, order_by="date_of_birth DESC")
top_bad = Subject & tj.Top(2, order_by="date_of_brth DESC")  # E: typedj-attr Subject has no attribute "date_of_brth" (Top(order_by=...))
top_positional = Subject & tj.Top(2, ["sexx", "KEY"])  # E: typedj-attr did you mean "sex"?

# dict rows given to insert1 and insert, in make too
Subject.insert1({"subject_id": 1, "species": "mouse"})
Subject.insert1({"subject_id": 1, "speces": "mouse"})  # E: typedj-attr Subject has no attribute "speces" (insert1)
Subject.insert1({"subject_id": "one", "species": "mouse"})  # E: typedj-value Subject.subject_id is "int"; the row gives
Subject.insert([{"subject_id": 2, "species": "rat"}, {"subject_id": 3, "specie": "rat"}])  # E: typedj-attr did you mean "species"?
Session.insert1({"subject": 1, "session_id": 1, "session_date": "2024-01-02"})


@schema
class Tally(Computed):
    session: Key[Ref[Session]]
    n_trials: int

    def make(self, key: dict[str, Any]) -> None:
        self.insert1({**key, "n_trials": 3})
        self.insert1({**key, "n_trial": 3})  # E: typedj-attr Tally has no attribute "n_trial" (insert1)


# a query passed through a parameter typed with its row type keeps its attributes
def females(q: tj.Query[Subject]) -> tj.Query[Subject]:
    _ = q & {"sexx": "F"}  # E: typedj-attr did you mean "sex"?
    return q & {"sex": "F"}


def first_session(q: tj.Query[Session]) -> int:
    return int(q.fetch1("session_idd"))  # E: typedj-attr did you mean "session_id"?


@schema
class Scan(Manual):
    scan_id: Key[int]
    raw: tj.Object = tj.External("raw")
    trace: tj.Npy = tj.External("raw")


# an Object attribute takes a local path or bytes, an Npy one an array (fetch gives references)
Scan.insert1({"scan_id": 1, "raw": Path("scan.zarr"), "trace": np.zeros(3)})
Scan.insert1({"scan_id": 2, "raw": b"data", "trace": np.zeros(3)})
Scan.insert1({"scan_id": 3, "raw": 3, "trace": np.zeros(3)})  # E: typedj-value Scan.raw is "ObjectRef"; the row gives "Literal[3]"
Scan.insert1({"scan_id": 4, "raw": b"data", "trace": "x"})  # E: typedj-value Scan.trace is "NpyRef"
