"""Diagrams of pipelines in DataJoint's notation, drawn by graphviz or written as Mermaid.

A ``Diagram`` is a set of tables of the server's dependency graph (``graph.py``), read
from the catalog, so it draws schemas that have no Python classes as well. Diagrams
combine like DataJoint's: ``a + b`` (union), ``a - b`` (difference), ``a * b``
(intersection), ``d + n`` / ``d - n`` (grow ``n`` generations down / up).
"""

from __future__ import annotations

import types
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import networkx as nx

from . import graph as graphs
from .backend.connection import Connection, connect
from .codegen import class_path, open_schema, tier_of
from .errors import ConfigError, MissingTableError
from .optional import require

if TYPE_CHECKING:
    import graphviz

# DataJoint's notation: tiers by color and shape; parts small and plain.
TIER_STYLES: dict[str, dict[str, str]] = {
    "Lookup": {"shape": "plaintext", "style": "filled", "fillcolor": "#00000020", "fontcolor": "black",
               "fontsize": "10"},
    "Manual": {"shape": "box", "style": "filled", "fillcolor": "#00FF0030", "fontcolor": "darkgreen",
               "fontsize": "10"},
    "Imported": {"shape": "ellipse", "style": "filled", "fillcolor": "#00007F40", "fontcolor": "#00007FA0",
                 "fontsize": "10"},
    "Computed": {"shape": "ellipse", "style": "filled", "fillcolor": "#FF000020", "fontcolor": "#7F0000A0",
                 "fontsize": "10"},
    "Part": {"shape": "plaintext", "style": "", "fontcolor": "black", "fontsize": "8"},
}
RENAMED_COLOR = "#FF8800"
_MERMAID_CLASSES = {
    "Lookup": "fill:#e6e6e6,stroke:#999,color:#000",
    "Manual": "fill:#d9f7d9,stroke:#3c8d3c,color:#006400",
    "Imported": "fill:#d9d9f0,stroke:#5555aa,color:#00007f",
    "Computed": "fill:#f7dada,stroke:#aa5555,color:#7f0000",
    "Part": "fill:#ffffff,stroke:#bbb,color:#000,font-size:10px",
}
_MERMAID_SHAPES = {"Lookup": ("[", "]"), "Manual": ("[", "]"), "Imported": ("([", "])"),
                   "Computed": ("([", "])"), "Part": ("[", "]")}

Source = Any  # a Schema, a table class, a module with a ``schema``, a name, or several of them


class Diagram:
    """A set of tables to draw: ``Diagram(schema)``, ``Diagram(Session) + 1``, ...

    ``source`` is a ``Schema``, a table class, a (virtual) module holding a ``schema``,
    a schema name or ``"schema.table"`` name, another diagram, or a list of these.
    """

    connection: Connection
    nodes: frozenset[str]

    def __init__(self, source: Source, *, connection: Connection | None = None) -> None:
        if isinstance(source, Diagram):
            self.connection, self.nodes = source.connection, source.nodes
            return
        items = list(source) if isinstance(source, list | tuple | set | frozenset) else [source]
        self.connection = connection or _connection_of(items) or connect()
        nodes: set[str] = set()
        for item in items:
            nodes |= _nodes_of(item, self.connection)
        self.nodes = frozenset(nodes)
        missing = self.nodes - set(self._full)
        if missing:
            raise MissingTableError(f"not on the server: {sorted(missing)}")

    @classmethod
    def _of(cls, connection: Connection, nodes: Iterable[str]) -> Diagram:
        d = cls.__new__(cls)
        d.connection, d.nodes = connection, frozenset(nodes)
        return d

    @property
    def _full(self) -> nx.DiGraph:
        return _full_graph(self.connection)

    # -- algebra ---------------------------------------------------------------------

    def _other(self, other: Source) -> Diagram:
        return other if isinstance(other, Diagram) else Diagram(other, connection=self.connection)

    def __add__(self, other: Source | int) -> Diagram:
        if isinstance(other, int) and not isinstance(other, bool):
            return self._grow(other, nx.DiGraph.successors)
        return Diagram._of(self.connection, self.nodes | self._other(other).nodes)

    def __sub__(self, other: Source | int) -> Diagram:
        if isinstance(other, int) and not isinstance(other, bool):
            return self._grow(other, nx.DiGraph.predecessors)
        return Diagram._of(self.connection, self.nodes - self._other(other).nodes)

    def __mul__(self, other: Source) -> Diagram:
        return Diagram._of(self.connection, self.nodes & self._other(other).nodes)

    def __radd__(self, other: Source) -> Diagram:
        return self._other(other) + self

    def _grow(self, generations: int, step: Any) -> Diagram:
        graph = self._full
        nodes, frontier = set(self.nodes), set(self.nodes)
        for _ in range(generations):
            frontier = {n for f in frontier for n in step(graph, f)} - nodes
            if not frontier:
                break
            nodes |= frontier
        return Diagram._of(self.connection, nodes)

    def __len__(self) -> int:
        return len(self.nodes)

    def __contains__(self, item: object) -> bool:
        name = getattr(item, "full_table_name", item)
        return name in self.nodes

    def __repr__(self) -> str:
        shown = ", ".join(self.graph.nodes[n]["label"] for n in graphs.ordered(self.graph))
        return f"Diagram({len(self.nodes)} tables: {shown})"

    # -- the graph to draw ---------------------------------------------------------------

    @property
    def graph(self) -> nx.MultiDiGraph[str]:
        """The selected tables and the references among them, with their drawing style.

        Nodes (``schema.table``) carry ``tier``, ``label``, ``schema``, ``table`` and
        ``style`` (graphviz attributes); each foreign key is an edge carrying
        ``primary``, ``renamed``, ``one_to_one``, ``nullable``, ``attr_map`` and ``style``.
        """
        full = self._full
        g = nx.MultiDiGraph()
        schemas = {n.split(".", 1)[0] for n in self.nodes}
        for name in sorted(self.nodes):
            schema, table = name.split(".", 1)
            tier = tier_of(table)[0]
            label = class_path(table)
            if len(schemas) > 1:
                label = f"{schema}.{label}"
            definition = full.nodes[name]["table"].heading.describe()
            g.add_node(name, tier=tier, label=label, schema=schema, table=table,
                       style=dict(TIER_STYLES[tier], tooltip=f"{name}\n{definition}"))
        for parent, child, data in full.edges(data=True):
            if parent not in self.nodes or child not in self.nodes:
                continue
            key = set(full.nodes[child]["table"].heading.primary_key)
            for fk in data["fks"]:
                one_to_one = bool(fk.in_key) and set(fk.attr_map) == key
                style = {"style": "solid" if fk.in_key else "dashed", "arrowhead": "none",
                         "penwidth": "2" if one_to_one else "1"}
                if fk.renamed:
                    renamed = [c for c, p in fk.attr_map.items() if c != p]
                    tooltip = ", ".join(f"{c}←{fk.attr_map[c]}" for c in renamed)
                    style |= {"color": RENAMED_COLOR, "fontcolor": RENAMED_COLOR, "fontsize": "8",
                              "label": ", ".join(renamed), "tooltip": tooltip}
                g.add_edge(parent, child, primary=bool(fk.in_key), renamed=fk.renamed,
                           one_to_one=one_to_one, nullable=bool(fk.nullable),
                           attr_map=dict(fk.attr_map), style=style)
        return g

    # -- output --------------------------------------------------------------------------

    def to_dot(self) -> graphviz.Digraph:
        """The diagram as a ``graphviz.Digraph`` (its ``.source`` is the dot text); needs the
        ``diagrams`` extra."""
        graphviz = require("graphviz", extra="diagrams", feature="drawing a diagram")

        g = self.graph
        dot = graphviz.Digraph("diagram", graph_attr={"rankdir": "TB", "nodesep": "0.3", "ranksep": "0.4"},
                               node_attr={"fontname": "Helvetica"}, edge_attr={"fontname": "Helvetica"})
        by_schema: dict[str, list[str]] = {}
        for name, data in g.nodes(data=True):
            by_schema.setdefault(data["schema"], []).append(name)
        for schema, names in sorted(by_schema.items()):
            target = dot
            cluster = None
            if len(by_schema) > 1:
                attrs = {"label": schema, "style": "dashed", "fontname": "Helvetica"}
                cluster = graphviz.Digraph(f"cluster_{schema}", graph_attr=attrs)
                target = cluster
            for name in names:
                data = g.nodes[name]
                target.node(name, label=data["label"].rsplit(".", 1)[-1] if data["tier"] == "Part"
                            else data["label"], **data["style"])
            if cluster is not None:
                dot.subgraph(cluster)
        for parent, child, data in g.edges(data=True):
            dot.edge(parent, child, **data["style"])
        return dot

    def to_mermaid(self) -> str:
        """The diagram as a Mermaid ``flowchart`` (for Markdown documentation)."""
        g = self.graph
        ids = {name: f"t{i}" for i, name in enumerate(graphs.ordered(nx.DiGraph(g)))}
        lines = ["flowchart TD"]
        by_schema: dict[str, list[str]] = {}
        for name in ids:
            by_schema.setdefault(g.nodes[name]["schema"], []).append(name)
        for schema, names in by_schema.items():
            indent = "    "
            if len(by_schema) > 1:
                lines.append(f'    subgraph {_mermaid_id(schema)}["{schema}"]')
                indent = "        "
            for name in names:
                data = g.nodes[name]
                left, right = _MERMAID_SHAPES[data["tier"]]
                lines.append(f'{indent}{ids[name]}{left}"{data["label"]}"{right}:::{data["tier"]}')
            if len(by_schema) > 1:
                lines.append("    end")
        for parent, child, data in g.edges(data=True):
            arrow = "===" if data["one_to_one"] else ("---" if data["primary"] else "-.-")
            label = f'|"{data["style"]["label"]}"|' if data["renamed"] else ""
            lines.append(f"    {ids[parent]} {arrow}{label} {ids[child]}")
        for tier, css in _MERMAID_CLASSES.items():
            lines.append(f"    classDef {tier} {css}")
        renamed = [i for i, (_, _, d) in enumerate(g.edges(data=True)) if d["renamed"]]
        if renamed:
            lines.append(f"    linkStyle {','.join(map(str, renamed))} stroke:{RENAMED_COLOR}")
        return "\n".join(lines) + "\n"

    def _pipe(self, fmt: str) -> bytes:
        graphviz = require("graphviz", extra="diagrams", feature="drawing a diagram")
        try:
            data: bytes = self.to_dot().pipe(format=fmt)
        except graphviz.ExecutableNotFound as exc:
            raise ConfigError("drawing needs the graphviz program `dot` (apt-get install graphviz)") from exc
        return data

    def make_svg(self) -> str:
        """The diagram rendered by graphviz as SVG text."""
        return self._pipe("svg").decode()

    def make_png(self) -> bytes:
        """The diagram rendered by graphviz as PNG bytes."""
        return self._pipe("png")

    def save(self, filename: str | Path, format: str | None = None) -> Path:
        """Write the diagram; the format (svg, png, pdf, dot, mermaid) follows the suffix."""
        path = Path(filename)
        fmt = (format or path.suffix.lstrip(".") or "svg").lower()
        fmt = {"gv": "dot", "mmd": "mermaid", "md": "mermaid"}.get(fmt, fmt)
        if fmt == "mermaid":
            path.write_text(self.to_mermaid())
        elif fmt == "dot":
            path.write_text(self.to_dot().source)
        elif fmt in {"svg", "png", "pdf"}:
            path.write_bytes(self._pipe(fmt))
        else:
            raise ConfigError(f"unknown diagram format {fmt!r}: use svg, png, pdf, dot or mermaid")
        return path

    def _repr_svg_(self) -> str:
        return self.make_svg()

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, str]:
        return {"image/svg+xml": self.make_svg(), "text/plain": repr(self)}


def _mermaid_id(text: str) -> str:
    return "".join(c if c.isalnum() else "_" for c in text)


def _connection_of(items: list[Any]) -> Connection | None:
    for item in items:
        if isinstance(item, Diagram):
            return item.connection
        schema = getattr(item, "_schema", None) or getattr(item, "schema", None)
        if schema is not None and hasattr(schema, "connection"):
            conn: Connection = schema.connection
            return conn
        if hasattr(item, "connection") and hasattr(item, "tables"):
            found: Connection = item.connection
            return found
    return None


def _nodes_of(item: Any, conn: Connection) -> set[str]:
    from .schema import Schema

    if isinstance(item, Diagram):
        return set(item.nodes)
    if isinstance(item, types.ModuleType):
        item = getattr(item, "schema", None)
        if not isinstance(item, Schema):
            raise TypeError("a module given to Diagram needs a `schema` (a tj.Schema)")
    if isinstance(item, Schema):
        return {f"{item.name}.{t}" for t in item.tables if not t.startswith("~")}
    if isinstance(item, type) and hasattr(item, "full_table_name"):
        return {str(item.full_table_name)}
    if isinstance(item, str):
        schema_name, _, table = item.partition(".")
        schema = open_schema(schema_name, conn)
        if not table:
            return _nodes_of(schema, conn)
        if table not in schema.tables:
            by_class = {class_path(t): t for t in schema.tables}
            if table not in by_class:
                raise MissingTableError(f"no table {table!r} in schema {schema_name!r}", table=table)
            table = by_class[table]
        return {f"{schema_name}.{table}"}
    raise TypeError(f"cannot draw {item!r}: give a Schema, a table class, a module or a name")


def _full_graph(conn: Connection) -> nx.DiGraph:
    """The connection's graph, with the schemas its tables reference loaded too."""
    for _ in range(100):
        graph = graphs.for_connection(conn)
        unloaded = {n.split(".", 1)[0] for n in graph if "table" not in graph.nodes[n]}
        if not unloaded:
            return graph
        for name in unloaded:
            open_schema(name, conn)
        graphs.invalidate(conn)
    return graph
