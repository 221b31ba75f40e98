"""Result formats: typed values, instances vs dicts, arrays, DataFrames, Arrow, previews, SQL text."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any, Literal
from uuid import UUID

import numpy as np
import pytest

import typedj as tj
from tests import university
from typedj import Attr, Key, Manual, Top, U

D = university.generate()
NAME = "t_query_results_university"
ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def uni(conn: tj.Connection) -> Iterator[Any]:
    """The university pipeline, declared and loaded once for the module."""
    with university.loaded(conn, NAME) as tables:
        yield tables


def queries(t: Any) -> list[Any]:
    """A spread of queries whose SQL text must not depend on the process."""
    return [
        t.Student & {"home_state": "UT"} & "sex <> 'U'",
        (t.Student * t.StudentMajor) - t.Enroll,
        t.Student.aggr(t.Grade * t.LetterGrade, "last_name", n="count(*)", gpa="avg(points)") & "n > 2",
        t.Student.aggr(t.StudentMajor, n="count(*)"),
        U("home_state").aggr(t.Student & [{"sex": "F"}, {"sex": "M"}], n="count(*)"),
        (t.Student & {"home_state": "UT"}).proj("first_name") + (t.Student & {"sex": "F"}).proj("last_name"),
        (t.Section & Top(5, order_by="capacity DESC")) & t.Enroll,
        t.Instructor.proj(dept="home_dept") * t.Course - tj.Not(t.Section),
        U("home_city", "home_state") & t.Student,
    ]


def test_values_are_declared_python_types(uni: Any) -> None:
    one = next(r for r in D["student"] if r["profile"] is not None and r["phone"] is not None)
    row = (uni.Student & {"student_id": one["student_id"]}).fetch1()
    assert type(row) is uni.Student
    assert row.date_of_birth == one["date_of_birth"] and type(row.date_of_birth) is date
    assert type(row.student_uuid) is UUID and row.student_uuid == one["student_uuid"]
    assert type(row.active) is bool and row.active == one["active"]
    assert type(row.sex) is str and row.sex == one["sex"]
    assert row.profile == one["profile"] and isinstance(row.profile, dict)
    course = (uni.Course & {"dept": "CS"}).fetch(limit=1, order_by="KEY")[0]
    assert type(course.credits) is Decimal
    grade = (uni.LetterGrade & {"grade": "B+"}).fetch1("points")
    assert grade == Decimal("3.33") and type(grade) is Decimal


def test_fetch_instances_or_dicts(uni: Any) -> None:
    assert all(type(r) is uni.Enroll for r in (uni.Enroll & {"term": "Fall"}).fetch())
    joined = (uni.Student * uni.StudentMajor).fetch(limit=3, order_by="KEY")
    assert all(type(r) is dict for r in joined)
    assert set(joined[0]) == {*D["student"][0], "dept", "declare_date"}


def test_fetch_arrays(uni: Any) -> None:
    ids, states = uni.Student.fetch("student_id", "home_state", order_by="KEY")
    assert ids.dtype == np.int64 and ids.tolist() == [r["student_id"] for r in D["student"]]
    assert states.tolist() == [r["home_state"] for r in D["student"]]
    active = uni.Student.fetch("active", order_by="KEY")
    assert active.dtype == bool and active.tolist() == [r["active"] for r in D["student"]]
    n = uni.Student.aggr(uni.Enroll, n="count(*)").fetch("n", order_by="KEY")
    assert n.dtype == np.int64
    assert uni.Student.fetch("KEY", limit=2, order_by="KEY") == [{"student_id": 1001}, {"student_id": 1002}]


def test_fetch1_values(uni: Any) -> None:
    q = uni.Student & {"student_id": 1005}
    expected = D["student"][4]
    assert q.fetch1("first_name") == expected["first_name"]
    assert q.fetch1("first_name", "home_state") == (expected["first_name"], expected["home_state"])
    assert q.proj("first_name").fetch1() == {"student_id": 1005, "first_name": expected["first_name"]}
    assert U().aggr(uni.Student, n="count(*)").fetch1() == {"n": 300}


def test_to_pandas_indexed_by_key(uni: Any) -> None:
    frame = uni.Enroll.to_pandas()
    assert list(frame.index.names) == ["student_id", "dept", "course", "term_year", "term", "section"]
    assert len(frame) == len(D["enroll"]) and list(frame.columns) == []
    students = uni.Student.to_pandas(order_by="KEY")
    assert students.index.name == "student_id"
    assert students["first_name"].tolist() == [r["first_name"] for r in D["student"]]
    totals = U().aggr(uni.Student, n="count(*)").to_pandas()
    assert totals["n"].tolist() == [300]


def test_to_arrays_structured(uni: Any, conn: tj.Connection) -> None:
    arr = uni.Section.to_arrays(order_by="KEY")
    assert arr.dtype.names == ("dept", "course", "term_year", "term", "section", "auditorium", "capacity")
    assert arr["capacity"].dtype == np.int64
    # a native enum type sorts by its position in the declaration
    terms = university.TERMS if conn.dialect.supports_enum_type else sorted(university.TERMS)
    expected = sorted(
        D["section"],
        key=lambda r: (
            r["dept"],
            r["course"],
            r["term_year"],
            terms.index(r["term"]),
            r["section"],
        ),
    )
    assert arr["capacity"].tolist() == [r["capacity"] for r in expected]


def test_to_arrow_and_polars(uni: Any) -> None:
    table = uni.Student.to_arrow(order_by="KEY")
    assert table.num_rows == 300
    assert table.column("student_id").to_pylist() == [r["student_id"] for r in D["student"]]
    assert table.column("student_uuid").to_pylist()[0] == str(D["student"][0]["student_uuid"])
    first_profile = table.column("profile").to_pylist()[0]
    assert (json.loads(first_profile) if first_profile else None) == D["student"][0]["profile"]
    frame = (uni.Course & {"dept": "CS"}).to_polars(order_by="KEY")
    assert frame["course"].to_list() == [r["course"] for r in D["course"] if r["dept"] == "CS"]


def test_iteration_streams(uni: Any, conn: tj.Connection) -> None:
    it = iter(uni.Enroll * uni.Grade)
    first = next(it)
    assert isinstance(first, dict) and "grade" in first
    rest = list(it)
    assert len(rest) + 1 == len(D["grade"])


def test_repr_preview(uni: Any) -> None:
    text = repr(uni.Student & {"home_state": "NV"})
    lines = text.splitlines()
    assert lines[0].split()[:3] == ["*student_id", "first_name", "last_name"]
    nv = [r for r in D["student"] if r["home_state"] == "NV"]
    assert f"({len(nv)} rows)" in lines[-1]
    assert str(nv[0]["student_id"]) in lines[2]
    assert repr(uni.Student & False).splitlines()[-1] == " (0 rows)"


def test_html_is_escaped(schema: tj.Schema) -> None:
    @schema
    class Note(Manual):
        note_id: Key[int]
        text: str = Attr(max_length=64)
        kind: Literal["a&b", "plain"] = "plain"

    Note.insert1({"note_id": 1, "text": "<script>alert('x')</script>", "kind": "a&b"})
    page = Note._query()._repr_html_()
    assert "<script>" not in page
    assert "&lt;script&gt;" in page and "a&amp;b" in page
    assert "<b>note_id</b>" in page and "1 row<" in page


@pytest.mark.requires("mysql_server", reason="checks MySQL's SQL text")
def test_sql_is_visible_and_uses_few_subqueries(uni: Any) -> None:
    sql = ((uni.Student * uni.StudentMajor) & {"dept": "CS"} & "home_state = 'UT'").sql
    assert sql.count("SELECT") == 1 and "NATURAL JOIN" in sql
    agg = (uni.Student.aggr(uni.Enroll, n="count(*)") & {"n": 0}).sql
    assert agg.count("SELECT") == 1 and "HAVING" in agg and "count(*)" not in agg
    assert uni.Student.sql.startswith("SELECT `student_id`")


@pytest.mark.requires("mysql_server", reason="the subprocess connects to the test server by URL")
def test_sql_is_deterministic_across_processes(uni: Any, mysql_url: str) -> None:
    here = [q.sql for q in queries(uni)]
    assert here == [q.sql for q in queries(uni)]
    script = (
        "import typedj as tj, json\n"
        "from tests import university\n"
        "from tests.test_query_results import NAME, queries\n"
        f"conn = tj.connect({mysql_url!r})\n"
        "t = university.declare(tj.Schema(NAME, connection=conn))\n"
        "print(json.dumps([q.sql for q in queries(t)]))\n"
    )
    env = {**os.environ, "PYTHONHASHSEED": "12345"}
    out = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, env=env, capture_output=True, text=True, check=True
    )
    assert json.loads(out.stdout.strip().splitlines()[-1]) == here


def test_delete_through_top(schema: tj.Schema) -> None:
    @schema
    class Item(Manual):
        item_id: Key[int]
        price: int

    @schema
    class Sale(Manual):
        item: Key[tj.Ref[Item]]
        sale_id: Key[int]

    Item.insert([{"item_id": i, "price": 100 - i} for i in range(10)])
    Sale.insert([{"item_id": i, "sale_id": j} for i in range(10) for j in range(2)])
    cheapest = Item & Top(3, order_by="price")
    assert sorted(cheapest.fetch("item_id").tolist()) == [7, 8, 9]
    assert cheapest.delete() == {f"{schema.name}.item": 3, f"{schema.name}.sale": 6}
    assert Item.fetch("item_id", order_by="KEY").tolist() == list(range(7))
    assert len(Sale) == 14
