"""Query errors: each names what is wrong (the attribute, the origins, the counts)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

import typedj as tj
from tests import university
from typedj import FetchError, QueryError, Top, U, UnknownAttributeError


@pytest.fixture(scope="module")
def uni(conn: tj.Connection) -> Iterator[Any]:
    """The university pipeline, declared and loaded once for the module."""
    with university.loaded(conn, "t_query_errors_university") as tables:
        yield tables


def test_mapping_with_unknown_key(uni: Any) -> None:
    with pytest.raises(UnknownAttributeError, match=r"\['hometown'\].*not attributes") as info:
        uni.Student & {"hometown": "Provo", "sex": "F"}
    assert info.value.attribute == "hometown"
    with pytest.raises(UnknownAttributeError, match="hometown"):
        (uni.Student & [{"sex": "F"}, {"hometown": "Provo"}]).to_dicts()


def test_unknown_attribute_in_sql_text(uni: Any) -> None:
    with pytest.raises(UnknownAttributeError, match="hometown") as info:
        (uni.Student & "hometown = 'Provo'").to_dicts()
    assert info.value.attribute == "hometown"
    with pytest.raises(UnknownAttributeError, match="home_state"):
        (uni.Student.proj() & "home_state = 'UT'").to_dicts()  # projected away


def test_proj_unknown_attributes(uni: Any) -> None:
    with pytest.raises(UnknownAttributeError, match=r"proj: \['nickname'\]"):
        uni.Student.proj("nickname")
    with pytest.raises(UnknownAttributeError, match=r"proj: \['nickname'\]"):
        uni.Student.proj("-nickname")
    with pytest.raises(UnknownAttributeError, match=r"names 'nick'"):
        uni.Student.proj(name="nick")
    with pytest.raises(QueryError, match="primary key"):
        uni.Student.proj("-student_id")


def test_aggr_errors(uni: Any) -> None:
    with pytest.raises(UnknownAttributeError, match="nickname"):
        uni.Student.aggr(uni.Enroll, "nickname", n="count(*)")
    with pytest.raises(QueryError, match=r"lacks \['student_id'\]"):
        uni.Student.aggr(uni.Section, n="count(*)")
    with pytest.raises(UnknownAttributeError, match="nickname"):
        uni.Student.aggr(uni.Enroll, n="nickname")
    with pytest.raises(UnknownAttributeError, match="nosuch"):
        (uni.Student.aggr(uni.Enroll, n="count(nosuch)")).to_dicts()


def test_order_by_fetch_and_top_unknown(uni: Any) -> None:
    with pytest.raises(UnknownAttributeError, match="order_by: 'age'"):
        uni.Student.to_dicts(order_by="age DESC")
    with pytest.raises(QueryError, match="cannot read"):
        uni.Student.to_dicts(order_by="home_state sideways")
    with pytest.raises(UnknownAttributeError, match=r"fetch: \['age'\]"):
        uni.Student.fetch("first_name", "age")
    with pytest.raises(UnknownAttributeError, match="Top: 'age'"):
        (uni.Student & Top(3, order_by="age")).to_dicts()
    with pytest.raises(QueryError, match="limit"):
        Top(-1)


def test_universal_set_unknown(uni: Any) -> None:
    with pytest.raises(UnknownAttributeError, match=r"\['city'\]"):
        U("city") & uni.Student
    with pytest.raises(UnknownAttributeError, match=r"\['city'\]"):
        U("city").aggr(uni.Student, n="count(*)")
    with pytest.raises(UnknownAttributeError, match=r"\['city'\]"):
        uni.Student * U("city")
    with pytest.raises(QueryError, match="complement"):
        U("home_state") - uni.Student


def test_join_of_namesakes_from_different_origins(uni: Any) -> None:
    fake = uni.Course.proj(student_id="course")  # a number called student_id, from course
    with pytest.raises(QueryError) as info:
        uni.Student * fake
    message = str(info.value)
    assert info.value.attribute == "student_id"
    assert "'student_id'" in message
    assert "t_query_errors_university.student.student_id" in message
    assert "t_query_errors_university.course.course" in message
    assert ".proj(student_id_2='student_id')" in message


def test_secondary_namesakes_cannot_join(uni: Any) -> None:
    with pytest.raises(QueryError, match=r"'instructor_name'.*secondary attribute"):
        uni.Instructor * uni.Student.proj(instructor_name="last_name")


def test_restrict_and_aggr_check_lineage(uni: Any) -> None:
    fake = uni.Course.proj(student_id="course")
    with pytest.raises(QueryError, match="cannot restrict on attribute 'student_id'"):
        (uni.Student & fake).to_dicts()
    with pytest.raises(QueryError, match="cannot aggregate on attribute 'student_id'"):
        uni.Student.aggr(fake, n="count(*)")


def test_fetch1_counts(uni: Any) -> None:
    with pytest.raises(FetchError, match=r"exactly one row.*has no rows"):
        (uni.Student & {"student_id": 1}).fetch1()
    with pytest.raises(FetchError, match="has 300 rows"):
        uni.Student.fetch1()
    with pytest.raises(FetchError, match="has 2 rows"):
        (uni.Student & [{"student_id": 1001}, {"student_id": 1002}]).fetch1("first_name")


def test_union_of_different_keys(uni: Any) -> None:
    with pytest.raises(QueryError, match=r"same primary key.*\['student_id'\].*\['dept', 'course'\]"):
        uni.Student + uni.Course


def test_left_join_needs_determined_right(uni: Any) -> None:
    with pytest.raises(QueryError, match="left join"):
        uni.Student.join(uni.Enroll, left=True)


def test_bad_conditions(uni: Any) -> None:
    with pytest.raises(QueryError, match="cannot restrict by"):
        (uni.Student & 3.5).to_dicts()
    with pytest.raises(QueryError, match="expected a query or a table class"):
        uni.Student * {"student_id": 1}
    import pandas as pd

    with pytest.raises(UnknownAttributeError, match="none of its columns"):
        (uni.Student & pd.DataFrame({"zzz": [1]})).to_dicts()
