"""Mistakes plain typing catches (mypy and pyright, no plugin): constructor and insert1 keywords."""

from __future__ import annotations

from .pipeline import Subject

wrong_type = Subject(subject_id="x", species="mouse")  # E: arg-type
wrong_name = Subject(subject_idd=1, species="mouse")  # E: call-arg
Subject.insert1(subject_id=1, speces="mouse")  # E: call-overload
Subject.insert1(subject_id="1", species="mouse")  # E: call-overload
row = Subject.fetch1()
print(row.weight)  # E: attr-defined
print(row._def, row._validator)  # E: attr-defined
