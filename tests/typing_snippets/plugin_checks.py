"""The plugin's checks: each has a failing line (with an expected-error comment) and a passing one.

Without the plugin this file type-checks cleanly (mypy and pyright): the mistakes are in
strings, which plain typing does not read.
"""

# ruff: noqa: E501  (expected-error comments are long)
from __future__ import annotations

from datetime import date
from typing import Any

import numpy as np

import typedj as tj

from .pipeline import Note, Probe, Session, Spikes, Subject, Synapse

# restriction by a mapping: names, and values against the attribute types
r_ok = Subject & {"subject_id": 1, "sex": "M"}
r_bad = Subject & {"subjct_id": 1}  # E: typedj-attr Subject has no attribute "subjct_id" (restriction); did you mean "subject_id"?
r_bad_value = Subject & {"subject_id": "one"}  # E: typedj-value Subject.subject_id is "int"
r_bad_enum = Subject & {"sex": "X"}  # E: typedj-value Subject.sex
r_none = Subject & {"date_of_birth": None}
r_date_text = Session & {"session_date": "2024-01-02"}
r_numpy = Session & {"session_id": np.int16(2), "subject_id": np.int64(1)}
r_bad_text = Session & {"session_id": "2"}  # E: typedj-value Session.session_id is "int"
r_dict_call = Session & dict(session_idd=1)  # E: typedj-attr did you mean "session_id"?
r_list = Subject - [{"subject_id": 1}, {"speces": "rat"}]  # E: typedj-attr did you mean "species"?
r_not = Subject & tj.Not({"sexx": "M"})  # E: typedj-attr did you mean "sex"?
r_sql = Subject & "sex = 'M' AND date_of_birth > '2020-01-01'"
r_sql_bad = Subject & "sexx = 'M'"  # E: typedj-attr Subject has no attribute "sexx" (restriction text); did you mean "sex"?
key: dict[str, Any] = {"whatever": 1}
r_variable = Subject & key
r_query = (Session & {"session_id": 1}) & {"session_date": None}
r_query_bad = (Session & {"session_id": 1}) - {"sesion_date": None}  # E: typedj-attr did you mean "session_date"?
r_inherited = Spikes.Unit & {"subject_id": 1, "session_id": 2, "unit_id": 3}
r_part_bad = Spikes.Unit & {"trace": 1}  # E: typedj-attr Unit has no attribute "trace"
r_renamed = Synapse & {"pre_cell_id": 1}
r_renamed_bad = Synapse & {"cell_id": 1}  # E: typedj-attr Synapse has no attribute "cell_id"

# proj: positional names, renames, exclusions; the key stays
p_ok = Subject.proj("sex", born="date_of_birth")
p_bad = Subject.proj("sexx")  # E: typedj-attr did you mean "sex"?
p_bad_rename = Subject.proj(born="date_of_brith")  # E: typedj-attr proj: born="date_of_brith"); did you mean "date_of_birth"?
p_bad_exclude = Subject.proj(..., "-note")  # E: typedj-attr did you mean "notes"?
p_drop_key = Subject.proj(..., "-subject_id")  # E: typedj-proj primary key
p_expression = Subject.proj(age="datediff(now(), date_of_birth)")
p_rows = p_ok.fetch()
born = p_rows[0]["born"]
subject_id: int = p_rows[0]["subject_id"]
typo = p_rows[0]["date_of_birth"]  # E: misc
p_chain = p_ok & {"born": None}
p_annotated: tj.Query[dict[str, Any]] = p_ok
for p_row in p_ok:
    p_sex = p_row["sex"]
    p_iter_typo = p_row["sexx"]  # E: misc "sexx" is not a valid TypedDict key
p_one = p_ok.fetch1()["born"]
p_chain_bad = p_ok & {"notes": ""}  # E: typedj-attr Subject.proj() has no attribute "notes"
names = ("sex",)
p_not_literal = Subject.proj(*names)

# aggr: names of the aggregated query and of the group
a_ok = Subject.aggr(Session, n="count(*)", last="max(session_date)")
a_keep = Subject.aggr(Session, "sex", n="count(*)")
a_bad_keep = Subject.aggr(Session, "sexx", n="count(*)")  # E: typedj-attr did you mean "sex"?
a_bad_source = Subject.aggr(Session, first="session_dat")  # E: typedj-attr did you mean "session_date"?
n_sessions: int = a_ok.fetch1("n")
a_bad_row = a_ok.fetch()[0]["count"]  # E: misc

# fetch, fetch1 and order_by
f_ok = Subject.fetch("subject_id", "sex", order_by=["sex DESC", "KEY"])
f_bad = Subject.fetch("sexx")  # E: typedj-attr did you mean "sex"?
f_bad_order = Subject.fetch(order_by="subject_idd DESC")  # E: typedj-attr (order_by); did you mean "subject_id"?
f_bad_order_list = Subject.to_dicts(order_by=["sex", "dob"])  # E: typedj-attr Subject has no attribute "dob" (order_by)
f1_ok = (Subject & {"subject_id": 1}).fetch1("sex", "date_of_birth")
f1_bad = Subject.fetch1("date_of_brth")  # E: typedj-attr did you mean "date_of_birth"?
f1_query_bad = (Subject * Session).fetch1("session")  # E: typedj-attr Subject * Session has no attribute "session"

# U: names of the query it meets
u_ok = tj.U("species").aggr(Subject, n="count(*)")
u_bad = tj.U("specie").aggr(Subject, n="count(*)")  # E: typedj-attr did you mean "species"?
u_restrict = tj.U("sex") & Subject
u_restrict_bad = tj.U("sexes") & Subject  # E: typedj-attr did you mean "sex"?
u_promote = Session * tj.U("session_date")
u_promote_bad = Session * tj.U("date")  # E: typedj-attr Session has no attribute "date"
u_species: str = u_ok.fetch1("species")

# joins: shared names must have one origin
j_ok = Subject * Session
j_rows = j_ok.fetch()
j_date = j_rows[0]["session_date"]
j_secondary = Subject * Note  # E: typedj-join Note.proj(..., notes_2="notes")
j_types = Subject * Probe  # E: typedj-join (types "int" and "str")
j_fixed = Subject * Probe.proj(probe_subject="subject_id")
j_semijoin = Subject & Probe  # E: typedj-join cannot restrict
j_semijoin_ok = Subject & Session
j_left = Session.join(Subject, left=True).fetch()
j_left_date: date = j_left[0]["session_date"]
j_left_species: str = j_left[0]["species"]  # E: assignment
j_left_bad = Subject.join(Session, left=True)  # E: typedj-join lacks the key of Session (session_id)
j_by_name = Subject.join(Note, semantic_check=False)
j_by_name_restrict = Subject.restrict(Probe, semantic_check=False)
j_by_name_restrict_bad = Subject.restrict(Probe, semantic_check=True)  # E: typedj-join cannot restrict
j_by_name_aggr = Subject.aggr(Probe, n="count(*)", semantic_check=False)
j_by_name_aggr_bad = Subject.aggr(Probe, n="count(*)")  # E: typedj-join cannot aggregate
a_options = Subject.aggr(Session, n="count(*)", keep_all_rows=False).fetch()
a_options_n: int = Subject.aggr(Session, n="count(*)", keep_all_rows=False).fetch1("n")
a_options_bad = Subject.aggr(Session, n="count(*)", exclude_nonmatching=True).fetch1("nn")  # E: typedj-attr did you mean "n"?

# union: the same primary key on both sides
un_same: list[Subject] = ((Subject & {"sex": "M"}) + (Subject & {"sex": "F"})).fetch()
un_rows = (Subject.proj("sex") + Subject.proj(sex="notes")).fetch()
un_sex = un_rows[0]["sex"]
un_bad = Subject + Session  # E: typedj-union same primary key
