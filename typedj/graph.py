"""The dependency graph of the tables on a server: declaration order, cascade order.

Plain functions over a ``networkx.DiGraph`` whose nodes are full table names
(``schema.table``) and whose edges, parent to child, carry the foreign key.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

import networkx as nx

from .binding import load_schema
from .errors import DeclarationError
from .heading import ForeignKey, TableDef

if TYPE_CHECKING:
    from .backend.connection import Connection


def build(tables: Iterable[TableDef]) -> nx.DiGraph:
    """Tables as nodes, foreign keys as edges; a cycle is refused."""
    graph = nx.DiGraph()
    defs = list(tables)
    for t in defs:
        graph.add_node(t.full_name, table=t)
    for t in defs:
        for fk in t.foreign_keys:
            if fk.parent_table.startswith("~"):
                continue  # datajoint 0.14's ~external_<store>: bookkeeping, not a pipeline table
            parent = f"{fk.parent_schema}.{fk.parent_table}"
            if graph.has_edge(parent, t.full_name):
                graph.edges[parent, t.full_name]["fks"].append(fk)
            else:
                graph.add_edge(parent, t.full_name, fks=[fk])
    if not nx.is_directed_acyclic_graph(graph):
        cycle = nx.find_cycle(graph)
        raise DeclarationError(f"the tables depend on each other in a cycle: {cycle}")
    return graph


def ordered(graph: nx.DiGraph, nodes: Iterable[str] | None = None) -> list[str]:
    """Parents before children, ties broken by name so the order is the same every time."""
    sub = graph if nodes is None else graph.subgraph(nodes)
    return list(nx.lexicographical_topological_sort(sub))


def descendants(graph: nx.DiGraph, node: str) -> list[str]:
    """``node`` and everything that depends on it, parents first."""
    return ordered(graph, {node} | nx.descendants(graph, node))


def children(graph: nx.DiGraph, node: str) -> list[tuple[str, ForeignKey]]:
    return [(child, fk) for child in sorted(graph.successors(node)) for fk in graph.edges[node, child]["fks"]]


def parents(graph: nx.DiGraph, node: str) -> list[tuple[str, ForeignKey]]:
    return [
        (parent, fk) for parent in sorted(graph.predecessors(node)) for fk in graph.edges[parent, node]["fks"]
    ]


def related(graph: nx.DiGraph, node: str, relation: str) -> list[str]:
    """Tables related to ``node``: ``parents``/``children`` (one step), ``ancestors``/
    ``descendants`` (the node itself included, as in DataJoint), or ``parts`` (tables
    named ``<node>__part``), parents before children."""
    if node not in graph:
        return []
    if relation == "parents":
        found = set(graph.predecessors(node))
    elif relation == "children":
        found = set(graph.successors(node))
    elif relation == "ancestors":
        found = {node} | nx.ancestors(graph, node)
    elif relation == "descendants":
        found = {node} | nx.descendants(graph, node)
    elif relation == "parts":
        found = {n for n in graph if n.startswith(f"{node}__") and "__" not in n[len(node) + 2:]}
    else:
        raise ValueError(f"unknown relation {relation!r}")
    return ordered(graph, found)


def for_connection(conn: Connection) -> nx.DiGraph:
    """The graph of every schema loaded on ``conn`` and every schema that references them."""
    cached: nx.DiGraph | None = conn.graph
    if cached is not None:
        return cached
    names = set(conn.schemas)
    frontier = set(names)
    while frontier:
        referencing = _referencing_schemas(conn, frontier) - names
        for name in referencing:
            load_schema(conn, name)
        names |= referencing
        frontier = referencing
    tables = [t for s in names for t in conn.schemas[s].tables.values() if not t.name.startswith("~")]
    graph = build(tables)
    conn.graph = graph
    return graph


def _referencing_schemas(conn: Connection, schemas: set[str]) -> set[str]:
    if not schemas:
        return set()
    return conn.catalog.referencing_schemas(schemas)


def invalidate(conn: Connection) -> None:
    conn.graph = None
