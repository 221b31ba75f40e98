"""Which rows a dataset holds: the restricted rows, the downstream tables asked for (parts
always), and, found later from the rows themselves, everything upstream they reference.

The downstream selection is a query per table, built as the delete cascade builds its
plan: a child is restricted by its restricted parents' keys. Upstream rows are not
planned here: they are read from the exported rows' foreign keys (``dataset.py``), which
keeps the SQL small however deep and wide the pipeline is.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import networkx as nx

from .. import graph as graphs
from ..backend.connection import Connection
from ..codegen import class_path, tier_of
from ..diagram import _full_graph
from ..errors import DatasetError
from ..heading import TableDef
from ..query.expression import Query, TableNode


@dataclass
class Plan:
    """The tables of an export and the query that selects each one's first rows."""

    connection: Connection
    graph: nx.DiGraph
    selected: dict[str, Query[Any]]
    """Tables whose rows are chosen by a query (restricted, parts, downstream asked for)."""
    restriction: list[dict[str, Any]] = field(default_factory=list)
    """What the user asked, for the manifest: table, SQL and parameters of each restriction."""

    def table(self, name: str) -> TableDef:
        table_def: TableDef = self.graph.nodes[name]["table"]
        return table_def

    @property
    def tables(self) -> list[str]:
        """Every table that can hold rows of the dataset: the selected ones and their ancestors."""
        names = set(self.selected)
        for name in self.selected:
            names |= nx.ancestors(self.graph, name)
        return graphs.ordered(self.graph, names)


def node(conn: Connection, name: str) -> TableNode:
    schema, table = name.split(".", 1)
    result: TableNode = conn.schemas[schema].node(table)
    return result


def _base(query: Query[Any]) -> str:
    n: Any = query._node
    while not isinstance(n, TableNode):
        child = getattr(n, "child", None)
        if child is None or type(n).__name__ != "Restrict":
            raise DatasetError(
                "export takes tables and restrictions of tables, not joins or projections: "
                f"{n.describe()}"
            )
        n = child
    return f"{n.schema}.{n.table}"


def _as_query(item: Any) -> list[Query[Any]]:
    from ..schema import Schema

    if isinstance(item, Query):
        return [item]
    if isinstance(item, Schema):
        return [Query(item.node(t)) for t in item.list_tables()]
    query = getattr(item, "_query", None)
    if callable(query):
        return [query()]
    raise DatasetError(f"export: {item!r} is not a table, a restriction of one or a schema")


def resolve_table(conn: Connection, graph: nx.DiGraph, name: str) -> str:
    """``schema.table`` or ``schema.Class`` (``lab.Activity.Peak``) as a node of the graph."""
    schema, _, table = name.partition(".")
    if f"{schema}.{table}" in graph:
        return f"{schema}.{table}"
    for n in graph:
        s, t = n.split(".", 1)
        if s == schema and class_path(t) == table:
            return str(n)
    raise DatasetError(f"no table {name!r}: give schema.table or schema.ClassName")


def parts_of(graph: nx.DiGraph, name: str) -> list[str]:
    schema, table = name.split(".", 1)
    return [c for c in graph.successors(name)
            if c.split(".", 1)[0] == schema and tier_of(c.split(".", 1)[1])[1] == table]


def _refuse_unsupported(graph: nx.DiGraph, selected: dict[str, Any]) -> None:
    """datajoint 0.14's external storage keeps its references in ``~external_*`` tables,
    which an export does not carry yet: refused by name before anything is written."""
    names = set(selected)
    for name in selected:
        names |= nx.ancestors(graph, name)
    for name in names:
        table: TableDef | None = graph.nodes[name].get("table")
        if table is None:
            raise DatasetError(f"{name}: a table the export needs is not on the server", table=name)
        legacy = [a.name for a in table.heading if a.kind.startswith("legacy_")]
        if legacy:
            raise DatasetError(
                f"{name}: attributes {legacy} use datajoint 0.14's external storage, which export "
                "does not support yet", table=name, attribute=legacy[0])


def plan(restrictions: Iterable[Any], include: Iterable[Any] = ()) -> Plan:
    """Plan an export of ``restrictions`` (queries, table classes, schemas) and the
    downstream tables ``include`` (classes, queries or ``schema.table`` names)."""
    queries = [q for item in restrictions for q in _as_query(item)]
    if not queries:
        raise DatasetError("export needs at least one table, restriction or schema")
    conn = queries[0].connection
    if any(q.connection is not conn for q in queries):
        raise DatasetError("export: every restriction must come from the same database connection")
    graph = _full_graph(conn)
    seeds: dict[str, list[Query[Any]]] = {}
    for q in queries:
        seeds.setdefault(_base(q), []).append(q)
    wanted: set[str] = set()
    for item in include:
        if isinstance(item, str):
            wanted.add(resolve_table(conn, graph, item))
        else:
            wanted |= {_base(q) for q in _as_query(item)}
    reach: dict[str, Query[Any]] = {}
    for name, qs in seeds.items():
        reach[name] = qs[0] if len(qs) == 1 else Query(node(conn, name)) & list(qs)
    downstream = set(seeds)
    for name in seeds:
        downstream |= nx.descendants(graph, name)
    for name in graphs.ordered(graph, downstream):
        if name in reach:
            continue
        parents = {p: fk for p, fk in graphs.parents(graph, name) if p in reach}
        implied = {p for p in parents if any(p in nx.ancestors(graph, o) for o in parents if o != p)}
        query: Query[Any] = Query(node(conn, name))
        for parent, fk in parents.items():
            if parent in implied:
                continue  # restricted through a descendant of it, which carries the same key
            renames = {local: remote for local, remote in fk.attr_map.items() if local != remote}
            query = query & reach[parent].proj(**renames)
        reach[name] = query
    outside = sorted(wanted - downstream)
    if outside:
        raise DatasetError(
            f"include: {outside} are not downstream of the restricted tables {sorted(seeds)}; "
            "restrict them directly instead"
        )
    chosen = set(seeds) | wanted
    for name in list(chosen):
        stack = [name]
        while stack:
            for part in parts_of(graph, stack.pop()):
                if part not in chosen:
                    chosen.add(part)
                    stack.append(part)
    selected = {n: reach[n] for n in graphs.ordered(graph, chosen)}
    _refuse_unsupported(graph, selected)
    restriction = []
    for name, qs in seeds.items():
        for q in qs:
            sql, params = q.compile()
            restriction.append({"table": name, "sql": sql, "parameters": [str(p) for p in params]})
    return Plan(conn, graph, selected, restriction)
