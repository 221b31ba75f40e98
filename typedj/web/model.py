"""One person's view of the pipeline: its tables, their classes, references and privileges.

Built on that person's connection from the catalog, through the same public functions
``typedj codegen`` and ``typedj diagram`` use (``virtual_module``, ``Diagram``), so the
classes carry the declared types and ``insert`` validates exactly as in Python. This is
the only module of the web app that looks at the server itself (schema list, privileges,
SQL spelling of a literal).
"""

from __future__ import annotations

import types
from dataclasses import dataclass
from typing import Any

import networkx as nx

import typedj as tj
from typedj.codegen import class_path, tier_of

EDITABLE_TIERS = {"Manual", "Lookup"}
TIER_ORDER = {"Lookup": 0, "Manual": 1, "Imported": 2, "Computed": 3, "Part": 4}


@dataclass(frozen=True)
class Reference:
    """One foreign key: the other table and the attribute map (child name -> parent name)."""

    table: str
    attr_map: dict[str, str]


class Pipeline:
    """Tables of the served schemas on one connection, with their typed classes."""

    def __init__(self, connection: tj.Connection, schemas: list[str] | None) -> None:
        self.connection = connection
        visible = connection.catalog.list_schemas()  # what this account may see
        names = visible if schemas is None else [s for s in schemas if s in visible]
        self.schemas = [s for s in names if not s.startswith("~")]
        self._modules: dict[str, types.ModuleType] = {}
        self._graph: nx.MultiDiGraph | None = None
        self._writable: dict[str, bool] = {}
        self._diagram: tj.Diagram | None = None

    def reload(self) -> None:
        self._modules.clear()
        self._graph = None
        self._diagram = None
        self._writable.clear()

    # -- structure ---------------------------------------------------------------

    @property
    def diagram(self) -> tj.Diagram:
        """The served schemas with the tables they reference elsewhere."""
        if self._diagram is None:
            for name in self.schemas:
                self.module(name)
            self._diagram = tj.Diagram(list(self.schemas), connection=self.connection)
            if self.schemas:
                self._diagram = self._diagram - 1
        return self._diagram

    @property
    def graph(self) -> nx.MultiDiGraph:
        if self._graph is None:
            self._graph = self.diagram.graph
        return self._graph

    def tables(self) -> list[str]:
        """Full names (``schema.table``), parents before children."""
        graph = self.graph
        order = list(
            nx.lexicographical_topological_sort(
                nx.DiGraph(graph), key=lambda t: (TIER_ORDER.get(self.tier(t), 9), self.label(t))
            )
        )
        return order

    def tier(self, table: str) -> str:
        return str(self.graph.nodes[table]["tier"])

    def label(self, table: str) -> str:
        return str(self.graph.nodes[table]["label"])

    def master(self, table: str) -> str | None:
        schema, name = table.split(".", 1)
        master = tier_of(name)[1]
        return f"{schema}.{master}" if master else None

    def parts(self, table: str) -> list[str]:
        return sorted(t for t in self.graph if self.master(t) == table)

    def parents(self, table: str) -> list[Reference]:
        return [Reference(p, dict(d["attr_map"])) for p, _, d in self.graph.in_edges(table, data=True)]

    def children(self, table: str) -> list[Reference]:
        return [Reference(c, dict(d["attr_map"])) for _, c, d in self.graph.out_edges(table, data=True)]

    def module(self, schema: str) -> types.ModuleType:
        module = self._modules.get(schema)
        if module is None:
            module = tj.virtual_module(schema, schema, connection=self.connection)
            self._modules[schema] = module
        return module

    def cls(self, table: str) -> Any:
        """The typed class of a table (``Master.Part`` for parts)."""
        if table not in self.graph:
            raise tj.MissingTableError(f"no table {table!r} here", table=table)
        schema, name = table.split(".", 1)
        obj: Any = self.module(schema)
        for step in class_path(name).split("."):
            obj = getattr(obj, step)
        return obj

    # -- privileges ---------------------------------------------------------------

    def may_write(self, table: str) -> bool:
        """Whether this account holds INSERT on the table (the server decides in the end)."""
        found = self._writable.get(table)
        if found is None:
            found = self._writable[table] = self._may_write(table)
        return found

    def _may_write(self, table: str) -> bool:
        schema, name = table.split(".", 1)
        return self.connection.catalog.may_write(schema, name)

    # -- SQL spelling for keyset paging and ranges -------------------------------------

    def quote(self, name: str) -> str:
        return self.connection.dialect.quote(name)

    def literal(self, value: Any) -> str:
        """A value already converted to its attribute's Python type, as SQL text."""
        return self.connection.dialect.literal(value)
