"""Schema drift: how table classes and their tables on the server differ, and safe ALTERs.

A class may change after its table was created (an attribute added, a comment edited).
``diff_tables`` lists each difference; ``alter_table`` applies the safe ones (secondary
attributes, indexes, the table comment), spelled by the dialect (``Dialect.alter_table``:
one ``ALTER TABLE`` on MySQL, which applies it entirely or not at all). Changes of the
primary key or of references change what a row *is*, so they are refused with an
explanation instead.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any, TextIO

from . import graph as graphs
from .backend.dialect import TableChange
from .binding import Loaded, bind, bound, with_lineage
from .declare import PLATFORM_COLUMNS
from .errors import ConfigError, DeclarationError, TypedjError
from .heading import Attribute, IndexDef, TableDef
from .types import MISSING

if TYPE_CHECKING:
    from .backend.connection import Connection

log = logging.getLogger("typedj")

_tolerate: ContextVar[bool] = ContextVar("typedj_tolerate_drift", default=False)

KEY_EXPLANATION = (
    "the primary key and the references say which row is which; changing them changes the "
    "identity of every row, which ALTER cannot do safely. Declare a new table (a new class), "
    "copy the rows into it (New.insert(Old.to_dicts(), ...)) and drop the old table."
)


@contextmanager
def tolerating() -> Iterator[None]:
    """While active, every schema binds mismatching classes as with ``allow_drift=True``.

    ``typedj diff`` imports a user's pipeline module under it so that the differences
    are listed instead of raised at the first ``@schema``.
    """
    token = _tolerate.set(True)
    try:
        yield
    finally:
        _tolerate.reset(token)


def tolerated() -> bool:
    return _tolerate.get()


@dataclass(frozen=True)
class Difference:
    """One way a class and its table disagree.

    ``kind`` is one of ``added`` (declared, not in the table), ``removed`` (in the table,
    not declared), ``type``, ``nullable``, ``default``, ``comment``, ``key``,
    ``reference_added``, ``reference_removed``, ``index_added``, ``index_removed``,
    ``table_comment``, ``missing_table``. ``safe`` says whether ``alter()`` applies it.
    """

    table: str
    kind: str
    attribute: str | None
    declared: str | None
    existing: str | None
    safe: bool

    def __str__(self) -> str:
        where = f"{self.table}.{self.attribute}" if self.attribute else self.table
        text = {
            "added": f"{where}: declared ({self.declared}) but not in the table",
            "removed": f"{where}: in the table ({self.existing}) but not declared",
            "missing_table": f"{where}: declared but the table does not exist",
            "reference_added": f"{where}: reference {self.declared} declared but not in the table",
            "reference_removed": f"{where}: reference {self.existing} in the table but not declared",
            "index_added": f"{where}: index {self.declared} declared but not in the table",
            "index_removed": f"{where}: index {self.existing} in the table but not declared",
        }.get(self.kind, f"{where}: {self.kind} {self.declared} declared, {self.existing} in the table")
        return text + ("" if self.safe else "  [not alterable]")

    def as_dict(self) -> dict[str, Any]:
        """The difference as plain data, for JSON output."""
        return {
            "table": self.table, "kind": self.kind, "attribute": self.attribute,
            "declared": self.declared, "existing": self.existing, "safe": self.safe,
        }


def _default_text(attr: Attribute) -> str | None:
    """A default in one spelling for both sides (the server reports defaults as SQL text)."""
    value = attr.default
    if value is MISSING:
        return None
    if value is None:
        return "NULL"
    text = str(value)
    if text.upper().startswith("CURRENT_TIMESTAMP"):
        return "CURRENT_TIMESTAMP"
    if isinstance(value, bool):
        return "1" if value else "0"
    if attr.kind in {"int", "float", "decimal", "bool"}:
        try:
            return str(Decimal(text).normalize())
        except InvalidOperation:
            return text
    return text


def _type_text(attr: Attribute) -> str:
    return attr.type_name if attr.type_name == attr.sql_type else f"{attr.type_name} ({attr.sql_type})"


def _same_type(a: Attribute, b: Attribute) -> bool:
    if a.type.canonical != b.type.canonical:
        return False
    if a.core and b.core:
        return "".join(a.type_name.lower().split()) == "".join(b.type_name.lower().split())
    return True


def diff_tables(declared: TableDef, existing: TableDef) -> list[Difference]:
    """Every difference between a class's definition and the table on the server."""
    out = _column_differences(declared, existing) + _constraint_differences(declared, existing)
    if declared.comment != existing.comment:
        out.append(_difference(declared.full_name, "table_comment", None, repr(declared.comment),
                               repr(existing.comment), True))
    return out


def _difference(table: str, kind: str, attr: str | None, mine: Any, theirs: Any, safe: bool) -> Difference:
    return Difference(table, kind, attr, None if mine is None else str(mine),
                      None if theirs is None else str(theirs), safe)


def _column_differences(declared: TableDef, existing: TableDef) -> list[Difference]:
    """Columns added, removed, or changed in key, type, nullability, default, comment."""
    name = declared.full_name
    d, e = declared.heading, existing.heading
    out: list[Difference] = []
    declared_fk_cols = {c for fk in declared.foreign_keys for c in fk.attr_map}
    existing_fk_cols = {c for fk in existing.foreign_keys for c in fk.attr_map}

    def diff(kind: str, attr: str | None, mine: Any, theirs: Any, safe: bool) -> None:
        out.append(_difference(name, kind, attr, mine, theirs, safe))

    for a in d:
        b = e.get(a.name)
        if b is None:
            diff("added", a.name, _type_text(a), None, not a.in_key and a.name not in declared_fk_cols)
    for b in e:
        if b.name not in d and b.name not in PLATFORM_COLUMNS:
            diff("removed", b.name, None, _type_text(b), not b.in_key and b.name not in existing_fk_cols)
    for a in d:
        b = e.get(a.name)
        if b is None:
            continue
        safe = not (a.in_key or b.in_key or a.name in declared_fk_cols or a.name in existing_fk_cols)
        if a.in_key != b.in_key:
            diff("key", a.name, "in the primary key" if a.in_key else "secondary",
                 "in the primary key" if b.in_key else "secondary", False)
            continue
        if not _same_type(a, b):
            diff("type", a.name, _type_text(a), _type_text(b), safe)
        if a.nullable != b.nullable:
            diff("nullable", a.name, a.nullable, b.nullable, safe)
        defaults = {_default_text(a), _default_text(b)}
        if len(defaults) == 2 and not (a.nullable and b.nullable and defaults <= {None, "NULL"}):
            diff("default", a.name, _default_text(a) or "no default", _default_text(b) or "no default", safe)
        if a.comment != b.comment:
            diff("comment", a.name, repr(a.comment), repr(b.comment), safe)
        if a.auto_increment != b.auto_increment:
            diff("key", a.name, f"auto_increment={a.auto_increment}",
                 f"auto_increment={b.auto_increment}", False)
    return out


def _constraint_differences(declared: TableDef, existing: TableDef) -> list[Difference]:
    """References and indexes added or removed."""
    name = declared.full_name

    def fk_text(fk: Any) -> str:
        return f"-> {fk.parent_schema}.{fk.parent_table} {dict(fk.attr_map)}"

    declared_fks = {fk_text(fk) for fk in declared.foreign_keys}
    existing_fks = {fk_text(fk) for fk in existing.foreign_keys}
    out = [_difference(name, "reference_added", None, text, None, False)
           for text in sorted(declared_fks - existing_fks)]
    out += [_difference(name, "reference_removed", None, None, text, False)
            for text in sorted(existing_fks - declared_fks)]
    declared_ix = {_index_text(i.attributes, i.unique) for i in declared.indexes}
    declared_ix |= {_index_text(tuple(fk.attr_map), True) for fk in declared.foreign_keys if fk.unique}
    existing_ix = {_index_text(i.attributes, i.unique) for i in existing.indexes}
    out += [_difference(name, "index_added", None, text, None, True)
            for text in sorted(declared_ix - existing_ix)]
    out += [_difference(name, "index_removed", None, None, text, True)
            for text in sorted(existing_ix - declared_ix)]
    return out


def _index_text(attributes: tuple[str, ...], unique: bool) -> str:
    return f"{'UNIQUE ' if unique else ''}INDEX ({', '.join(attributes)})"


def diff_schema(schema: Loaded) -> list[Difference]:
    """Differences of every class declared in ``schema``, read against a fresh catalog."""
    schema.reload()
    out: list[Difference] = []
    for table, declared in schema.declared.items():
        existing = schema.tables.get(table)
        if existing is None:
            out.append(Difference(declared.full_name, "missing_table", None, None, None, False))
        else:
            out += diff_tables(declared, existing)
    return out


# -- alter ---------------------------------------------------------------------------


def alter_table(
    cls: type[Any],
    *,
    prompt: bool = True,
    force: bool = False,
    dry_run: bool = False,
    out: TextIO | None = None,
) -> list[str]:
    """Make ``cls``'s table match the class; see ``TableMeta.alter``."""
    out = out or sys.stdout
    schema: Loaded = bound(cls)._schema
    conn = schema.connection
    if not conn.dialect.supports_alter_table:
        raise ConfigError(f"{cls.__name__}.alter(): {conn.dialect.name} cannot change an existing table "
                          "in place", table=bound(cls)._def.name)
    table = bound(cls)._def.name
    declared = schema.declared[table]
    schema.reload()
    existing = schema.tables.get(table)
    if existing is None:
        raise DeclarationError(f"{cls.__name__}: table {schema.name}.{table} does not exist", table=table)
    differences = diff_tables(declared, existing)
    refused = [d for d in differences if not d.safe]
    if refused:
        raise DeclarationError(
            f"{cls.__name__}.alter() refuses to change {schema.name}.{table}:\n  "
            + "\n  ".join(str(d) for d in refused) + "\nWhy: " + KEY_EXPLANATION,
            table=table, attribute=refused[0].attribute,
        )
    if not differences:
        return []
    _check_required_added(cls, declared, differences)
    statements = conn.dialect.alter_table(_change(schema, declared, existing, differences))
    print(f"Changes to {schema.name}.{table}:", file=out)
    for d in differences:
        print(f"  {d}", file=out)
    for sql in statements:
        print(sql + ";", file=out)
    if dry_run:
        return statements
    if prompt and not force:
        if sys.stdin is None or not sys.stdin.isatty():
            raise TypedjError(
                f"{cls.__name__}.alter(): no terminal to confirm on; nothing was changed. "
                "Pass force=True (or prompt=False) to apply without asking.",
                table=table,
            )
        answer = input(f"Apply these changes to {schema.name}.{table}? [yes/No] ")
        if answer.strip().lower() not in {"y", "yes"}:
            print("Nothing was changed.", file=out)
            return []
    try:
        _apply(conn, statements)
    except TypedjError:
        raise
    except Exception as exc:
        raise TypedjError(f"{cls.__name__}.alter() failed, nothing was changed: {exc}", table=table) from exc
    log.info("altered %s.%s: %s", schema.name, table, "; ".join(statements))
    _rebind(cls, schema, declared)
    return statements


def _apply(conn: Connection, statements: list[str]) -> None:
    """One statement alone (MySQL commits DDL by itself); several in one transaction."""
    if len(statements) == 1:
        conn.query(statements[0])
        return
    with conn.transaction():
        for sql in statements:
            conn.query(sql)


def _check_required_added(cls: type[Any], declared: TableDef, differences: list[Difference]) -> None:
    """A required attribute added to a table with rows would need values nobody gave."""
    required = [d.attribute for d in differences if d.kind == "added" and d.attribute
                and not declared.heading[d.attribute].has_default]
    if not required:
        return
    conn = bound(cls)._schema.connection
    table = conn.dialect.table(declared.schema, declared.name)
    rows = conn.query(f"SELECT COUNT(*) FROM {table}").fetchone()[0]
    if rows:
        raise DeclarationError(
            f"{cls.__name__}.alter(): cannot add required attribute(s) {required} to "
            f"{declared.full_name}, which has {rows} rows: give a default or make them nullable "
            "(then update the rows and remove the default)",
            table=declared.name, attribute=required[0],
        )


def _change(schema: Loaded, declared: TableDef, existing: TableDef,
            differences: list[Difference]) -> TableChange:
    """The differences as the change a dialect spells (``Dialect.alter_table``)."""
    kinds: dict[str, set[str]] = {}
    for d in differences:
        if d.attribute:
            kinds.setdefault(d.attribute, set()).add(d.kind)
    index_names = _index_names(schema, declared.name)
    declared_indexes = {_index_text(i.attributes, i.unique): i for i in declared.indexes}
    declared_indexes |= {_index_text(tuple(fk.attr_map), True): IndexDef(tuple(fk.attr_map), True)
                         for fk in declared.foreign_keys if fk.unique}
    return TableChange(
        declared, existing,
        dropped_indexes=tuple(index_names[d.existing] for d in differences
                              if d.kind == "index_removed" and d.existing),
        dropped_columns=tuple(n for n, changed in kinds.items() if "removed" in changed),
        added_columns=tuple(n for n, changed in kinds.items() if "added" in changed),
        changed_columns=tuple(n for n, changed in kinds.items()
                              if changed - {"added", "removed"} and n in declared.heading),
        added_indexes=tuple(declared_indexes[d.declared] for d in differences
                            if d.kind == "index_added" and d.declared),
        comment=any(d.kind == "table_comment" for d in differences),
    )


def _index_names(schema: Loaded, table: str) -> dict[str, str]:
    """Index text (as in ``Difference``) -> the index's name on the server."""
    names = schema.connection.catalog.index_names(schema.name, table)
    return {_index_text(cols, unique): index for index, (unique, cols) in names.items()}


def _rebind(cls: type[Any], schema: Loaded, declared: TableDef) -> None:
    schema.reload()
    existing = schema.tables[declared.name]
    bound = declared if not diff_tables(declared, existing) else existing
    bind(cls, schema, with_lineage(bound, schema.lineage.get(declared.name)))
    graphs.invalidate(schema.connection)
    contents = getattr(cls, "contents", None)
    if contents is not None and getattr(cls, "_tier", None) == "Lookup" and bound is declared:
        cls.insert(contents, skip_duplicates=True)
