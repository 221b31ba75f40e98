"""Schema drift: ``schema.diff()`` finds each kind of change; ``alter()`` applies safe ones."""

from __future__ import annotations

import io
import sys

import pytest

import typedj as tj
from typedj import Attr, Key, Link, Lookup, Manual, Ref
from typedj.drift import alter_table

pytestmark = [
    pytest.mark.requires("supports_alter_table", reason="ALTER TABLE and information_schema"),
    pytest.mark.filterwarnings("ignore::typedj.DriftWarning"),  # drift is what these tests make
]


def _animal(schema: tj.Schema) -> type:
    """The table as first declared."""

    @schema
    class Animal(Manual):
        """animals"""

        animal_id: Key[int]
        name: str = Attr(max_length=64)
        weight: float = 0.0
        notes: str = Attr(default="", max_length=100, comment="free text")
        indexes = [tj.Index("name")]

    return Animal


def _original(schema: tj.Schema) -> tuple[type, type]:
    Animal = _animal(schema)

    @schema
    class Visit(Manual):
        animal: Key[Ref[Animal]]
        visit: Key[int]

    return Animal, Visit


def _fresh(conn: tj.Connection, name: str) -> tj.Schema:
    """A second Schema object on the same database, as a restarted program would make."""
    conn.schemas.pop(name, None)
    return tj.Schema(name, connection=conn, allow_drift=True)


def _kinds(diffs: list[tj.Difference]) -> set[tuple[str, str | None]]:
    return {(d.kind, d.attribute) for d in diffs}


def test_no_drift_no_differences(schema: tj.Schema) -> None:
    _original(schema)
    assert schema.diff() == []


def test_mismatch_raises_without_allow_drift(schema: tj.Schema, conn: tj.Connection) -> None:
    _original(schema)
    conn.schemas.pop(schema.name)
    again = tj.Schema(schema.name, connection=conn)
    with pytest.raises(tj.DeclarationError, match="weight"):
        @again
        class Animal(Manual):
            """animals"""

            animal_id: Key[int]
            name: str = Attr(max_length=64)


def test_each_kind_of_change_is_listed(schema: tj.Schema, conn: tj.Connection) -> None:
    _original(schema)
    s = _fresh(conn, schema.name)

    @s
    class Animal(Manual):
        """animals of the lab"""

        animal_id: Key[int]
        name: str = Attr(max_length=100)                       # type changed
        weight: float | None = None                            # nullable and default changed
        notes: str = Attr(default="", max_length=100, comment="notes")  # comment changed
        age: int = 0                                           # added
        indexes = [tj.Index("name", "age")]                    # index changed

    diffs = s.diff()
    assert _kinds(diffs) == {
        ("type", "name"), ("nullable", "weight"), ("default", "weight"), ("comment", "notes"),
        ("added", "age"), ("index_added", None), ("index_removed", None), ("table_comment", None),
    }
    assert all(d.safe for d in diffs)
    by_kind = {d.kind: d for d in diffs}
    assert by_kind["type"].declared == "varchar(100)" and by_kind["type"].existing == "varchar(64)"
    assert by_kind["comment"].declared == "'notes'" and by_kind["comment"].existing == "'free text'"
    assert by_kind["index_added"].declared == "INDEX (name, age)"
    assert by_kind["index_removed"].existing == "INDEX (name)"
    assert "varchar(100) declared, varchar(64) in the table" in str(by_kind["type"])
    # bound to the table as it is: queries keep working before alter()
    assert Animal.heading["name"].sql_type == "varchar(64)"
    assert Animal.fetch() == []


def test_removed_attribute_and_key_changes(schema: tj.Schema, conn: tj.Connection) -> None:
    _original(schema)
    s = _fresh(conn, schema.name)

    @s
    class Animal(Manual):
        """animals"""

        animal_id: Key[int]
        name: str = Attr(max_length=64)
        notes: str = Attr(default="", max_length=100, comment="free text")
        indexes = [tj.Index("name")]

    @s
    class Visit(Manual):
        animal: Key[Ref[Animal]]
        visit: int                                             # left the primary key

    diffs = s.diff()
    assert _kinds(diffs) == {("removed", "weight"), ("key", "visit")}
    removed = next(d for d in diffs if d.kind == "removed")
    assert removed.safe and removed.existing == "float64 (double)"
    key = next(d for d in diffs if d.kind == "key")
    assert not key.safe and "not alterable" in str(key)


def test_reference_changes_are_listed_and_refused(schema: tj.Schema, conn: tj.Connection) -> None:
    _original(schema)
    s = _fresh(conn, schema.name)

    Animal = _animal(s)

    @s
    class Visit(Manual):
        animal: Key[Ref[Animal]]
        visit: Key[int]
        buddy: Ref[Animal] | None = Link(rename={"animal_id": "buddy_id"}, nullable=True)

    diffs = s.diff()
    assert _kinds(diffs) == {("added", "buddy_id"), ("reference_added", None)}
    assert not any(d.safe for d in diffs)
    with pytest.raises(tj.DeclarationError, match="identity of every row") as err:
        Visit.alter(force=True)
    assert "buddy_id" in str(err.value)
    assert "buddy_id" not in conn.catalog.load_catalog(s.name)["visit"].heading


def _dry_run(schema: tj.Schema, conn: tj.Connection) -> tuple[list[str], str, tj.Schema]:
    """A drifted Animal (a column dropped, one added, one changed), altered with dry_run."""
    Animal0, _ = _original(schema)
    Animal0.insert1(animal_id=1, name="Rex")
    s = _fresh(conn, schema.name)

    @s
    class Animal(Manual):
        """animals"""

        animal_id: Key[int]
        name: str = Attr(max_length=100, comment="given name")
        notes: str = Attr(default="", max_length=100, comment="free text")
        age: int | None = None
        indexes = [tj.Index("name")]

    out = io.StringIO()
    sql = alter_table(Animal, dry_run=True, out=out)  # type: ignore[arg-type]
    return sql, out.getvalue(), s


def test_alter_dry_run_prints_sql_and_changes_nothing(schema: tj.Schema, conn: tj.Connection) -> None:
    sql, printed, s = _dry_run(schema, conn)
    q, text = conn.dialect.quote, "\n".join(sql)
    assert f"ALTER TABLE {conn.dialect.table(s.name, 'animal')}" in text
    assert f"DROP COLUMN {q('weight')}" in text and f"ADD COLUMN {q('age')}" in text
    assert all(statement in printed for statement in sql)
    assert len(s.diff()) == 4


@pytest.mark.requires("mysql_server", reason="MySQL's spelling of ALTER TABLE")
def test_alter_is_one_mysql_statement(schema: tj.Schema, conn: tj.Connection) -> None:
    sql, _, s = _dry_run(schema, conn)
    assert len(sql) == 1
    statement = sql[0]
    assert statement.startswith(f"ALTER TABLE `{s.name}`.`animal`")
    assert "DROP COLUMN `weight`" in statement
    assert "ADD COLUMN `age` int DEFAULT NULL COMMENT ':int32:' AFTER `notes`" in statement
    assert "MODIFY COLUMN `name` varchar(100) NOT NULL COMMENT ':varchar(100):given name'" in statement


def test_alter_refuses_without_a_terminal(schema: tj.Schema, conn: tj.Connection,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    _original(schema)
    s = _fresh(conn, schema.name)

    @s
    class Animal(Manual):
        """animals"""

        animal_id: Key[int]
        name: str = Attr(max_length=64)
        weight: float = 0.0
        notes: str = Attr(default="", max_length=100, comment="free text")
        legs: int = 4
        indexes = [tj.Index("name")]

    monkeypatch.setattr(sys, "stdin", io.StringIO(""))
    with pytest.raises(tj.TypedjError, match="no terminal to confirm on; nothing was changed"):
        Animal.alter()
    assert _kinds(s.diff()) == {("added", "legs")}


def test_alter_applies_safe_changes_and_rebinds(schema: tj.Schema, conn: tj.Connection) -> None:
    Animal0, _ = _original(schema)
    Animal0.insert([{"animal_id": 1, "name": "Rex", "weight": 3.5}, {"animal_id": 2, "name": "Tom"}])
    s = _fresh(conn, schema.name)

    @s
    class Animal(Manual):
        """animals of the lab"""

        animal_id: Key[int]
        name: str = Attr(max_length=100, comment="given name")
        weight: float | None = None
        legs: int = 4
        indexes = [tj.Index("name", unique=True)]

    assert Animal.alter(force=True) != []
    assert s.diff() == []
    table = conn.catalog.load_catalog(s.name)["animal"]
    assert table.comment == "animals of the lab"
    assert table.heading["name"].sql_type == "varchar(100)" and table.heading["name"].comment == "given name"
    assert "notes" not in table.heading
    assert [(i.attributes, i.unique) for i in table.indexes] == [(("name",), True)]
    rows = sorted(Animal.to_dicts(), key=lambda r: r["animal_id"])
    assert rows == [
        {"animal_id": 1, "name": "Rex", "weight": 3.5, "legs": 4},
        {"animal_id": 2, "name": "Tom", "weight": 0.0, "legs": 4},
    ]
    Animal.insert1(animal_id=3, name="Kit", legs=3)
    assert (Animal & {"animal_id": 3}).fetch1("legs") == 3
    assert Animal.alter(force=True) == []


def test_alter_refuses_a_required_attribute_on_a_table_with_rows(schema: tj.Schema,
                                                                   conn: tj.Connection) -> None:
    Animal0, _ = _original(schema)
    Animal0.insert1(animal_id=1, name="Rex")
    s = _fresh(conn, schema.name)

    @s
    class Animal(Manual):
        """animals"""

        animal_id: Key[int]
        name: str = Attr(max_length=64)
        weight: float = 0.0
        notes: str = Attr(default="", max_length=100, comment="free text")
        born: int
        indexes = [tj.Index("name")]

    with pytest.raises(tj.DeclarationError, match=r"cannot add required attribute\(s\) \['born'\]") as err:
        Animal.alter(force=True)
    assert err.value.attribute == "born" and "1 rows" in str(err.value)
    assert "born" not in conn.catalog.load_catalog(s.name)["animal"].heading


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_alter_asks_on_a_terminal(
    schema: tj.Schema,
    conn: tj.Connection,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    _original(schema)
    s = _fresh(conn, schema.name)

    @s
    class Animal(Manual):
        """animals"""

        animal_id: Key[int]
        name: str = Attr(max_length=64)
        weight: float = 0.0
        notes: str = Attr(default="", max_length=100, comment="free text")
        legs: int = 4
        indexes = [tj.Index("name")]

    monkeypatch.setattr(sys, "stdin", _Terminal("no\n"))
    assert Animal.alter() == []
    assert "Nothing was changed." in capsys.readouterr().out
    assert _kinds(s.diff()) == {("added", "legs")}
    monkeypatch.setattr(sys, "stdin", _Terminal("yes\n"))
    assert Animal.alter() != []
    assert s.diff() == []


def test_alter_without_prompt(
    schema: tj.Schema, conn: tj.Connection, monkeypatch: pytest.MonkeyPatch
) -> None:
    _original(schema)
    s = _fresh(conn, schema.name)

    Animal = _animal(s)

    @s
    class Visit(Manual):
        animal: Key[Ref[Animal]]
        visit: Key[int]
        note: str = ""

    monkeypatch.setattr(sys, "stdin", io.StringIO(""))
    assert f"ADD COLUMN {conn.dialect.quote('note')}" in "\n".join(Visit.alter(prompt=False))
    assert s.diff() == []


def test_lookup_contents_of_a_drifted_class_go_in_after_alter(schema: tj.Schema, conn: tj.Connection) -> None:
    @schema
    class Method(Lookup):
        method: Key[str] = Attr(max_length=16)
        contents = [("fast",)]

    s = _fresh(conn, schema.name)

    @s
    class Method(Lookup):  # type: ignore[no-redef]  # noqa: F811 - the changed class
        method: Key[str] = Attr(max_length=16)
        speed: int = 0
        contents = [("fast", 3), ("slow", 1)]

    assert Method.to_dicts() == [{"method": "fast"}]
    Method.alter(force=True)
    assert sorted(Method.to_dicts(), key=lambda r: r["method"]) == [
        {"method": "fast", "speed": 0}, {"method": "slow", "speed": 1}]


def test_alter_drops_an_attribute_with_its_index(schema: tj.Schema, conn: tj.Connection) -> None:
    _original(schema)
    s = _fresh(conn, schema.name)

    @s
    class Animal(Manual):
        """animals"""

        animal_id: Key[int]
        weight: float = 0.0
        notes: str = Attr(default="", max_length=100, comment="free text")

    assert _kinds(s.diff()) == {("removed", "name"), ("index_removed", None)}
    sql = "\n".join(Animal.alter(force=True))
    assert sql.index("DROP INDEX") < sql.index(f"DROP COLUMN {conn.dialect.quote('name')}")
    assert s.diff() == []
