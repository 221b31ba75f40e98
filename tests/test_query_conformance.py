"""Conformance: every operator and condition kind on the university dataset.

Each query's answer is computed independently in plain Python over the generated rows
(``university.generate()``) and compared, row for row, with what the server returns.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Iterator
from datetime import date
from decimal import Decimal
from typing import Any

import numpy as np
import pytest

import typedj as tj
from tests import university
from typedj import AndList, Not, Top, U

Row = dict[str, Any]
D = university.generate()
SECTION_KEY = ["dept", "course", "term_year", "term", "section"]


@pytest.fixture(scope="module")
def uni(conn: tj.Connection) -> Iterator[Any]:
    """The university pipeline, declared and loaded once for the module."""
    with university.loaded(conn, "t_query_conformance_university") as tables:
        yield tables


# -- plain-Python relational helpers (the independent answers) ----------------------


def njoin(a: list[Row], b: list[Row], *, left: bool = False) -> list[Row]:
    """Natural join of row lists (``left``: keep rows of ``a`` without a match)."""
    a_names = set(a[0]) if a else set()
    b_names = set(b[0]) if b else set()
    shared = sorted(a_names & b_names)
    index: dict[tuple[Any, ...], list[Row]] = defaultdict(list)
    for r in b:
        index[tuple(r[k] for k in shared)].append(r)
    out = []
    for x in a:
        matches = index.get(tuple(x[k] for k in shared), [])
        out += [{**x, **y} for y in matches]
        if left and not matches:
            out.append({**x, **{k: None for k in b_names - a_names}})
    return out


def semijoin(a: list[Row], b: list[Row], *, anti: bool = False) -> list[Row]:
    shared = sorted(set(a[0]) & set(b[0])) if a and b else []
    keys = {tuple(r[k] for k in shared) for r in b}
    return [r for r in a if (tuple(r[k] for k in shared) in keys) != anti]


def pick(rows: Iterable[Row], names: list[str]) -> list[Row]:
    seen: dict[tuple[Any, ...], Row] = {}
    for r in rows:
        row = {n: r[n] for n in names}
        seen.setdefault(tuple(row.values()), row)
    return list(seen.values())


def where(rows: Iterable[Row], predicate: Callable[[Row], bool]) -> list[Row]:
    return [r for r in rows if predicate(r)]


def check(query: Any, expected: list[Row]) -> None:
    """Same rows (as dicts of declared Python types), compared in primary-key order."""
    got = query.to_dicts()
    key = query.primary_key or list(query.heading.names)

    def order(r: Row) -> tuple[str, ...]:
        return tuple(repr(r[k]) for k in key)

    assert len(got) == len(expected), (len(got), len(expected), query.sql)
    assert sorted(got, key=order) == sorted(expected, key=order), query.sql
    assert len(query) == len(expected)


S, E = D["student"], D["enroll"]


# -- restriction by every condition kind ----------------------------------------------


def test_mapping(uni: Any) -> None:
    check(uni.Student & {"home_state": "UT"}, where(S, lambda r: r["home_state"] == "UT"))


def test_mapping_several_attributes(uni: Any) -> None:
    check(
        uni.Student & {"home_state": "CO", "sex": "F"},
        where(S, lambda r: r["home_state"] == "CO" and r["sex"] == "F"),
    )


def test_mapping_null_value(uni: Any) -> None:
    check(uni.Student & {"phone": None}, where(S, lambda r: r["phone"] is None))
    check(uni.Student - {"phone": None}, where(S, lambda r: r["phone"] is not None))


def test_mapping_typed_values(uni: Any) -> None:
    one = S[17]
    check(
        uni.Student & {"date_of_birth": one["date_of_birth"]},
        where(S, lambda r: r["date_of_birth"] == one["date_of_birth"]),
    )
    check(uni.Student & {"student_uuid": one["student_uuid"]}, [one])
    check(uni.Student & {"active": False}, where(S, lambda r: not r["active"]))
    check(
        uni.Course & {"credits": Decimal("4.5")}, where(D["course"], lambda r: r["credits"] == Decimal("4.5"))
    )


def test_sql_string(uni: Any) -> None:
    check(
        uni.Student & "date_of_birth >= '2000-01-01'",
        where(S, lambda r: r["date_of_birth"] >= date(2000, 1, 1)),
    )
    check(uni.Student & "home_city LIKE 'Salt%'", where(S, lambda r: r["home_city"].startswith("Salt")))


def test_semijoin_and_antijoin(uni: Any) -> None:
    check(uni.Student & uni.Enroll, semijoin(S, E))
    check(uni.Student - uni.Enroll, semijoin(S, E, anti=True))


def test_semijoin_by_restricted_query(uni: Any) -> None:
    cs = where(E, lambda r: r["dept"] == "CS")
    check(uni.Student & (uni.Enroll & {"dept": "CS"}), semijoin(S, cs))
    check(uni.Student - (uni.Enroll & {"dept": "CS"}), semijoin(S, cs, anti=True))


def test_semijoin_on_several_attributes(uni: Any) -> None:
    fall = where(E, lambda r: r["term"] == "Fall")
    check(uni.Section & (uni.Enroll & {"term": "Fall"}), semijoin(D["section"], fall))
    check(uni.Section - uni.Enroll, semijoin(D["section"], E, anti=True))


def test_list_is_or(uni: Any) -> None:
    check(
        uni.Student & [{"home_state": "UT"}, {"home_state": "NV"}],
        where(S, lambda r: r["home_state"] in {"UT", "NV"}),
    )
    check(
        uni.Student & ({"home_state": "UT"}, "sex = 'U'"),
        where(S, lambda r: r["home_state"] == "UT" or r["sex"] == "U"),
    )
    check(
        uni.Student - [{"home_state": "UT"}, {"home_state": "NV"}],
        where(S, lambda r: r["home_state"] not in {"UT", "NV"}),
    )


def test_empty_list_selects_nothing(uni: Any) -> None:
    check(uni.Student & [], [])
    check(uni.Student - [], S)


def test_list_of_keys(uni: Any) -> None:
    keys = [{"student_id": r["student_id"]} for r in S[::7]]
    check(uni.Student & keys, S[::7])
    numpy_keys = [{"student_id": np.int64(r["student_id"])} for r in S[::7]]  # e.g. from an array
    check(uni.Student & numpy_keys, S[::7])
    check(uni.Student & numpy_keys[0], S[:1])


def test_and_list(uni: Any) -> None:
    check(
        uni.Student & AndList([{"home_state": "UT"}, "sex = 'F'"]),
        where(S, lambda r: r["home_state"] == "UT" and r["sex"] == "F"),
    )
    check(uni.Student & AndList([]), S)


def test_not(uni: Any) -> None:
    check(uni.Student & Not({"home_state": "UT"}), where(S, lambda r: r["home_state"] != "UT"))
    check(uni.Student & Not(uni.Enroll), semijoin(S, E, anti=True))
    check(uni.Student - Not({"home_state": "UT"}), where(S, lambda r: r["home_state"] == "UT"))


def test_true_false(uni: Any) -> None:
    check(uni.Student & True, S)
    check(uni.Student & False, [])
    check(uni.Student - False, S)
    check(uni.Student - True, [])


def test_numpy_records(uni: Any) -> None:
    records = (uni.Student & {"home_state": "ID"}).to_arrays()[:4]
    check(uni.Enroll & records, semijoin(E, where(S, lambda r: r["home_state"] == "ID")[:4]))
    check(uni.Student & records[0], [r for r in S if r["student_id"] == records[0]["student_id"]])


def test_dataframe(uni: Any) -> None:
    frame = (uni.Course & {"dept": "MATH"}).to_pandas()  # the key is its index
    check(uni.Section & frame, semijoin(D["section"], where(D["course"], lambda r: r["dept"] == "MATH")))


def test_row_instance(uni: Any) -> None:
    student = (uni.Student & {"student_id": 1003}).fetch1()
    check(uni.Enroll & student, where(E, lambda r: r["student_id"] == 1003))


def test_chained_restrictions(uni: Any) -> None:
    q = uni.Student & {"home_state": "UT"} & "sex <> 'U'" & uni.StudentMajor
    check(q, semijoin(where(S, lambda r: r["home_state"] == "UT" and r["sex"] != "U"), D["student_major"]))


# -- join --------------------------------------------------------------------------


def test_join_key_of_dependent(uni: Any) -> None:
    q = uni.Student * uni.StudentMajor
    assert q.primary_key == ["student_id"]
    check(q, njoin(S, D["student_major"]))


def test_join_parent_child_key_rule(uni: Any) -> None:
    q = uni.Department * uni.Course
    assert set(q.primary_key) == {"dept", "course"}
    check(q, njoin(D["department"], D["course"]))


def test_join_chain(uni: Any) -> None:
    q = uni.Enroll * uni.Grade * uni.LetterGrade
    assert set(q.primary_key) == {"student_id", *SECTION_KEY}
    check(q, njoin(njoin(E, D["grade"]), D["letter_grade"]))


def test_join_section_teaches_instructor(uni: Any) -> None:
    q = uni.Section * uni.Teaches * uni.Instructor
    assert set(q.primary_key) == set(SECTION_KEY)
    check(q, njoin(njoin(D["section"], D["teaches"]), D["instructor"]))


def test_join_without_shared_attributes_is_a_product(uni: Any) -> None:
    q = uni.Department.proj() * uni.Term
    assert set(q.primary_key) == {"dept", "term_year", "term"}
    check(q, [{"dept": d["dept"], **t} for d in D["department"] for t in D["term"]])


def test_join_then_restrict(uni: Any) -> None:
    q = (uni.Student * uni.StudentMajor) & {"dept": "CS"} & "home_state = 'UT'"
    check(q, where(njoin(S, D["student_major"]), lambda r: r["dept"] == "CS" and r["home_state"] == "UT"))


def test_join_restricted_operands(uni: Any) -> None:
    q = (uni.Student & {"sex": "F"}) * (uni.Enroll & {"term_year": 2022})
    check(q, njoin(where(S, lambda r: r["sex"] == "F"), where(E, lambda r: r["term_year"] == 2022)))


def test_join_through_renamed_reference(uni: Any) -> None:
    q = uni.Instructor.proj("instructor_name", dept="home_dept") * uni.Department
    expected = njoin(
        [
            {
                "instructor_id": r["instructor_id"],
                "instructor_name": r["instructor_name"],
                "dept": r["home_dept"],
            }
            for r in D["instructor"]
        ],
        D["department"],
    )
    check(q, expected)


def test_left_join(uni: Any) -> None:
    q = uni.Enroll.join(uni.Grade, left=True)
    check(q, njoin(E, D["grade"], left=True))


# -- proj --------------------------------------------------------------------------


def test_proj_key_only_and_named(uni: Any) -> None:
    check(uni.Student.proj(), pick(S, ["student_id"]))
    check(uni.Student.proj("first_name", "home_state"), pick(S, ["student_id", "first_name", "home_state"]))


def test_proj_ellipsis_and_drop(uni: Any) -> None:
    names = [n for n in S[0] if n not in {"profile", "phone"}]
    check(uni.Student.proj(..., "-profile", "-phone"), pick(S, names))
    check(uni.Student.proj("-profile"), pick(S, [n for n in S[0] if n != "profile"]))


def test_proj_rename_including_key(uni: Any) -> None:
    q = uni.Student.proj(sid="student_id", given="first_name")
    assert q.primary_key == ["sid"]
    check(q, [{"sid": r["student_id"], "given": r["first_name"]} for r in S])


def test_proj_computed(uni: Any) -> None:
    q = uni.Student.proj(
        full="concat(first_name, ' ', last_name)", born_2000s="date_of_birth >= '2000-01-01'"
    )
    check(
        q,
        [
            {
                "student_id": r["student_id"],
                "full": f"{r['first_name']} {r['last_name']}",
                "born_2000s": int(r["date_of_birth"] >= date(2000, 1, 1)),
            }
            for r in S
        ],
    )


def test_proj_then_restrict_by_new_names(uni: Any) -> None:
    q = uni.Student.proj(state="home_state") & {"state": "UT"}
    check(q, [{"student_id": r["student_id"], "state": "UT"} for r in S if r["home_state"] == "UT"])
    q2 = uni.Section.proj(seats="capacity * 2") & "seats > 100"
    check(
        q2,
        [
            {**{k: r[k] for k in SECTION_KEY}, "seats": 2 * r["capacity"]}
            for r in D["section"]
            if r["capacity"] * 2 > 100
        ],
    )


def test_proj_of_join(uni: Any) -> None:
    q = (uni.Enroll * uni.Grade * uni.LetterGrade).proj("points")
    check(q, pick(njoin(njoin(E, D["grade"]), D["letter_grade"]), ["student_id", *SECTION_KEY, "points"]))


# -- aggr --------------------------------------------------------------------------


def test_aggr_count_keeps_rows_without_matches(uni: Any) -> None:
    counts = Counter(r["student_id"] for r in E)
    q = uni.Student.aggr(uni.Enroll, n="count(*)")
    check(q, [{"student_id": r["student_id"], "n": counts[r["student_id"]]} for r in S])
    assert 0 in q.fetch("n")


def test_aggr_count_when_group_key_is_shared(uni: Any) -> None:
    majors = {r["student_id"] for r in D["student_major"]}
    check(
        uni.Student.aggr(uni.StudentMajor, n="count(*)"),
        [{"student_id": r["student_id"], "n": int(r["student_id"] in majors)} for r in S],
    )


def test_aggr_only_matching(uni: Any) -> None:
    counts = Counter(r["student_id"] for r in E)
    check(
        uni.Student.aggr(uni.Enroll, n="count(*)", keep_all_rows=False),
        [{"student_id": k, "n": v} for k, v in counts.items()],
    )
    check(
        uni.Student.aggr(uni.Enroll, n="count(*)", exclude_nonmatching=True),
        [{"student_id": k, "n": v} for k, v in counts.items()],
    )


def test_aggr_several_expressions_and_attributes(uni: Any) -> None:
    sections: dict[tuple[Any, ...], list[Row]] = defaultdict(list)
    for r in D["section"]:
        sections[(r["dept"], r["course"])].append(r)
    expected = [
        {
            **c,
            "n": len(sections[(c["dept"], c["course"])]),
            "seats": (
                Decimal(sum(s["capacity"] for s in sections[(c["dept"], c["course"])]))
                if sections[(c["dept"], c["course"])]
                else None
            ),
        }
        for c in D["course"]
    ]
    check(uni.Course.aggr(uni.Section, ..., n="count(*)", seats="sum(capacity)"), expected)


def test_aggr_over_a_join_average(uni: Any) -> None:
    points = {r["grade"]: r["points"] for r in D["letter_grade"]}
    by_student: dict[int, list[Decimal]] = defaultdict(list)
    for g in D["grade"]:
        by_student[g["student_id"]].append(points[g["grade"]])
    q = uni.Student.aggr(uni.Grade * uni.LetterGrade, "last_name", n="count(*)", gpa="avg(points)")
    got = {r["student_id"]: r for r in q.to_dicts()}
    assert len(got) == len(S)
    for s in S:
        values = by_student.get(s["student_id"], [])
        row = got[s["student_id"]]
        assert row["n"] == len(values) and row["last_name"] == s["last_name"]
        if values:
            assert abs(float(row["gpa"]) - float(sum(values) / len(values))) < 1e-4
        else:
            assert row["gpa"] is None


def test_aggr_then_restrict(uni: Any) -> None:
    counts = Counter(r["student_id"] for r in E)
    q = uni.Student.aggr(uni.Enroll, n="count(*)")
    check(q & "n >= 4", [{"student_id": k, "n": v} for k, v in counts.items() if v >= 4])
    check(q & {"n": 0}, [{"student_id": r["student_id"], "n": 0} for r in S if not counts[r["student_id"]]])
    check(uni.Student - (q & {"n": 0}), semijoin(S, E))


# -- universal sets ---------------------------------------------------------------


def test_u_distinct_values(uni: Any) -> None:
    check(U("home_state") & uni.Student, pick(S, ["home_state"]))
    q = U("home_city", "home_state") & (uni.Student & {"sex": "F"})
    assert q.primary_key == ["home_city", "home_state"]
    check(q, pick(where(S, lambda r: r["sex"] == "F"), ["home_city", "home_state"]))


def test_u_aggregation_by_any_attribute(uni: Any) -> None:
    counts = Counter(r["home_state"] for r in S)
    check(
        U("home_state").aggr(uni.Student, n="count(*)"),
        [{"home_state": k, "n": v} for k, v in counts.items()],
    )
    per_term = Counter((r["term_year"], r["term"]) for r in E)
    check(
        U("term_year", "term").aggr(uni.Enroll, n="count(*)"),
        [{"term_year": y, "term": t, "n": v} for (y, t), v in per_term.items()],
    )


def test_u_totals(uni: Any) -> None:
    check(
        U().aggr(uni.Enroll, n="count(*)", students="count(distinct student_id)"),
        [{"n": len(E), "students": len({r["student_id"] for r in E})}],
    )
    assert U().aggr(uni.Enroll & False, n="count(*)").fetch1("n") == 0


def test_u_promotes_key(uni: Any) -> None:
    q = uni.Student.proj("home_state") * U("home_state")
    assert q.primary_key == ["student_id", "home_state"]
    check(q, pick(S, ["student_id", "home_state"]))


# -- union ------------------------------------------------------------------------


def test_union_of_restrictions(uni: Any) -> None:
    q = (uni.Student & {"home_state": "UT"}) + (uni.Student & {"sex": "F"})
    check(q, where(S, lambda r: r["home_state"] == "UT" or r["sex"] == "F"))
    assert all(type(r) is uni.Student for r in q.fetch())


def test_union_different_secondary_attributes(uni: Any) -> None:
    a = where(S, lambda r: r["home_state"] == "UT")
    b = where(S, lambda r: r["sex"] == "F")
    q = (uni.Student & {"home_state": "UT"}).proj("first_name") + (uni.Student & {"sex": "F"}).proj(
        "last_name"
    )
    ids_a, ids_b = {r["student_id"] for r in a}, {r["student_id"] for r in b}
    by_id = {r["student_id"]: r for r in S}
    check(
        q,
        [
            {
                "student_id": i,
                "first_name": by_id[i]["first_name"] if i in ids_a else None,
                "last_name": by_id[i]["last_name"] if i in ids_b else None,
            }
            for i in ids_a | ids_b
        ],
    )


def test_union_of_an_enum_and_text(uni: Any) -> None:
    """One attribute, an enum on one side and text on the other (PostgreSQL's enum is a
    type of its own, which a UNION does not match with text by itself)."""
    ut = {r["student_id"] for r in where(S, lambda r: r["home_state"] == "UT")}
    q = (uni.Student & {"home_state": "UT"}).proj("sex") + (uni.Student - {"home_state": "UT"}).proj(
        sex="home_state")
    check(q, [{"student_id": r["student_id"], "sex": r["sex"] if r["student_id"] in ut else r["home_state"]}
              for r in S])


def test_union_of_keys(uni: Any) -> None:
    check(
        uni.StudentMajor.proj() + (uni.Student & {"home_state": "UT"}).proj(),
        pick(D["student_major"] + where(S, lambda r: r["home_state"] == "UT"), ["student_id"]),
    )
    check(
        (uni.Enroll & {"term": "Fall"}).proj() + (uni.Grade & {"grade": "A"}).proj(),
        pick(
            where(E, lambda r: r["term"] == "Fall") + where(D["grade"], lambda r: r["grade"] == "A"),
            ["student_id", *SECTION_KEY],
        ),
    )


def test_union_then_restrict(uni: Any) -> None:
    q = ((uni.Student & {"home_state": "UT"}) + (uni.Student & {"home_state": "NV"})) & {"sex": "M"}
    check(q, where(S, lambda r: r["home_state"] in {"UT", "NV"} and r["sex"] == "M"))


# -- ordering, limits, top --------------------------------------------------------


def test_order_limit_offset(uni: Any) -> None:
    by_birth = sorted(S, key=lambda r: (r["date_of_birth"], r["student_id"]))
    got = uni.Student.to_dicts(order_by=["date_of_birth", "KEY"], limit=10, offset=5)
    assert got == by_birth[5:15]
    ids = uni.Student.fetch("student_id", order_by="KEY DESC", limit=3)
    assert ids.tolist() == sorted((r["student_id"] for r in S), reverse=True)[:3]
    assert uni.Student.keys(order_by="KEY", offset=298) == [{"student_id": 1299}, {"student_id": 1300}]


def test_top(uni: Any) -> None:
    youngest = sorted(S, key=lambda r: (r["date_of_birth"], r["student_id"]), reverse=False)
    youngest = sorted(S, key=lambda r: (-r["date_of_birth"].toordinal(), r["student_id"]))
    check(uni.Student & Top(7, order_by="date_of_birth DESC"), youngest[:7])
    check(uni.Student & Top(5, order_by="date_of_birth DESC", offset=3), youngest[3:8])


def test_top_composes_with_restrictions(uni: Any) -> None:
    youngest = sorted(S, key=lambda r: (-r["date_of_birth"].toordinal(), r["student_id"]))
    check(
        (uni.Student & Top(20, order_by="date_of_birth DESC")) & {"home_state": "UT"},
        where(youngest[:20], lambda r: r["home_state"] == "UT"),
    )
    ut = where(youngest, lambda r: r["home_state"] == "UT")
    check((uni.Student & {"home_state": "UT"}) & Top(4, order_by="date_of_birth DESC"), ut[:4])
    check(uni.Student - Top(295), sorted(S, key=lambda r: r["student_id"])[295:])
    check(
        uni.Student & AndList([{"home_state": "UT"}, Top(3)]), sorted(ut, key=lambda r: r["student_id"])[:3]
    )


def test_top_of_aggregation(uni: Any) -> None:
    counts = Counter(r["student_id"] for r in E)
    ranked = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:5]
    q = uni.Student.aggr(uni.Enroll, n="count(*)") & Top(5, order_by="n DESC")
    check(q, [{"student_id": k, "n": v} for k, v in ranked])
    check(uni.Student & q, [r for r in S if r["student_id"] in dict(ranked)])


# -- result helpers ---------------------------------------------------------------


def test_len_bool_in_head_keys(uni: Any) -> None:
    assert len(uni.Student) == len(S)
    assert bool(uni.Student & {"home_state": "UT"}) and not (uni.Student & False)
    assert {"student_id": 1001} in uni.Student and {"student_id": 99} not in uni.Student
    assert uni.Student.head(3) == sorted(S, key=lambda r: r["student_id"])[:3]
    assert sorted(r["student_id"] for r in (uni.Student & {"home_state": "NV"}).keys()) == sorted(
        r["student_id"] for r in S if r["home_state"] == "NV"
    )


def test_iteration_streams_the_same_rows(uni: Any) -> None:
    rows = list(uni.Student * uni.StudentMajor)
    assert sorted(rows, key=lambda r: r["student_id"]) == sorted(
        njoin(S, D["student_major"]), key=lambda r: r["student_id"]
    )
    instances = list(uni.Student & {"home_state": "AZ"})
    assert all(type(i) is uni.Student for i in instances)
    assert len(instances) == len(where(S, lambda r: r["home_state"] == "AZ"))


def test_aggr_keeps_a_renamed_attribute(uni: Any) -> None:
    counts = Counter(r["student_id"] for r in E)
    check(
        uni.Student.aggr(uni.Enroll, surname="last_name", n="count(*)"),
        [{"student_id": r["student_id"], "surname": r["last_name"], "n": counts[r["student_id"]]} for r in S],
    )
