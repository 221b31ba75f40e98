"""A deterministic university: the dataset and pipeline of the query conformance suite.

``generate()`` builds plain Python rows (lists of dicts) from a fixed seed; the tests
compute their expected answers from these rows, independently of the database.
``declare(schema)`` declares the pipeline; ``load(tables, data)`` inserts the rows.
"""

import contextlib
import random
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any, Literal
from uuid import UUID

import typedj as tj
from typedj import Attr, Key, Link, Lookup, Manual, Ref

Row = dict[str, Any]

DEPARTMENTS = [
    ("BIOL", "Life Sciences", "Biology", "Mendel Hall"),
    ("CHEM", "Physical Sciences", "Chemistry", "Curie Hall"),
    ("CS", "Engineering", "Computer Science", "Turing Hall"),
    ("ECON", "Social Sciences", "Economics", "Smith Hall"),
    ("HIST", "Humanities", "History", "Gibbon Hall"),
    ("MATH", "Physical Sciences", "Mathematics", "Gauss Hall"),
    ("PHYS", "Physical Sciences", "Physics", "Curie Hall"),
    ("PSY", "Social Sciences", "Psychology", "James Hall"),
]
CITIES = [
    ("Salt Lake City", "UT"),
    ("Provo", "UT"),
    ("Ogden", "UT"),
    ("Boise", "ID"),
    ("Denver", "CO"),
    ("Boulder", "CO"),
    ("Reno", "NV"),
    ("Las Vegas", "NV"),
    ("Phoenix", "AZ"),
    ("Tucson", "AZ"),
]
FIRST = [
    "Ada",
    "Ben",
    "Cleo",
    "Dev",
    "Eli",
    "Fay",
    "Gus",
    "Hana",
    "Ivo",
    "Jun",
    "Kai",
    "Lea",
    "Mia",
    "Noor",
    "Otto",
    "Pia",
    "Quin",
    "Rae",
    "Sol",
    "Tess",
    "Uma",
    "Vic",
    "Wes",
    "Yara",
]
LAST = [
    "Abe",
    "Bose",
    "Chen",
    "Diaz",
    "Eze",
    "Fox",
    "Gray",
    "Hill",
    "Ito",
    "Jain",
    "Kohl",
    "Lund",
    "Moss",
    "Nash",
    "Ortiz",
    "Park",
    "Quay",
    "Ruiz",
    "Sato",
    "Tran",
    "Usman",
    "Voss",
]
GRADES = [
    ("A", "4.00"),
    ("A-", "3.67"),
    ("B+", "3.33"),
    ("B", "3.00"),
    ("B-", "2.67"),
    ("C+", "2.33"),
    ("C", "2.00"),
    ("C-", "1.67"),
    ("D", "1.00"),
    ("F", "0.00"),
]
TERMS = ["Spring", "Summer", "Fall"]
YEARS = [2021, 2022, 2023]


def declare(schema: tj.Schema) -> Any:
    """Declare the university's tables in ``schema``; returns them as attributes."""

    @schema
    class College(Lookup):
        """Colleges that group departments."""

        college: Key[str] = Attr(max_length=32)
        contents = [(c,) for c in sorted({d[1] for d in DEPARTMENTS})]

    @schema
    class Department(Manual):
        """Academic departments."""

        dept: Key[str] = Attr(max_length=8)
        college: Ref[College]
        dept_name: str = Attr(max_length=64)
        building: str = Attr(max_length=32)

    @schema
    class Student(Manual):
        """Students, with where they come from."""

        student_id: Key[int]
        first_name: str = Attr(max_length=32)
        last_name: str = Attr(max_length=32)
        sex: Literal["F", "M", "U"] = "U"
        date_of_birth: date
        home_city: str = Attr(max_length=32)
        home_state: str = Attr(max_length=2, fixed_length=True)
        active: bool = True
        student_uuid: UUID
        profile: dict[str, Any] | None = None
        phone: str | None = Attr(default=None, max_length=20)

    @schema
    class StudentMajor(Manual):
        """The declared major of a student (not every student has one)."""

        student: Key[Ref[Student]]
        dept: Ref[Department]
        declare_date: date

    @schema
    class Course(Manual):
        """Courses offered by departments."""

        dept: Key[Ref[Department]]
        course: Key[int]
        course_name: str = Attr(max_length=64)
        credits: Decimal = Attr(precision=3, scale=1)

    @schema
    class Term(Manual):
        """Academic terms."""

        term_year: Key[int]
        term: Key[Literal["Spring", "Summer", "Fall"]]

    @schema
    class Section(Manual):
        """One offering of a course in a term."""

        course: Key[Ref[Course]]
        term: Key[Ref[Term]]
        section: Key[str] = Attr(max_length=1, fixed_length=True)
        auditorium: str = Attr(max_length=12)
        capacity: int

    @schema
    class Instructor(Manual):
        """Faculty; an instructor belongs to a department (renamed reference: home_dept)."""

        instructor_id: Key[int]
        instructor_name: str = Attr(max_length=64)
        home: Ref[Department] = Link(rename={"dept": "home_dept"})

    @schema
    class Teaches(Manual):
        """Who teaches which section."""

        section: Key[Ref[Section]]
        instructor: Ref[Instructor]

    @schema
    class Enroll(Manual):
        """A student enrolled in a section."""

        student: Key[Ref[Student]]
        section: Key[Ref[Section]]

    @schema
    class LetterGrade(Lookup):
        """Letter grades and their points."""

        grade: Key[str] = Attr(max_length=2)
        points: Decimal = Attr(precision=3, scale=2)
        contents = [(g, Decimal(p)) for g, p in GRADES]

    @schema
    class Grade(Manual):
        """The grade of an enrollment (missing while the term runs)."""

        enroll: Key[Ref[Enroll]]
        grade: Ref[LetterGrade]

    return _Tables(
        College,
        Department,
        Student,
        StudentMajor,
        Course,
        Term,
        Section,
        Instructor,
        Teaches,
        Enroll,
        LetterGrade,
        Grade,
    )


@dataclass(frozen=True)
class _Tables:
    College: Any
    Department: Any
    Student: Any
    StudentMajor: Any
    Course: Any
    Term: Any
    Section: Any
    Instructor: Any
    Teaches: Any
    Enroll: Any
    LetterGrade: Any
    Grade: Any


def generate(seed: int = 20240901) -> dict[str, list[Row]]:
    """Every table's rows, the same for the same seed."""
    rng = random.Random(seed)
    data: dict[str, list[Row]] = {}
    data["college"] = [{"college": c} for c in sorted({d[1] for d in DEPARTMENTS})]
    data["letter_grade"] = [{"grade": g, "points": Decimal(p)} for g, p in GRADES]
    data["department"] = [
        {"dept": d, "college": c, "dept_name": n, "building": b} for d, c, n, b in DEPARTMENTS
    ]
    students = []
    for i in range(1, 301):
        city, state = CITIES[rng.randrange(len(CITIES))]
        students.append(
            {
                "student_id": 1000 + i,
                "first_name": rng.choice(FIRST),
                "last_name": rng.choice(LAST),
                "sex": rng.choice(["F", "M", "F", "M", "U"]),
                "date_of_birth": date(1995 + rng.randrange(8), 1 + rng.randrange(12), 1 + rng.randrange(28)),
                "home_city": city,
                "home_state": state,
                "active": rng.random() < 0.85,
                "student_uuid": UUID(int=rng.getrandbits(128), version=4),
                "profile": {
                    "clubs": rng.sample(["chess", "choir", "rowing", "robotics"], rng.randrange(3)),
                    "scholar": rng.random() < 0.2,
                }
                if rng.random() < 0.7
                else None,
                "phone": f"801-555-{rng.randrange(10000):04d}" if rng.random() < 0.6 else None,
            }
        )
    data["student"] = students
    depts = [d[0] for d in DEPARTMENTS]
    data["student_major"] = [
        {
            "student_id": s["student_id"],
            "dept": rng.choice(depts),
            "declare_date": date(2021 + rng.randrange(3), 1 + rng.randrange(12), 1 + rng.randrange(28)),
        }
        for s in students
        if rng.random() < 0.75
    ]
    courses = []
    for dept in depts:
        for number in sorted(rng.sample(range(1000, 5000, 10), 8)):
            courses.append(
                {
                    "dept": dept,
                    "course": number,
                    "course_name": f"{dept} topics {number}",
                    "credits": Decimal(rng.choice(["1.0", "3.0", "3.0", "4.0", "4.5"])),
                }
            )
    data["course"] = courses
    terms = [{"term_year": y, "term": t} for y in YEARS for t in TERMS]
    data["term"] = terms
    sections = []
    for c in courses:
        for t in terms:
            if rng.random() < 0.28:
                for letter in "ab"[: 1 + (rng.random() < 0.3)]:
                    sections.append(
                        {
                            "dept": c["dept"],
                            "course": c["course"],
                            "term_year": t["term_year"],
                            "term": t["term"],
                            "section": letter,
                            "auditorium": f"{rng.choice('ABCDE')}{rng.randrange(100, 400)}",
                            "capacity": rng.choice([20, 30, 60, 120]),
                        }
                    )
    data["section"] = sections
    data["instructor"] = [
        {
            "instructor_id": 500 + i,
            "instructor_name": f"Prof. {rng.choice(LAST)} {i}",
            "home_dept": depts[i % len(depts)],
        }
        for i in range(24)
    ]
    section_keys = ["dept", "course", "term_year", "term", "section"]
    data["teaches"] = [
        {**{k: s[k] for k in section_keys}, "instructor_id": rng.choice(data["instructor"])["instructor_id"]}
        for s in sections
        if rng.random() < 0.9
    ]
    enroll = []
    for s in students:
        for sec in rng.sample(sections, rng.randrange(0, 6)):
            enroll.append({"student_id": s["student_id"], **{k: sec[k] for k in section_keys}})
    data["enroll"] = enroll
    grades = [g for g, _ in GRADES]
    data["grade"] = [
        {**e, "grade": rng.choices(grades, weights=[6, 4, 4, 5, 3, 3, 3, 2, 1, 1])[0]}
        for e in enroll
        if (e["term_year"], e["term"]) != (2023, "Fall") and rng.random() < 0.95
    ]
    return data


ORDER = [
    "department",
    "student",
    "student_major",
    "course",
    "term",
    "section",
    "instructor",
    "teaches",
    "enroll",
    "grade",
]


def load(tables: Any, data: dict[str, list[Row]]) -> None:
    """Insert the generated rows (the Lookup tables already hold theirs)."""
    classes = {
        "department": tables.Department,
        "student": tables.Student,
        "student_major": tables.StudentMajor,
        "course": tables.Course,
        "term": tables.Term,
        "section": tables.Section,
        "instructor": tables.Instructor,
        "teaches": tables.Teaches,
        "enroll": tables.Enroll,
        "grade": tables.Grade,
    }
    for name in ORDER:
        classes[name].insert(data[name])


@contextlib.contextmanager
def loaded(conn: tj.Connection, name: str) -> Iterator[Any]:
    """The university declared in a fresh schema ``name`` and loaded; dropped afterwards."""
    if name in conn.catalog.list_schemas():
        conn.catalog.drop_database(name)
    tables = declare(tj.Schema(name, connection=conn))
    load(tables, generate())
    try:
        yield tables
    finally:
        conn.schemas.pop(name, None)
        conn.catalog.drop_database(name)
        conn.graph = None
