"""Reading a schema's tables from the catalog into ``ClassSpec``s."""

from __future__ import annotations

import keyword
from dataclasses import dataclass, field
from typing import Any

import networkx as nx

from ..backend.connection import Connection
from ..declare import RESERVED, TIER_PREFIX, snake_case
from ..errors import DeclarationError
from ..heading import Attribute, ForeignKey, TableDef
from ..legacy import untracked
from ..query.expression import Query
from ..schema import Schema
from .names import class_name, literal, open_schema, python_name, tier_of
from .spec import (
    VOCABULARY,
    Call,
    ClassSpec,
    Expr,
    FieldSpec,
    Lit,
    ModuleSpec,
    Name,
    Optional,
    Sub,
    TableClass,
    attribute_field,
    call_options,
)


def read_schema(
    schema_name: str,
    *,
    connection: Connection | None = None,
    contents: bool = False,
    max_contents: int = 1000,
    links: bool = True,
) -> ModuleSpec:
    """The classes of every table of ``schema_name``, as data.

    ``links=True`` declares inherited columns as ``Link`` columns, which mypy and pyright
    type without a plugin, wherever a table's foreign keys allow it (each column in one
    reference, a reference's columns side by side); ``links=False`` writes ``Ref`` fields.
    """
    schema = open_schema(schema_name, connection)
    schema.reload()
    tables = {n: untracked(t) for n, t in schema.tables.items() if not n.startswith("~")}
    unnamed = [n for n in tables if _table_of_class(n) != n]
    if unnamed:
        raise DeclarationError(
            f"tables {sorted(unnamed)!r} of {schema_name!r} have names no DataJoint class gives; "
            "they cannot be declared as classes"
        )
    parts: dict[str, list[str]] = {}
    for name in tables:
        master = tier_of(name)[1]
        if master is not None:
            if master not in tables:
                raise DeclarationError(f"part table {schema_name}.{name} has no master table {master}")
            parts.setdefault(master, []).append(name)
    reader = _Reader(schema, tables, parts, {n: _top(n) for n in tables}, contents, max_contents, links)
    classes = []
    for name in _master_order(tables, reader.tops):
        classes.append(reader.class_spec(name))
        reader.defined.add(name)
    top_names = {class_name(n) for n in tables if tier_of(n)[1] is None}
    return ModuleSpec(schema_name, classes, sorted(reader.others), bool(top_names & set(VOCABULARY)))


def _link_owners(table: TableDef, implied: ForeignKey | None) -> dict[str, ForeignKey] | None:
    """The reference each inherited column comes by, when every reference can be written as
    ``Link`` columns: no column in two references, each reference's columns side by side in
    its parent's key order, and a reference to the same parent as the one before it starting
    again at its parent's first key column (``Link`` columns group that way). Else None."""
    owner: dict[str, ForeignKey] = {}
    for fk in table.foreign_keys:
        for column in fk.attr_map:
            if column in owner:
                return None
            owner[column] = fk
    names = [a.name for a in table.heading if not a.is_hidden]
    previous: ForeignKey | None = None
    seen: list[ForeignKey] = []
    for name in names:
        current = owner.get(name)
        if current is not None and current is not previous:
            columns = list(current.attr_map)
            start = names.index(name)
            if current in seen or names[start:start + len(columns)] != columns:
                return None
            seen.append(current)
        previous = current
    if implied is not None:
        for column in implied.attr_map:
            owner.pop(column, None)
    return owner


def _top(table: str) -> str:
    master = tier_of(table)[1]
    return table if master is None else _top(master)


def _table_of_class(table: str) -> str:
    tier, master = tier_of(table)
    try:
        stem = snake_case(class_name(table))
    except DeclarationError:
        return ""
    if master is not None:
        return f"{_table_of_class(master)}__{stem}"
    return TIER_PREFIX[tier] + stem


def _master_order(tables: dict[str, TableDef], tops: dict[str, str]) -> list[str]:
    """Masters (with their parts) parents first, by name among equals."""
    graph = nx.DiGraph()
    graph.add_nodes_from(set(tops.values()))
    for name, table in tables.items():
        for fk in table.foreign_keys:
            parent = tops.get(fk.parent_table) if fk.parent_schema == table.schema else None
            if parent is not None and parent != tops[name]:
                graph.add_edge(parent, tops[name])
    if not nx.is_directed_acyclic_graph(graph):
        return sorted(graph.nodes)  # the references that point ahead are written as strings
    return list(nx.lexicographical_topological_sort(graph))


def _ref_name(fk: ForeignKey, taken: set[str]) -> str:
    """A name for a reference: the parent's, or what its renamed columns have in common.

    ``pre_cell`` <- ``cell_id`` gives ``pre_cell``; ``first_channel`` <- ``channel`` gives
    ``first``; ``reviewer_id`` <- ``animal_id`` gives ``reviewer``.
    """
    base = snake_case(class_name(fk.parent_table))
    renamed = [(local, parent) for local, parent in fk.attr_map.items() if local != parent]
    if renamed:
        local, parent = renamed[0]
        base = local
        if local.endswith("_" + parent):
            base = local[: -len(parent) - 1]
        else:
            suffix = parent[parent.rfind("_"):] if "_" in parent else ""
            if suffix and local.endswith(suffix) and len(local) > len(suffix):
                base = local[: -len(suffix)]
    own = set(fk.attr_map) if len(fk.attr_map) == 1 else set()
    name, n = base, 2
    while (name in taken - own) or name in RESERVED or keyword.iskeyword(name):
        name, n = f"{base}_{n}", n + 1
    return name


@dataclass
class _Reader:
    schema: Schema
    tables: dict[str, TableDef]
    parts: dict[str, list[str]]
    tops: dict[str, str]
    contents: bool
    max_contents: int
    links: bool = True
    defined: set[str] = field(default_factory=set)
    others: set[str] = field(default_factory=set)

    def class_spec(self, name: str) -> ClassSpec:
        table = self.tables[name]
        tier, master = tier_of(name)
        spec = ClassSpec(name, class_name(name), tier, doc=table.comment)
        where = f"{self.schema.name}.{name}"
        columns = table.heading.all_names
        for column in columns:
            if not column.startswith("_"):
                python_name(column, where)
        fk_columns = {col for fk in table.foreign_keys for col in fk.attr_map}
        # a reference is written where its last column stands, so shared columns come first
        at_column: dict[str, list[ForeignKey]] = {}
        for fk in table.foreign_keys:
            at_column.setdefault(max(fk.attr_map, key=columns.index), []).append(fk)
        unique_fks = {tuple(fk.attr_map) for fk in table.foreign_keys
                      if any(i.unique and set(i.attributes) == set(fk.attr_map) for i in table.indexes)}
        implied = self._implied_master_ref(table, master)
        owner = _link_owners(table, implied) if self.links else None
        if owner is not None and any(self._forward(table, fk) for fk in owner.values()):
            owner = None  # a Link names its parent's class, which must exist already
        taken = {a.name for a in table.heading if a.name not in fk_columns}
        for attr in table.heading:
            if attr.is_hidden:
                continue
            if attr.name not in fk_columns:
                spec.fields.append(attribute_field(attr, f"{where}.{attr.name}"))
            elif owner is not None:
                link = owner.get(attr.name)
                if link is not None:
                    unique = tuple(link.attr_map) in unique_fks
                    spec.fields.append(self._link_column(table, link, attr, f"{where}.{attr.name}", unique))
                continue
            for fk in at_column.get(attr.name, []):
                if fk is implied:
                    continue  # the reference to the master is implied by nesting
                ref_name = python_name(_ref_name(fk, taken), where)
                taken.add(ref_name)
                spec.fields.append(self._reference(table, fk, ref_name, tuple(fk.attr_map) in unique_fks))
        spec.indexes = [
            Call(Name("tj.Index"), tuple(Lit(a) for a in i.attributes),
                 (("unique", Lit(True)),) if i.unique else ())
            for i in table.indexes if not (i.unique and tuple(i.attributes) in unique_fks)
        ]
        if self.contents and tier == "Lookup":
            self._read_contents(spec)
        spec.parts = [self.class_spec(part) for part in sorted(self.parts.get(name, []))]
        return spec

    def _implied_master_ref(self, table: TableDef, master: str | None) -> ForeignKey | None:
        """The reference to the master that nesting declares, or None (see ``declare``)."""
        if master is None:
            return None
        own = [fk for fk in table.foreign_keys if fk.parent_schema == table.schema]
        to_master = next((fk for fk in own if fk.parent_table == master and not fk.renamed and fk.in_key),
                         None)
        via_sibling = any(fk.in_key and tier_of(fk.parent_table)[1] == master for fk in own)
        if to_master is None and not via_sibling:
            raise DeclarationError(
                f"part table {table.schema}.{table.name} references neither its master {master} "
                "nor a part of it in its primary key; a typedj Part cannot declare that",
                table=table.name,
            )
        return None if via_sibling else to_master

    def _forward(self, table: TableDef, fk: ForeignKey) -> bool:
        """Whether ``fk``'s parent class is not made yet where ``table``'s class is written."""
        return fk.parent_schema == table.schema and self.tops[fk.parent_table] not in self.defined

    def _parent(self, table: TableDef, fk: ForeignKey) -> TableClass:
        if fk.parent_schema != table.schema:
            self.others.add(fk.parent_schema)
        return TableClass(fk.parent_schema, fk.parent_table, forward=self._forward(table, fk))

    def _link_column(
        self, table: TableDef, fk: ForeignKey, attr: Attribute, where: str, unique: bool
    ) -> FieldSpec:
        """``name: Key[T] = Link(Parent[, "parent_column"], ...)``: a column typed in place."""
        line = attribute_field(attr, where)
        parent_column = fk.attr_map[attr.name]
        args: tuple[Expr, ...] = (self._parent(table, fk),)
        if parent_column != attr.name:
            args += (Lit(parent_column),)
        options: dict[str, Any] = {}
        if fk.nullable:
            options["nullable"] = True
        if unique:
            options["unique"] = True
        return FieldSpec(line.name, line.annotation, Call(Name("Link"), args, call_options(options)))

    def _reference(self, table: TableDef, fk: ForeignKey, name: str, unique: bool) -> FieldSpec:
        target = self._parent(table, fk)
        annotation: Expr = Sub(Name("Ref"), (target,))
        if fk.in_key:
            annotation = Sub(Name("Key"), (annotation,))
        options: dict[str, Any] = {}
        renames = {parent: local for local, parent in fk.attr_map.items() if local != parent}
        if renames:
            options["rename"] = renames
        if fk.nullable:
            annotation = Optional(annotation)
            options["nullable"] = True
        if unique:
            options["unique"] = True
        return FieldSpec(name, annotation, Call(Name("Link"), (), call_options(options)) if options else None)

    def _read_contents(self, spec: ClassSpec) -> None:
        query: Query[Any] = Query(self.schema.node(spec.table))
        if len(query) > self.max_contents:
            spec.note = f"contents: over {self.max_contents} rows, not written"
            return
        rows = query.to_dicts()
        try:
            for row in rows:
                literal(row)
        except TypeError as exc:
            spec.note = f"contents not written: {exc}"
            return
        spec.contents = rows


# -- writing source -------------------------------------------------------------------

