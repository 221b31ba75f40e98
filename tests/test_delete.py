"""update1, cascading delete with preview and part integrity, drop of tables and schemas."""

from __future__ import annotations

from datetime import date

import pytest

import typedj as tj
from tests.lab import Lab, declare_lab


@pytest.fixture
def lab(schema: tj.Schema) -> Lab:
    lab = declare_lab(schema)
    lab.Subject.insert([{"subject_id": i, "species": "mouse"} for i in (1, 2, 3)])
    lab.Session.insert([
        {"subject_id": s, "session_id": k, "session_date": date(2024, 1, k)} for s in (1, 2) for k in (1, 2)
    ])
    lab.Spikes.insert([{"subject_id": s, "session_id": k, "n_units": 2} for s in (1, 2) for k in (1, 2)],
                      allow_direct_insert=True)
    lab.Spikes.Unit.insert(  # type: ignore[attr-defined]
        [{"subject_id": s, "session_id": k, "unit_id": u} for s in (1, 2) for k in (1, 2) for u in (1, 2)],
        allow_direct_insert=True,
    )
    lab.Cell.insert([(1, 0.0), (2, 0.0), (3, 0.0)])
    lab.Synapse.insert([(1, 2, 0.5), (2, 3, 0.5), (3, 1, 0.5)])
    lab.Device.insert1({"device_id": 1, "serial": "00000000-0000-0000-0000-000000000001", "subject_id": 1})
    return lab


def test_update1_changes_one_secondary_attribute(lab: Lab) -> None:
    lab.Subject.update1({"subject_id": 2, "notes": "limping", "sex": "M"})
    row = (lab.Subject & {"subject_id": 2}).fetch1()
    assert (row.notes, row.sex) == ("limping", "M")
    assert (lab.Subject & {"subject_id": 1}).fetch1("notes") == ""


def test_update1_refusals(lab: Lab) -> None:
    with pytest.raises(tj.ValidationError, match="'sex'"):
        lab.Subject.update1({"subject_id": 2, "sex": "Q"})
    with pytest.raises(tj.TypedjError, match="no row with key"):
        lab.Subject.update1({"subject_id": 99, "notes": "x"})
    with pytest.raises(tj.TypedjError, match="must give its primary key"):
        lab.Subject.update1({"notes": "x"})
    with pytest.raises(tj.UnknownAttributeError, match="colour"):
        lab.Subject.update1({"subject_id": 2, "colour": "x"})
    with pytest.raises(tj.TypedjError, match="Manual and Lookup"):
        lab.Spikes.update1({"subject_id": 1, "session_id": 1, "n_units": 5})
    assert (lab.Subject & {"subject_id": 2}).fetch1("sex") == "U"
    assert (lab.Spikes & {"subject_id": 1, "session_id": 1}).fetch1("n_units") == 2


def test_cascade_preview_then_delete(lab: Lab, schema: tj.Schema) -> None:
    s = schema.name
    preview = (lab.Subject & {"subject_id": 1}).delete(dry_run=True)
    assert preview == {
        f"{s}.subject": 1, f"{s}.session": 2, f"{s}.__spikes": 2, f"{s}.__spikes__unit": 4, f"{s}.device": 1,
    }
    assert len(lab.Session) == 4  # a preview deletes nothing
    assert (lab.Subject & {"subject_id": 1}).delete() == preview
    assert sorted(k["subject_id"] for k in lab.Subject.keys()) == [2, 3]
    assert {k["subject_id"] for k in lab.Session.keys()} == {2}
    assert len(lab.Spikes.Unit) == 4  # type: ignore[attr-defined]
    assert len(lab.Device) == 0


def test_cascade_through_renamed_references(lab: Lab, schema: tj.Schema) -> None:
    deleted = (lab.Cell & {"cell_id": 1}).delete()
    assert deleted == {f"{schema.name}.cell": 1, f"{schema.name}.synapse": 2}
    assert lab.Synapse.to_dicts() == [{"pre_cell": 2, "post_cell": 3, "weight": 0.5}]


def test_restricted_by_query_and_exclusion(lab: Lab, schema: tj.Schema) -> None:
    counts = (lab.Subject - lab.Session).delete()
    assert counts == {f"{schema.name}.subject": 1}
    assert sorted(k["subject_id"] for k in lab.Subject.keys()) == [1, 2]


def test_part_integrity(lab: Lab, schema: tj.Schema) -> None:
    unit = lab.Spikes.Unit  # type: ignore[attr-defined]
    with pytest.raises(tj.IntegrityError, match="without their master"):
        (unit & {"unit_id": 1}).delete()
    assert len(unit) == 8
    assert (unit & {"subject_id": 1, "unit_id": 1}).delete(part_integrity="ignore") == {
        f"{schema.name}.__spikes__unit": 2
    }
    deleted = (unit & {"subject_id": 2, "session_id": 1}).delete(part_integrity="cascade")
    assert deleted == {f"{schema.name}.__spikes": 1, f"{schema.name}.__spikes__unit": 2}
    assert len(lab.Spikes) == 3
    # deleting masters takes their parts with them
    assert (lab.Spikes & {"subject_id": 1}).delete() == {
        f"{schema.name}.__spikes": 2, f"{schema.name}.__spikes__unit": 2
    }


def test_delete_is_one_transaction(lab: Lab, schema: tj.Schema, conn: tj.Connection) -> None:
    # the server refuses the Session rows, after the parts, masters and devices below
    # them were deleted: the whole cascade must come back
    if conn.dialect.name == "mysql":
        conn.query(
            f"CREATE TRIGGER `{schema.name}`.`keep_sessions` BEFORE DELETE ON `{schema.name}`.`session` "
            "FOR EACH ROW SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'sessions are kept'"
        )
    elif conn.dialect.name == "postgresql":
        keep = conn.dialect.table(schema.name, "keep_sessions")
        conn.query(f"CREATE FUNCTION {keep}() RETURNS trigger LANGUAGE plpgsql AS "
                   "$$ BEGIN RAISE EXCEPTION 'sessions are kept'; END $$")
        session = conn.dialect.table(schema.name, "session")
        conn.query(f"CREATE TRIGGER keep_sessions BEFORE DELETE ON {session} "
                   f"FOR EACH ROW EXECUTE FUNCTION {keep}()")
    else:
        conn.query(
            f"CREATE TRIGGER {conn.dialect.table(schema.name, 'keep_sessions')} BEFORE DELETE ON "
            f"{conn.dialect.table(schema.name, 'session')} "
            "BEGIN SELECT RAISE(ABORT, 'sessions are kept'); END"
        )
    before = (len(lab.Subject), len(lab.Session), len(lab.Spikes), len(lab.Device))
    with pytest.raises(Exception, match="sessions are kept"):
        (lab.Subject & {"subject_id": 1}).delete()
    assert (len(lab.Subject), len(lab.Session), len(lab.Spikes), len(lab.Device)) == before
    with pytest.raises(RuntimeError), conn.transaction():
        (lab.Subject & {"subject_id": 3}).delete()
        raise RuntimeError("abort the outer transaction")
    assert len(lab.Subject) == 3


def test_drop_table_takes_dependents(lab: Lab, schema: tj.Schema) -> None:
    dropped = lab.Session.drop()
    assert dropped == [f"{schema.name}.__spikes__unit", f"{schema.name}.__spikes", f"{schema.name}.session"]
    assert "session" not in schema.list_tables() and "__spikes" not in schema.list_tables()
    assert "subject" in schema.list_tables()
    with pytest.raises(tj.DeclarationError, match="not declared"):
        lab.Session.fetch()


def test_drop_schema(schema_name: str, conn: tj.Connection) -> None:
    s = tj.Schema(schema_name, connection=conn)
    declare_lab(s)
    s.drop()
    assert not conn.catalog.schema_exists(schema_name)
