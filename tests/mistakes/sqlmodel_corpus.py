"""The mistakes corpus in SQLModel (SQLAlchemy 2 underneath), for comparison: the same
mistakes, numbered as in ``strings.py``, where SQLModel has the operation. Type-checked
only, never run (``tests/test_mistakes.py`` skips it when sqlmodel is not installed).
"""

# ruff: noqa: E501, F841
from __future__ import annotations

from datetime import date
from typing import Any, Literal

from sqlalchemy import func, not_, union
from sqlmodel import Field, Session, SQLModel, col, select


class Species(SQLModel, table=True):
    species: str = Field(primary_key=True, max_length=32)


class Subject(SQLModel, table=True):
    subject_id: int = Field(primary_key=True)
    species: str = Field(foreign_key="species.species")
    sex: Literal["M", "F", "U"] = "U"
    date_of_birth: date | None = None
    weight: float = 0.0
    notes: str = ""


class Recording(SQLModel, table=True):
    subject_id: int = Field(primary_key=True, foreign_key="subject.subject_id")
    session_id: int = Field(primary_key=True)
    session_date: date


class Cell(SQLModel, table=True):
    cell_id: int = Field(primary_key=True)
    depth: float


class Synapse(SQLModel, table=True):
    pre_cell_id: int = Field(primary_key=True, foreign_key="cell.cell_id")
    post_cell_id: int = Field(primary_key=True, foreign_key="cell.cell_id")
    strength: float


class Trace(SQLModel, table=True):
    subject_id: int = Field(primary_key=True)
    session_id: int = Field(primary_key=True)
    n_samples: int


def make(db: Session, key: dict[str, Any]) -> None:
    db.add(Trace(**key, n_samples=3))  # OK33
    db.add(Trace(**key, n_sample=3))  # M33


def females(stmt: Any) -> None:
    a = stmt.where(Subject.sex == "F")  # OK40
    b = stmt.where(Subject.sexx == "F")  # M40


def run(db: Session) -> None:
    row = db.exec(select(Subject)).one()
    ok01 = select(Subject).where(Subject.subject_id == 1)  # OK01
    m01 = select(Subject).where(Subject.subjct_id == 1)  # M01
    ok02 = select(Subject).where(Subject.subject_id == 2)  # OK02
    m02 = select(Subject).where(Subject.subject_id == "two")  # M02
    ok03 = select(Subject).where(Subject.sex == "F")  # OK03
    m03 = select(Subject).where(Subject.sex == "X")  # M03
    ok04 = select(Subject).where(Subject.weight > 10)  # OK04
    m04 = select(Subject).where(Subject.wieght > 10)  # M04
    ok05 = select(Subject).where(Subject.weight > 10.5)  # OK05
    m05 = select(Subject).where(Subject.weight > "heavy")  # M05
    ok06 = select(Subject).where(Subject.sex != "M")  # OK06
    m06 = select(Subject).where(Subject.sexx != "M")  # M06
    ok07 = select(Recording).where(Recording.session_date == date(2024, 1, 2))  # OK07
    m07 = select(Recording).where(Recording.session_date == 20240102)  # M07
    ok08 = select(Subject).where(not_(Subject.sex == "M"))  # OK08
    m08 = select(Subject).where(not_(Subject.sexx == "M"))  # M08
    ok09 = select(Subject.sex)  # OK09
    m09 = select(Subject.sexx)  # M09
    ok10 = select(col(Subject.date_of_birth).label("born"))  # OK10
    m10 = select(col(Subject.date_of_brth).label("born"))  # M10
    ok12 = select((col(Subject.weight) / 1000).label("kg"))  # OK12
    m12 = select((col(Subject.wieght) / 1000).label("kg"))  # M12
    ok13 = select(Subject.sex, func.count()).join(Recording).group_by(col(Subject.subject_id))  # OK13
    m13 = select(Subject.sexx, func.count()).join(Recording).group_by(col(Subject.subject_id))  # M13
    ok14 = select(func.max(Recording.session_date))  # OK14
    m14 = select(func.max(Recording.sesion_date))  # M14
    ok16 = db.exec(select(Subject.sex)).all()  # OK16
    m16 = db.exec(select(Subject.sexx)).all()  # M16
    ok17 = db.exec(select(Subject.date_of_birth).where(Subject.subject_id == 1)).one()  # OK17
    m17 = db.exec(select(Subject.dob).where(Subject.subject_id == 1)).one()  # M17
    ok18 = select(Subject).order_by(col(Subject.date_of_birth).desc())  # OK18
    m18 = select(Subject).order_by(col(Subject.dob).desc())  # M18
    ok19 = select(Subject).order_by(col(Subject.weight))  # OK19
    m19 = select(Subject).order_by(col(Subject.weigth))  # M19
    ok20 = select(Subject).order_by(col(Subject.weight).desc()).limit(3)  # OK20
    m20 = select(Subject).order_by(col(Subject.wieght).desc()).limit(3)  # M20
    ok21 = select(Subject.species, func.count()).group_by(col(Subject.species))  # OK21
    m21 = select(Subject.specie, func.count()).group_by(col(Subject.specie))  # M21
    ok22 = select(Recording.session_date).distinct()  # OK22
    m22 = select(Recording.sex).distinct()  # M22
    ok24 = union(select(Subject), select(Subject))  # OK24
    m24 = union(select(Subject), select(Recording))  # M24
    ok26 = Subject(subject_id=1, species="mouse")  # OK26
    m26 = Subject(subject_id=1, speces="mouse")  # M26
    ok27 = Subject(subject_id=2, species="mouse")  # OK27
    m27 = Subject(subject_id="2", species="mouse")  # M27
    db.add(Subject(subject_id=1, species="mouse"))  # OK28
    db.add(Subject(subject_id=1, speces="mouse"))  # M28
    db.add(Recording(subject_id=1, session_id=1, session_date=date(2024, 1, 2)))  # OK29
    db.add(Recording(subject_id=1, session_id="one", session_date=date(2024, 1, 2)))  # M29
    db.add(Subject.model_validate({"subject_id": 1, "species": "mouse"}))  # OK30
    db.add(Subject.model_validate({"subject_id": 1, "speces": "mouse"}))  # M30
    db.add(Subject.model_validate({"subject_id": 3, "species": "mouse"}))  # OK31
    db.add(Subject.model_validate({"subject_id": "x", "species": "mouse"}))  # M31
    db.add_all([Subject(subject_id=1, species="rat")])  # OK32
    db.add_all([Subject(subject_id=1, speces="rat")])  # M32
    ok35 = row.date_of_birth  # OK35
    m35 = row.dat_of_birth  # M35
    n: str = row.sex  # OK36
    m: int = row.sex  # M36
    ok37 = select(Synapse).where(Synapse.pre_cell_id == 1)  # OK37
    m37 = select(Synapse).where(Synapse.cell_id == 1)  # M37
    summary = db.exec(select(Subject.subject_id, func.count().label("n")).group_by(col(Subject.subject_id))).one()
    ok38 = summary.n  # OK38
    m38 = summary.cnt  # M38
