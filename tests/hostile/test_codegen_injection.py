"""Catalog names, comments, defaults and enum members written to run code: codegen
refuses the names and spells the strings as literals; ``virtual_module`` builds its
classes without executing anything, so nothing read from the database ever runs."""

from __future__ import annotations

import ast
import importlib.util
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Literal

import pytest

import typedj as tj
from typedj import Attr, Key, Lookup, Manual, Ref
from typedj.codegen import ModuleSpec, generate, generate_package, module_name, render

MARK = Path(f"/tmp/tjpwn{os.getpid()}")
RUN = f"open('{MARK}','w')"
NAME = f"x=0\n    {RUN}\n    y"  # what was pasted into a class body before
STRINGS = [
    f'a"""\n{RUN}\n"""',
    f"b'''\n{RUN}\n'''",
    f"c'); {RUN}; ('",
    'd\\", ' + RUN + ', "\\',
    f"e\\\n{RUN} #",
    "f\u2028" + RUN,
]


@pytest.fixture(autouse=True)
def no_mark() -> Iterator[None]:
    MARK.unlink(missing_ok=True)
    yield
    assert not MARK.exists(), "code from the catalog ran"


def _sql(text: str) -> str:
    return "'" + text.replace("\\", "\\\\").replace("'", "''") + "'"


def _import(conn: tj.Connection, source: str, path: Path, schema: str) -> Any:
    conn.schemas.pop(schema, None)
    path.write_text(source)
    spec = importlib.util.spec_from_file_location(f"hostile_{abs(hash(path))}", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    try:
        spec.loader.exec_module(module)
    finally:
        sys.modules.pop(spec.name, None)
    return module


def _hostile_column(conn: tj.Connection, schema: str, column: str) -> None:
    q = conn.dialect.quote
    conn.query(f"CREATE TABLE {conn.dialect.table(schema, 'thing')} (id int PRIMARY KEY, {q(column)} int)")


@pytest.mark.parametrize("column", [NAME, "class", "Upper", "a b", "ünï"])
def test_names_that_are_not_identifiers_are_refused(
    schema: tj.Schema, conn: tj.Connection, column: str
) -> None:
    _hostile_column(conn, schema.name, column)
    message = rf"{schema.name}\.thing.*attribute name {repr(column)[1:-1]!s}"
    with pytest.raises(tj.DeclarationError, match=message.replace("(", r"\(").replace(")", r"\)")[:60]):
        generate(schema.name, connection=conn)
    with pytest.raises(tj.DeclarationError, match="not a lowercase Python identifier"):
        tj.virtual_module("v", schema.name, connection=conn)
    with pytest.raises(tj.DeclarationError, match="not a lowercase Python identifier"):
        generate_package([schema.name], connection=conn)


@pytest.mark.requires("mysql_server", reason="creates tables with MySQL DDL")
def test_hostile_strings_from_mysql_are_literals(
    schema: tj.Schema, conn: tj.Connection, tmp_path: Path
) -> None:
    s = schema.name
    members = ",".join(_sql(v) for v in ["it's", 'say "hi"', "back\\slash", "x'); " + RUN + " #"])
    columns = ",\n".join(
        f"`c{i}` varchar(200) NOT NULL DEFAULT {_sql(text)} COMMENT {_sql(text)}"
        for i, text in enumerate(STRINGS)
    )
    conn.query(f"""CREATE TABLE `{s}`.`#kind` (
      `kind` varchar(200) NOT NULL COMMENT {_sql(STRINGS[0])},
      `shape` enum({members}) NOT NULL DEFAULT {_sql("x'); " + RUN + " #")},
      {columns},
      PRIMARY KEY (`kind`)) COMMENT={_sql(STRINGS[3])}""")
    rows = [(text, "it's") for text in STRINGS]
    for kind, shape in rows:
        conn.query(f"INSERT INTO `{s}`.`#kind` (kind, shape) VALUES (%s, %s)", (kind, shape))

    source = generate(s, connection=conn, contents=True)
    tree = ast.parse(source)
    cls = next(n for n in tree.body if isinstance(n, ast.ClassDef))
    assert ast.get_docstring(cls, clean=False) == STRINGS[3]
    assert all(isinstance(n, ast.AnnAssign | ast.Assign | ast.Expr) for n in cls.body)
    calls = {n.func.id for n in ast.walk(tree) if isinstance(n, ast.Call) and isinstance(n.func, ast.Name)}
    assert calls <= {"Attr"}

    module = _import(conn, source, tmp_path / "hostile_mysql.py", s)
    assert module.schema.diff() == []
    assert module.Kind.heading["c2"].comment == STRINGS[2]
    assert module.Kind.heading["c4"].default == STRINGS[4]
    assert sorted(r["kind"] for r in module.Kind.contents) == sorted(STRINGS)
    assert generate(s, connection=conn, contents=True) == source
    module.Kind.insert1({"kind": "new", "shape": "back\\slash"})
    assert (module.Kind & {"kind": "new"}).fetch1("shape") == "back\\slash"

    virtual = tj.virtual_module("hostile", s, connection=conn)
    assert virtual.schema.diff() == []
    assert virtual.__source__ == generate(s, connection=conn)
    assert sorted(virtual.Kind.fetch("kind")) == sorted([*STRINGS, "new"])
    assert virtual.Kind.__doc__ == STRINGS[3]


def test_hostile_strings_through_typedj_declarations(
    schema: tj.Schema, conn: tj.Connection, tmp_path: Path
) -> None:
    """On both backends: comments, defaults and enum members declared by typedj itself."""

    @schema
    class Kind(Lookup):
        """k'"; {RUN} \\ \"\"\" """

        kind: Key[str] = Attr(max_length=200, comment=STRINGS[0])
        shape: Literal["it's", 'say "hi"', "back\\slash", "x'); open('/tmp/x','w') #"] = "it's"
        c1: str = Attr(default=STRINGS[1], max_length=200, comment=STRINGS[2])
        c2: str = Attr(default=STRINGS[4], max_length=200, comment=STRINGS[5])

    @schema
    class Use(Manual):
        use_id: Key[int]
        kind: Ref[Kind]

    Kind.insert([{"kind": text} for text in STRINGS])
    Use.insert1(use_id=1, kind=STRINGS[2])
    Kind.insert1({"kind": "new", "shape": "back\\slash"})
    assert (Kind & {"shape": "back\\slash"}).fetch1("kind") == "new"
    source = generate(schema.name, connection=conn, contents=True)
    ast.parse(source)
    module = _import(conn, source, tmp_path / "hostile_declared.py", schema.name)
    assert module.schema.diff() == []
    assert module.Kind.heading["c2"].default == STRINGS[4]
    assert module.Use.fetch1("kind") == STRINGS[2]
    virtual = tj.virtual_module("hostile", schema.name, connection=conn)
    assert virtual.schema.diff() == []
    assert virtual.Kind.heading["shape"].type_name == Kind.heading["shape"].type_name
    assert sorted(virtual.Kind.fetch("kind")) == sorted([*STRINGS, "new"])


def test_schema_names_are_literals_and_module_names_identifiers() -> None:
    hostile = f'lab"""\n{RUN}\n"""'
    source = render(ModuleSpec(hostile, [], [], False))
    tree = ast.parse(source)
    assert repr(hostile) in (ast.get_docstring(tree) or "")
    schema_call = next(n for n in ast.walk(tree) if isinstance(n, ast.Call))
    assert isinstance(schema_call.args[0], ast.Constant) and schema_call.args[0].value == hostile
    for name in (hostile, "1lab", "class", "schema", "lab-ephys", "Lab"):
        module = module_name(name)
        assert module.isidentifier() and module.islower() and module not in {"class", "schema", "tj"}
    assert module_name("elem_lab") == "elem_lab"
