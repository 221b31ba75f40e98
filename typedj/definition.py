"""DataJoint's definition text of a table (what ``describe`` prints), from its definition:
works for a table read from the catalog as well as for a declared class."""

from __future__ import annotations

from .heading import TableDef


def _class_name(table: str) -> str:
    return "".join(p.capitalize() for p in table.split("__")[-1].lstrip("_#").split("_"))


def definition(table_def: TableDef) -> str:
    """DataJoint's definition text of a table read from the catalog (no class needed)."""
    lines = [f"# {table_def.comment}"] if table_def.comment else []
    fk_of = {col: fk for fk in reversed(table_def.foreign_keys) for col in fk.attr_map}
    done: set[int] = set()
    for in_key in (True, False):
        if not in_key and table_def.heading.secondary:  # as DataJoint: no divider before nothing
            lines.append("---")
        for attr in table_def.heading:
            if attr.in_key != in_key or attr.is_hidden:
                continue
            fk = fk_of.get(attr.name)
            if fk is None:
                lines.append(attr.definition_line())
                continue
            if id(fk) in done:
                continue
            done.add(id(fk))
            target = _class_name(fk.parent_table)  # DataJoint names the master too, not "master"
            if (fk.parent_table.count("__") and not fk.parent_table.startswith("__")) or (
                fk.parent_table.startswith("__") and fk.parent_table[2:].count("__")
            ) or (fk.parent_table.startswith("#") and "__" in fk.parent_table):
                head = fk.parent_table.rsplit("__", 1)[0]
                target = f"{_class_name(head)}.{target}"
            if fk.parent_schema != table_def.schema:
                target = f"{fk.parent_schema}.{target}"
            options = [o for o, on in (("nullable", fk.nullable), ("unique", fk.unique)) if on]
            opts = f"[{', '.join(options)}] " if options else ""
            renames = {local: parent for local, parent in fk.attr_map.items() if local != parent}
            proj = ""
            if renames:
                proj = ".proj(" + ",".join(f'{k}="{v}"' for k, v in renames.items()) + ")"
            lines.append(f"-> {opts}{target}{proj}")
    for index in table_def.indexes:
        lines.append(f"{'UNIQUE ' if index.unique else ''}INDEX ({', '.join(index.attributes)})")
    return "\n".join(lines) + "\n"
