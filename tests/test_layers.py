"""The import graph of typedj, counted the strict way: every ``import`` counts, including
those inside functions and under ``TYPE_CHECKING``. A cycle means two modules cannot be
understood (or changed) one without the other; the layer contracts themselves are checked
by import-linter (``lint-imports``, run by tests/run.sh; contracts in pyproject.toml).
"""

from __future__ import annotations

import ast
from pathlib import Path

import networkx as nx

ROOT = Path(__file__).resolve().parent.parent / "typedj"

MOST_MODULES_IN_CYCLES = 0
"""How many modules may be in an import cycle: none (46 when counted first, in issue 14).
What a lower layer needs of a higher one it gets through a protocol or a registration
(``binding.Loaded`` and ``load_schema``, ``schema.register_catalog_classes``,
``query.expression.register_deletion``), never by importing it."""


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported(path: Path, name: str, known: set[str]) -> set[str]:
    """The typedj modules ``path`` imports anywhere in its body (a package import names its
    ``__init__``; ``from package import module`` names the module)."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")
                anchor = anchor[: len(anchor) - node.level + 1]
                base = ".".join([*anchor, *([base] if base else [])])
            targets = [f"{base}.{alias.name}" if f"{base}.{alias.name}" in known else base
                       for alias in node.names]
        else:
            continue
        for target in targets:
            while target and target not in known:
                target = target.rpartition(".")[0]
            if target and target != name:
                found.add(target)
    return found


def import_graph() -> nx.DiGraph:
    files = {module_name(p): p for p in ROOT.rglob("*.py")}
    graph = nx.DiGraph()
    graph.add_nodes_from(files)
    for name, path in files.items():
        graph.add_edges_from((name, target) for target in imported(path, name, set(files)))
    return graph


def cycles() -> list[frozenset[str]]:
    """Groups of modules that import one another, directly or not (strongly connected)."""
    groups = nx.strongly_connected_components(import_graph())
    return sorted((frozenset(g) for g in groups if len(g) > 1), key=lambda g: (-len(g), sorted(g)))


def test_the_graph_sees_function_local_and_type_checking_imports(tmp_path: Path) -> None:
    graph = import_graph()
    assert graph.has_edge("typedj.backend.connection", "typedj.config")
    assert graph.has_edge("typedj.query.compiler", "typedj.backend.dialect")
    assert graph.has_edge("typedj.schema", "typedj.populate.jobs")  # under TYPE_CHECKING
    assert graph.has_edge("typedj.cascade", "typedj.query.compiler")  # imported inside a function


def test_import_cycles_do_not_grow() -> None:
    found = cycles()
    tangled = sum(len(g) for g in found)
    shown = "\n".join(f"  {len(g)} modules: {', '.join(sorted(g))}" for g in found)
    assert tangled <= MOST_MODULES_IN_CYCLES, (
        f"{tangled} modules in import cycles (function-local and TYPE_CHECKING imports count), "
        f"more than {MOST_MODULES_IN_CYCLES}:\n{shown}"
    )


def test_the_backend_is_in_no_import_cycle() -> None:
    assert sorted(m for g in cycles() for m in g if m.startswith("typedj.backend")) == []


def test_the_backend_imports_no_layer_above_it() -> None:
    above = ("typedj.query", "typedj.table", "typedj.schema", "typedj.graph", "typedj.populate",
             "typedj.web", "typedj.export", "typedj.cli", "typedj.commands")
    graph = import_graph()
    upward = sorted((u, v) for u, v in graph.edges
                    if u.startswith("typedj.backend") and (v == "typedj" or v.startswith(above)))
    assert upward == []


if __name__ == "__main__":
    for group in cycles():
        print(len(group), " ".join(sorted(group)))
