"""A dataset's table definitions as typedj source (code generation) and as DataJoint's
definition text, in a module that datajoint-python can run to declare the same tables."""

from __future__ import annotations

from ..backend.connection import Connection
from ..codegen import class_name, generate, tier_of
from ..definition import definition
from ..heading import TableDef


def typedj_source(schema: str, connection: Connection) -> str:
    return generate(schema, connection=connection)


def datajoint_source(schema: str, tables: dict[str, TableDef], order: list[str]) -> str:
    """A datajoint-python module declaring ``tables`` (parents first, parts nested)."""
    others = sorted({fk.parent_schema for t in tables.values() for fk in t.foreign_keys} - {schema})
    lines = [
        f'"""The tables of schema {schema!r} in DataJoint\'s definition syntax (by typedj export)."""',
        "",
        "import datajoint as dj",
        "",
        f"schema = dj.Schema({schema!r})",
        *[f"{o} = dj.VirtualModule({o!r}, {o!r})" for o in others],
    ]
    parts: dict[str, list[str]] = {}
    for name in order:
        master = tier_of(name)[1]
        if master is not None:
            parts.setdefault(master, []).append(name)
    for name in order:
        tier, master = tier_of(name)
        if master is not None:
            continue
        lines += ["", "", "@schema", f"class {class_name(name)}(dj.{tier}):"]
        lines += _definition(tables[name], "    ")
        for part in parts.get(name, []):
            lines += ["", f"    class {class_name(part)}(dj.Part):", *_definition(tables[part], "        ")]
    return "\n".join(lines) + "\n"


def _definition(table: TableDef, indent: str) -> list[str]:
    text = definition(table).replace("\\", "\\\\").replace('"""', '\\"\\"\\"')  # comments stay text
    master = tier_of(table.name)[1]
    if master is not None:  # a part's reference to its master is written -> master
        own = class_name(master)
        text = "\n".join("-> master" if line.strip() == f"-> {own}" else line for line in text.splitlines())
    body = [f"{indent}    {line}" if line else "" for line in text.splitlines()]
    return [f'{indent}definition = """', *body, f'{indent}"""']
