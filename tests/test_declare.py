"""Declarations become exactly DataJoint's tables: names, column types, comments, keys, lineage."""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal
from typing import Literal

import numpy as np
import pytest

import typedj as tj
from tests.lab import declare_lab
from typedj import Attr, Blob, Key, Manual, Ref


def create_sql(conn: tj.Connection, schema: str, table: str) -> str:
    return str(conn.query(f"SHOW CREATE TABLE `{schema}`.`{table}`").fetchone()[1])


def column_line(ddl: str, column: str) -> str:
    match = re.search(rf"^\s*`{column}` (.*?),?$", ddl, re.M)
    assert match, f"no column {column} in\n{ddl}"
    return match.group(1)


def test_table_names_follow_tiers(schema: tj.Schema) -> None:
    lab = declare_lab(schema)
    assert lab.Species.table_name == "#species"
    assert lab.Subject.table_name == "subject"
    assert lab.Spikes.table_name == "__spikes"
    assert lab.Spikes.Unit.table_name == "__spikes__unit"  # type: ignore[attr-defined]
    assert sorted(schema.list_tables()) == sorted(
        ["#species", "subject", "session", "cell", "synapse", "device", "note", "__spikes",
         "__spikes__unit", "#config"]
    )


@pytest.mark.requires("mysql_server", reason="checks MySQL's DDL text (SHOW CREATE TABLE)")
def test_column_types_and_comments(schema: tj.Schema, conn: tj.Connection) -> None:
    declare_lab(schema)
    ddl = create_sql(conn, schema.name, "subject")
    assert column_line(ddl, "subject_id") == "int(11) NOT NULL COMMENT ':int32:subject id'"
    assert column_line(ddl, "species") == "varchar(32) NOT NULL"
    assert column_line(ddl, "sex") == (
        "enum('M','F','U') NOT NULL DEFAULT 'U' COMMENT ':enum(''M'',''F'',''U''):'"
    )
    assert column_line(ddl, "date_of_birth") == "date DEFAULT NULL COMMENT ':date:'"
    assert column_line(ddl, "weight") == "decimal(5,2) NOT NULL DEFAULT 20.00 COMMENT ':decimal(5,2):'"
    assert column_line(ddl, "notes") == "varchar(1024) NOT NULL DEFAULT '' COMMENT ':varchar(1024):free text'"
    assert "PRIMARY KEY (`subject_id`)" in ddl
    assert "FOREIGN KEY (`species`) REFERENCES `#species` (`species`) ON UPDATE CASCADE" in ddl
    assert "KEY `sex` (`sex`,`weight`)" in ddl
    assert "COMMENT='Experimental subjects.'" in ddl

    session = create_sql(conn, schema.name, "session")
    assert column_line(session, "subject_id") == "int(11) NOT NULL COMMENT 'subject id'"
    assert column_line(session, "session_id") == "smallint(6) NOT NULL COMMENT ':int16:'"
    assert column_line(session, "started") == (
        "datetime(3) NOT NULL DEFAULT current_timestamp(3) COMMENT ':datetime(3):'"
    )
    assert "PRIMARY KEY (`subject_id`,`session_id`)" in session

    device = create_sql(conn, schema.name, "device")
    assert column_line(device, "device_id") == "tinyint(3) unsigned NOT NULL"
    assert column_line(device, "serial") == "binary(16) NOT NULL COMMENT ':uuid:'"
    assert column_line(device, "active") == "tinyint(4) NOT NULL DEFAULT 1 COMMENT ':bool:'"
    assert "COMMENT ':json:'" in column_line(device, "settings")
    assert column_line(device, "firmware") == "longblob DEFAULT NULL COMMENT ':bytes:'"
    assert column_line(device, "owner") if False else column_line(device, "subject_id") == (
        "int(11) DEFAULT NULL COMMENT 'subject id'"
    )

    unit = create_sql(conn, schema.name, "__spikes__unit")
    assert column_line(unit, "waveform") == "longblob DEFAULT NULL COMMENT ':<blob>:'"
    assert "REFERENCES `__spikes` (`subject_id`, `session_id`)" in unit

    synapse = create_sql(conn, schema.name, "synapse")
    assert column_line(synapse, "pre_cell") == "int(11) NOT NULL"
    assert "FOREIGN KEY (`pre_cell`) REFERENCES `cell` (`cell_id`)" in synapse
    assert "FOREIGN KEY (`post_cell`) REFERENCES `cell` (`cell_id`)" in synapse
    assert column_line(synapse, "weight") == "double NOT NULL COMMENT ':float64:'"

    note = create_sql(conn, schema.name, "note")
    assert column_line(note, "_singleton") == (
        "tinyint(4) NOT NULL DEFAULT 1 COMMENT ':bool:singleton primary key'"
    )
    assert "PRIMARY KEY (`_singleton`)" in note

    config = create_sql(conn, schema.name, "#config")
    assert column_line(config, "config_id") == "int(11) NOT NULL AUTO_INCREMENT COMMENT ':int32:'"
    assert "UNIQUE KEY `name` (`name`)" in config


def test_lineage_rows(schema: tj.Schema, conn: tj.Connection) -> None:
    declare_lab(schema)
    sql = f"SELECT table_name, attribute_name, lineage FROM {conn.dialect.table(schema.name, '~lineage')}"
    rows = set(conn.query(sql).fetchall())
    s = schema.name
    expected = {
        ("#species", "species", f"{s}.#species.species"),
        ("subject", "subject_id", f"{s}.subject.subject_id"),
        ("subject", "species", f"{s}.#species.species"),
        ("session", "subject_id", f"{s}.subject.subject_id"),
        ("session", "session_id", f"{s}.session.session_id"),
        ("synapse", "pre_cell", f"{s}.cell.cell_id"),
        ("synapse", "post_cell", f"{s}.cell.cell_id"),
        ("device", "subject_id", f"{s}.subject.subject_id"),
        ("note", "_singleton", f"{s}.note._singleton"),
        ("__spikes__unit", "unit_id", f"{s}.__spikes__unit.unit_id"),
        ("__spikes__unit", "session_id", f"{s}.session.session_id"),
    }
    assert expected <= rows
    assert not any(r[0] == "subject" and r[1] == "sex" for r in rows)  # native secondary: no row


def test_heading_and_describe(schema: tj.Schema) -> None:
    lab = declare_lab(schema)
    heading = lab.Session.heading
    assert heading.primary_key == ["subject_id", "session_id"]
    assert heading.secondary == ["session_date", "started"]
    assert heading["session_id"].type_name == "int16"
    assert heading["subject_id"].comment == "subject id"
    assert lab.Subject.describe() == (
        "# Experimental subjects.\n"
        "subject_id           : int32                        # subject id\n"
        "---\n"
        "-> Species\n"
        "sex=\"U\"              : enum('M','F','U')\n"
        "date_of_birth=null   : date\n"
        "weight=20.00         : decimal(5,2)\n"
        "notes=\"\"             : varchar(1024)                # free text\n"
        "INDEX (sex, weight)\n"
    )
    assert lab.Synapse.describe().splitlines()[:4] == [
        "# A connection between two cells.",
        '-> Cell.proj(pre_cell="cell_id")',
        '-> Cell.proj(post_cell="cell_id")',
        "---",
    ]
    assert lab.Spikes.Unit.describe().splitlines()[0] == "-> Spikes"  # type: ignore[attr-defined]
    assert "-> [nullable] Subject" in lab.Device.describe()


def test_lookup_contents_inserted(schema: tj.Schema) -> None:
    lab = declare_lab(schema)
    assert sorted(lab.Species.fetch("species")) == ["mouse", "rat"]


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("fetch: Key[int]", "'fetch' is reserved"),
        ("x: Key[int]\n    y: complex", "unsupported type"),
        ("x: Key[int | None]", "cannot be nullable"),
        ("x: Key[int]\n    d: Decimal", "needs Attr(precision=..., scale=...)"),
        ("x: Key[int]\n    b: Blob[np.ndarray] = Attr(default=b'x')", "may only default to None"),
        ("x: Key[int]\n    t: int = Attr(default=tj.CURRENT_TIMESTAMP)", "CURRENT_TIMESTAMP"),
        ("x: Key[str] = Attr(auto_increment=True)", "auto_increment"),
        ("x: Key[int]\n    e: Literal[1, 2]", "must list strings"),
        ("x: Key[int]\n    c: int = Attr(comment=':oops')", "may not start with ':'"),
        ("x: Key[int]\n    Bad: int", "lowercase"),
        ("x: Key[int]\n    indexes = [tj.Index('nope')]", "not attributes"),
    ],
)
def test_bad_declarations_are_refused(schema: tj.Schema, body: str, message: str) -> None:
    namespace = {"tj": tj, "Key": Key, "Attr": Attr, "Blob": Blob, "np": np, "Decimal": Decimal,
                 "Literal": Literal, "Manual": Manual, "__name__": __name__}
    exec(f"class Bad(Manual):\n    {body}\n", namespace)
    with pytest.raises(tj.DeclarationError, match=re.escape(message)):
        schema(namespace["Bad"])
    assert "bad" not in schema.tables


def test_class_name_must_be_camel_case(schema: tj.Schema) -> None:
    class bad_name(Manual):
        x: Key[int]

    with pytest.raises(tj.DeclarationError, match="CamelCase"):
        schema(bad_name)


def test_mismatch_with_existing_table_lists_differences(schema_name: str, conn: tj.Connection) -> None:
    first = tj.Schema(schema_name, connection=conn)

    @first
    class Probe(Manual):
        probe_id: Key[int]
        label: str = Attr(max_length=16)

    again = tj.Schema(schema_name, connection=conn)

    class Probe(Manual):  # type: ignore[no-redef]  # noqa: F811 - the same class, changed
        probe_id: Key[int]
        label: str = Attr(max_length=32)
        extra: float = 0.0

    with pytest.raises(tj.DeclarationError) as info:
        again(Probe)
    text = str(info.value)
    assert "'label': type varchar(32) declared, varchar(16) in the table" in text
    assert "attribute 'extra' is declared but not in the table" in text


def test_same_declaration_binds_to_existing_table(schema_name: str, conn: tj.Connection) -> None:
    def declare() -> type:
        s = tj.Schema(schema_name, connection=conn)

        @s
        class Probe(Manual):
            probe_id: Key[int]
            label: str = Attr(max_length=16, comment="a label")
            when: date | None = None

        return Probe

    first = declare()
    first.insert1({"probe_id": 1, "label": "a"})
    second = declare()
    assert second.fetch1("label") == "a"


def test_cross_schema_reference(schema_name: str, conn: tj.Connection) -> None:
    upstream = tj.Schema(schema_name + "_up", connection=conn)
    downstream = tj.Schema(schema_name, connection=conn)

    @upstream
    class Animal(Manual):
        animal_id: Key[int]

    @downstream
    class Visit(Manual):
        animal: Key[Ref[Animal]]
        visit: Key[int]

    try:
        if conn.dialect.name == "mysql":
            ddl = create_sql(conn, schema_name, "visit")
            assert f"REFERENCES `{schema_name}_up`.`animal` (`animal_id`)" in ddl
        assert Visit._def.foreign_keys[0].parent_schema == f"{schema_name}_up"
        lineage = conn.query(
            f"SELECT lineage FROM {conn.dialect.table(schema_name, '~lineage')} "
            "WHERE table_name='visit' AND attribute_name='animal_id'"
        ).fetchone()[0]
        assert lineage == f"{schema_name}_up.animal.animal_id"
        Animal.insert1({"animal_id": 7})
        Visit.insert1({"animal_id": 7, "visit": 1})
        assert (Animal & {"animal_id": 7}).delete() == {
            f"{schema_name}_up.animal": 1, f"{schema_name}.visit": 1,
        }
        assert "Visit.proj" not in Visit.describe()
        assert f"-> {schema_name}_up.Animal" in Visit.describe()
    finally:
        downstream.drop()
        upstream.drop()


def test_forward_reference_waits_for_parent(schema: tj.Schema) -> None:
    with pytest.warns(tj.DeclarationPendingWarning, match="Child waits for Parent"):
        @schema
        class Child(Manual):
            parent: Key[Ref[Parent]]
            child_id: Key[int]

    with pytest.raises(tj.DeclarationError, match="not declared yet"):
        Child.fetch()

    @schema
    class Parent(Manual):
        parent_id: Key[int]

    assert Child.primary_key == ["parent_id", "child_id"]
    assert schema.list_tables() == ["parent", "child"]


def test_unique_and_nullable_references(schema: tj.Schema, conn: tj.Connection) -> None:
    @schema
    class Rig(Manual):
        rig_id: Key[int]

    @schema
    class Setup(Manual):
        setup_id: Key[int]
        rig: Ref[Rig] = tj.Link(unique=True)
        spare: Ref[Rig] = tj.Link(nullable=True, rename={"rig_id": "spare_rig"})

    if conn.dialect.name == "mysql":
        ddl = create_sql(conn, schema.name, "setup")
        assert "UNIQUE KEY `rig_id` (`rig_id`)" in ddl
        assert column_line(ddl, "spare_rig") == "int(11) DEFAULT NULL"
    Rig.insert([(1,), (2,)])
    Setup.insert1({"setup_id": 1, "rig_id": 1})
    assert Setup.fetch1().spare == {"rig_id": None}
    with pytest.raises(tj.DuplicateError):
        Setup.insert1({"setup_id": 2, "rig_id": 1})
    assert "-> [unique] Rig" in Setup.describe()
    assert '-> [nullable] Rig.proj(spare_rig="rig_id")' in Setup.describe()


def test_dependency_cycles_are_refused() -> None:
    from typedj import graph
    from typedj.heading import Attribute, ForeignKey, Heading, TableDef

    key = Heading.of([Attribute("x", "int32", "int", in_key=True)])
    a = TableDef("s", "a", key, foreign_keys=(ForeignKey("s", "b", {"x": "x"}),))
    b = TableDef("s", "b", key, foreign_keys=(ForeignKey("s", "a", {"x": "x"}),))
    with pytest.raises(tj.DeclarationError, match="cycle"):
        graph.build([a, b])
    c = TableDef("s", "c", key, foreign_keys=(ForeignKey("s", "d", {"x": "x"}),))
    d = TableDef("s", "d", key)
    assert graph.ordered(graph.build([c, d])) == ["s.d", "s.c"]


def test_every_reserved_name_is_on_table_classes_or_read_from_their_body(schema: tj.Schema) -> None:
    from typedj.declare import RESERVED
    from typedj.query.expression import Query

    body = {"contents", "definition", "indexes", "master", "schema", "make", "make_fetch", "make_compute",
            "make_insert"}
    surface = {n for c in (tj.Computed, tj.Part, type(tj.Computed), Query) for n in dir(c)}
    assert sorted(RESERVED - surface - body) == []

    @schema
    class Options(Manual):  # insert's and fetch's keywords are not table methods
        replace: Key[int]
        limit: int
        order_by: str

    Options.insert1({"replace": 1, "limit": 2, "order_by": "x"})
    assert Options.to_dicts() == [{"replace": 1, "limit": 2, "order_by": "x"}]
