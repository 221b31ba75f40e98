"""The same queries through datajoint-python, on the same tables: the same rows and the same keys.

datajoint-python opens the university schema that typedj declared (a virtual module)
and runs each query written the same way with its own ``U``, ``Top``, ``AndList``, ``Not``.
"""

from __future__ import annotations

import json
import logging
import warnings
from collections.abc import Callable, Iterator
from decimal import Decimal
from typing import Any
from uuid import UUID

import pytest

import typedj as tj
from tests import university
from typedj.config import DatabaseURL

pytestmark = pytest.mark.requires("datajoint_peer", reason="datajoint-python needs MySQL")
NAME = "t_query_vs_dj_university"


@pytest.fixture(scope="module")
def both(conn: tj.Connection, mysql_url: str) -> Iterator[tuple[Any, Any, Any]]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        dj = pytest.importorskip("datajoint")
    url = DatabaseURL.parse(mysql_url)
    logging.getLogger("datajoint").setLevel(logging.WARNING)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        dj_conn = dj.Connection(url.host, url.user, url.password, port=url.port)
    with university.loaded(conn, NAME) as tables:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            module = dj.VirtualModule("university", NAME, connection=dj_conn)
        yield tables, module, dj
    dj_conn.close()


def _value(v: Any) -> Any:
    if isinstance(v, bool):
        return int(v)
    if isinstance(v, Decimal | float):
        return round(float(v), 6)
    if isinstance(v, UUID):
        return str(v)
    if isinstance(v, str) and v[:1] in "{[":
        return json.dumps(json.loads(v), sort_keys=True)
    if isinstance(v, dict | list):
        return json.dumps(v, sort_keys=True)
    return v


def _rows(rows: list[dict[str, Any]]) -> list[tuple[tuple[str, Any], ...]]:
    return sorted((tuple(sorted((k, _value(v)) for k, v in r.items())) for r in rows), key=repr)


QUERIES: dict[str, Callable[[Any, Any], Any]] = {
    "mapping": lambda m, lib: m.Student & {"home_state": "UT", "sex": "F"},
    "sql": lambda m, lib: m.Student & "date_of_birth >= '2000-01-01'",
    "semijoin": lambda m, lib: m.Student & (m.Enroll & {"dept": "CS"}),
    "antijoin": lambda m, lib: m.Section - m.Enroll,
    "or-list": lambda m, lib: m.Student & [{"home_state": "UT"}, {"home_state": "NV"}],
    "and-list": lambda m, lib: m.Student & lib.AndList([{"home_state": "UT"}, "sex <> 'U'"]),
    "not": lambda m, lib: m.Student & lib.Not(m.StudentMajor),
    "join": lambda m, lib: (m.Student * m.StudentMajor) & {"dept": "CS"},
    "join-parent": lambda m, lib: m.Department * m.Course,
    "join-chain": lambda m, lib: (m.Enroll * m.Grade * m.LetterGrade).proj("points"),
    "join-three": lambda m, lib: m.Section * m.Teaches * m.Instructor,
    "product": lambda m, lib: m.Department.proj() * m.Term,
    "renamed": lambda m, lib: m.Instructor.proj(dept="home_dept") * m.Department,
    "proj": lambda m, lib: m.Student.proj(
        "first_name", sid="student_id", full="concat(first_name, last_name)"
    ),
    "aggr": lambda m, lib: m.Student.aggr(m.Enroll, n="count(*)", exclude_nonmatching=True),
    "aggr-sum": lambda m, lib: m.Course.aggr(
        m.Section, n="count(*)", seats="sum(capacity)", exclude_nonmatching=True
    ),
    "aggr-avg": lambda m, lib: m.Student.aggr(
        m.Grade * m.LetterGrade, gpa="avg(points)", exclude_nonmatching=True
    ),
    "aggr-having": lambda m, lib: m.Student.aggr(m.Enroll, n="count(*)", exclude_nonmatching=True) & "n > 3",
    "u-distinct": lambda m, lib: lib.U("home_city", "home_state") & m.Student,
    "u-aggr": lambda m, lib: lib.U("term_year", "term").aggr(m.Enroll, n="count(*)"),
    "u-total": lambda m, lib: lib.U().aggr(m.Enroll, n="count(*)"),
    "union-keys": lambda m, lib: (m.Student & {"home_state": "UT"}).proj() + m.StudentMajor.proj(),
    "top": lambda m, lib: m.Student & lib.Top(7, order_by=["date_of_birth DESC", "student_id"]),
    "top-then": lambda m, lib: (
        (m.Student & lib.Top(20, order_by=["date_of_birth DESC", "student_id"])) & {"home_state": "UT"}
    ),
}


@pytest.mark.parametrize("name", list(QUERIES))
def test_same_answer_as_datajoint(both: tuple[Any, Any, Any], name: str) -> None:
    tables, module, dj = both
    ours = QUERIES[name](tables, tj)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        theirs = QUERIES[name](module, dj)
        expected = theirs.to_dicts()
        key = list(theirs.primary_key)
    assert set(ours.primary_key) == set(key)
    assert _rows(ours.to_dicts()) == _rows(expected)


def test_count_without_matches_is_zero_where_datajoint_says_one(both: tuple[Any, Any, Any]) -> None:
    """A deliberate difference: datajoint-python counts the NULL row its left join makes."""
    tables, module, _ = both
    ours = {r["student_id"]: r["n"] for r in tables.Student.aggr(tables.Enroll, n="count(*)").to_dicts()}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        theirs = {
            r["student_id"]: r["n"] for r in module.Student.aggr(module.Enroll, n="count(*)").to_dicts()
        }
    unmatched = {k for k, n in ours.items() if n == 0}
    assert unmatched and all(theirs[k] == 1 for k in unmatched)
    assert {k: n for k, n in ours.items() if n} == {k: n for k, n in theirs.items() if k not in unmatched}


# -- deliberate differences (docs/interop.md), each with the spelling both clients agree on --


def _dj(query: Callable[[], Any]) -> Any:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return query()


def test_count_of_a_column_agrees_for_empty_groups(both: tuple[Any, Any, Any]) -> None:
    """``count(<attribute of the group>)`` counts no row for an empty group in both clients."""
    tables, module, _ = both
    ours = tables.Student.aggr(tables.Enroll, n="count(section)").to_dicts()
    theirs = _dj(lambda: module.Student.aggr(module.Enroll, n="count(section)").to_dicts())
    assert _rows(ours) == _rows(theirs)
    assert any(r["n"] == 0 for r in ours)


def test_unknown_mapping_keys_are_an_error_where_datajoint_selects_everything(
    both: tuple[Any, Any, Any],
) -> None:
    tables, module, _ = both
    with pytest.raises(tj.UnknownAttributeError, match="home_sate"):
        (tables.Student & {"home_sate": "UT"}).to_dicts()
    assert len(_dj(lambda: (module.Student & {"home_sate": "UT"}).to_dicts())) == len(tables.Student)
    ours = (tables.Student & {"home_state": "UT"}).to_dicts()
    assert _rows(ours) == _rows(_dj(lambda: (module.Student & {"home_state": "UT"}).to_dicts()))


def test_outer_union_agrees(both: tuple[Any, Any, Any]) -> None:
    """Operands with different secondary attributes: every row of both, the missing ones NULL."""
    tables, module, _ = both

    def union(m: Any) -> Any:
        left = (m.Student & {"home_state": "UT"}).proj("first_name")
        return left + (m.Student & {"sex": "F"}).proj("last_name")

    ours, theirs = union(tables).to_dicts(), _dj(lambda: union(module).to_dicts())
    utah = {r["student_id"] for r in tables.Student.to_dicts() if r["home_state"] == "UT"}
    women = {r["student_id"] for r in tables.Student.to_dicts() if r["sex"] == "F"}
    assert {r["student_id"] for r in ours} == utah | women
    assert _rows(ours) == _rows(theirs)


def test_aggr_keeping_a_secondary_attribute(both: tuple[Any, Any, Any]) -> None:
    tables, module, _ = both
    ours = tables.Student.aggr(tables.Enroll, "first_name", n="count(section)").to_dicts()
    with pytest.raises(Exception, match="isn't in GROUP BY"):  # ONLY_FULL_GROUP_BY on MariaDB
        _dj(lambda: module.Student.aggr(module.Enroll, "first_name", n="count(section)").to_dicts())

    def joined(m: Any) -> Any:
        return m.Student.proj("first_name") * m.Student.aggr(m.Enroll, n="count(section)")

    assert _rows(ours) == _rows(joined(tables).to_dicts()) == _rows(_dj(lambda: joined(module).to_dicts()))
