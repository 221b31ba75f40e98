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

KNOWN_CYCLES: list[frozenset[str]] = [
    frozenset({
        "typedj", "typedj.backend.sqlite", "typedj.backend.sqlite.catalog",
        "typedj.backend.sqlite.dialect", "typedj.backend.sqlite.driver", "typedj.cascade",
        "typedj.codegen", "typedj.columns", "typedj.declare", "typedj.diagram", "typedj.drift",
        "typedj.export", "typedj.export.database", "typedj.export.definitions", "typedj.export.loader",
        "typedj.export.plan", "typedj.export.rows", "typedj.export.writer", "typedj.graph",
        "typedj.populate.autopopulate", "typedj.populate.jobs", "typedj.populate.legacy_jobs",
        "typedj.populate.provenance", "typedj.populate.worker", "typedj.query.condition",
        "typedj.query.expression", "typedj.query.fetch", "typedj.query.universal", "typedj.rows",
        "typedj.schema", "typedj.table", "typedj.validation", "typedj.virtual", "typedj.write",
    }),
    frozenset({
        "typedj.codecs", "typedj.codecs.core", "typedj.codecs.external", "typedj.heading",
        "typedj.objects", "typedj.types",
    }),
    frozenset({
        "typedj.web.app", "typedj.web.jobs",
    }),
]
"""Groups of modules that still import one another (in modules other work owns), as
counted when the backend left them; a group may shrink, none may grow. Empty is the goal."""


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
    assert graph.has_edge("typedj.graph", "typedj.schema")  # imported inside a function


def test_no_new_import_cycles() -> None:
    found = [g for g in cycles() if not any(g <= known for known in KNOWN_CYCLES)]
    shown = "\n".join(f"  {len(g)} modules: {', '.join(sorted(g))}" for g in found)
    assert not found, f"import cycles (function-local and TYPE_CHECKING imports count):\n{shown}"


if __name__ == "__main__":
    for group in cycles():
        print(len(group), " ".join(sorted(group)))
