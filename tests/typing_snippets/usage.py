"""Everyday use of the pipeline: must type-check cleanly with and without the plugin."""

from __future__ import annotations

from datetime import date

from .pipeline import Session, Species, Spikes, Subject, Synapse

Subject.insert1(subject_id=1, species="mouse", sex="M")
Subject.insert1({"subject_id": 2, "species": "rat"})
Subject.insert1(Subject(subject_id=3, species=Species(species="mouse")), skip_duplicates=True)
Subject.insert([Subject(subject_id=4, species="rat"), {"subject_id": 5, "species": "mouse"}])
Session.insert1(subject=1, session_id=1, session_date=date(2024, 1, 2))
Synapse.insert1(pre={"cell_id": 1}, post={"cell_id": 2}, strength=0.5)

subjects: list[Subject] = Subject.fetch()
ordered: list[Subject] = Subject.fetch(order_by="subject_id DESC", limit=10)
first: Subject = (Subject & {"subject_id": 1}).fetch1()
sex: str = first.sex
born: date | None = first.date_of_birth
species_key = first.species
sessions: list[Session] = (Session & "session_date > '2024-01-01'").fetch()
units: list[Spikes.Unit] = Spikes.Unit.fetch()
n: int = len(Subject & {"sex": "F"})
for subject in Subject - Session:
    print(subject.subject_id, subject.notes)
for every in Subject:
    print(every.date_of_birth)
ids = Subject.fetch("subject_id")
ids2, sexes = Subject.fetch("subject_id", "sex", order_by="KEY")
dob = (Subject & {"subject_id": 1}).fetch1("date_of_birth")
joined = (Subject * Session).fetch()
projected = Subject.proj("sex", born="date_of_birth").to_dicts()
keys = (Subject & "sex = 'M'").keys()
key_rows: list[dict[str, object]] = (Subject & "sex = 'M'").fetch("KEY")
