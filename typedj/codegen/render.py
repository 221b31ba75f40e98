"""Spelling ``ModuleSpec``s as Python source: a module, or a package of modules."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import networkx as nx

from ..backend.connection import Connection, connect
from ..errors import DeclarationError
from ..heading import Attribute
from .names import class_path, literal, module_name, names_of
from .read import read_schema
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
    attribute_field,
)


@dataclass
class _Writer:
    """Spells a ``ModuleSpec`` as source, noting the names it uses for the imports."""

    spec: ModuleSpec
    modules: dict[str, str]
    names: set[str] = field(default_factory=set)

    def name(self, name: str) -> str:
        self.names.add(name)
        return f"tj.{name}" if self.spec.qualified and name in VOCABULARY else name

    def expr(self, e: Expr) -> str:
        if isinstance(e, Name):
            return self.name(e.name)
        if isinstance(e, Sub):
            return f"{self.expr(e.head)}[{', '.join(self.expr(a) for a in e.args)}]"
        if isinstance(e, Optional):
            return f"{self.expr(e.inner)} | None"
        if isinstance(e, Lit):
            self.names |= names_of(e.value)
            return literal(e.value)
        if isinstance(e, Call):
            args = [self.expr(a) for a in e.args] + [f"{k}={self.expr(v)}" for k, v in e.kwargs]
            return f"{self.expr(e.head)}({', '.join(args)})"
        path = class_path(e.table)
        if e.schema != self.spec.schema:
            return f"{self.modules[e.schema]}.{path}"
        return repr(path) if e.forward else path

    def field(self, f: FieldSpec) -> str:
        line = f"{f.name}: {self.expr(f.annotation)}"
        return line if f.value is None else f"{line} = {self.expr(f.value)}"

    def class_lines(self, spec: ClassSpec) -> list[str]:
        lines = [] if spec.tier == "Part" else ["@schema"]
        lines.append(f"class {spec.name}({self.name(spec.tier)}):")
        body: list[str] = []
        if spec.doc:
            body += [_docstring(spec.doc), ""]
        body += [self.field(f) for f in spec.fields]
        if spec.indexes:
            body.append(f"indexes = [{', '.join(self.expr(i) for i in spec.indexes)}]")
        if spec.note:
            body.append(_comment(spec.note))
        if spec.contents:
            body += ["contents = ["] + [f"    {self.expr(Lit(row))}," for row in spec.contents] + ["]"]
        for part in spec.parts:
            if body:
                body.append("")
            body += self.class_lines(part)
        if not any(line.strip() and not line.startswith(('"', "'", "#")) for line in body):
            body.append("pass")
        return lines + [f"    {line}" if line else "" for line in body]


def _docstring(text: str, *, lines: bool = False) -> str:
    """A docstring that holds ``text`` exactly and cannot end early (``lines``: may span lines)."""
    rows = text.split("\n") if lines else [text]
    if all(row.isprintable() for row in rows) and not re.search(r"[\"\\]", text):
        return f'"""{text}"""'
    return repr(text)


def _comment(text: str) -> str:
    return "# " + "".join(c if c.isprintable() else " " for c in text)


def render(spec: ModuleSpec, *, modules: dict[str, str] | None = None) -> str:
    """The source of a module declaring ``spec``'s classes.

    ``modules`` maps the other schemas referenced to sibling modules of a package
    (imported with ``from . import name``); without it they are virtual modules.
    """
    package = modules is not None
    others = {s: (modules or {}).get(s) or module_name(s) for s in spec.others}
    writer = _Writer(spec, others)
    blocks = ["\n".join(writer.class_lines(c)) for c in spec.classes]
    names = writer.names
    lines = [_module_doc(spec.schema), ""]
    std: list[tuple[str, list[str]]] = [
        ("datetime", sorted(n for n in ("date", "datetime", "time") if n in names)),
        ("decimal", ["Decimal"] if "Decimal" in names else []),
        ("typing", sorted(n for n in ("Any", "Literal") if n in names)),
        ("uuid", ["UUID"] if "UUID" in names else []),
    ]
    lines += [f"from {mod} import {', '.join(items)}" for mod, items in std if items]
    if any(items for _, items in std):
        lines.append("")
    lines.append("import typedj as tj")
    used = [] if spec.qualified else [n for n in VOCABULARY if n in names]
    if used:
        lines.append(f"from typedj import {', '.join(used)}")
    if package and others:
        lines.append(f"\nfrom . import {', '.join(sorted(others.values()))}")
    lines.append("")
    if not package:
        for other, var in sorted(others.items()):
            lines.append(f"{var} = tj.virtual_module({other!r}, {other!r})")
    lines.append(f"schema = tj.Schema({spec.schema!r})")
    return "\n".join(lines) + "\n\n\n" + "\n\n\n".join(blocks) + "\n"


def _module_doc(schema: str) -> str:
    return _docstring(
        f"Table classes of schema {schema!r}, generated by `typedj codegen`.\n\n"
        "Declaring them against the same database finds no difference; edit freely.\n",
        lines=True,
    )


def generate(
    schema_name: str,
    *,
    connection: Connection | None = None,
    contents: bool = False,
    max_contents: int = 1000,
    links: bool = True,
) -> str:
    """Python source declaring a class for every table of ``schema_name``.

    ``contents=True`` writes the rows of Lookup tables (up to ``max_contents`` each) as
    their ``contents``. Tables of other schemas are referenced through virtual modules;
    ``generate_package`` writes them as modules of one package instead. Inherited columns
    are ``Link`` columns, typed without the mypy plugin (``links=False``: ``Ref`` fields).
    """
    spec = read_schema(schema_name, connection=connection, contents=contents, max_contents=max_contents,
                       links=links)
    return render(spec)


def generate_package(
    schema_names: list[str],
    *,
    connection: Connection | None = None,
    contents: bool = False,
    max_contents: int = 1000,
    links: bool = True,
) -> dict[str, str]:
    """``{file name: source}`` of a package with one module per schema.

    The schemas that ``schema_names`` reference are included too, so every reference
    is a real import (``from . import lab`` and ``Ref[lab.Subject]``) that type checkers
    follow. ``__init__.py`` imports the modules parents first.
    """
    conn = connection or connect()
    specs: dict[str, ModuleSpec] = {}
    todo = list(schema_names)
    while todo:
        name = todo.pop(0)
        if name not in specs:
            specs[name] = read_schema(name, connection=conn, contents=contents, max_contents=max_contents,
                                      links=links)
            todo += specs[name].others
    modules = {s: module_name(s) for s in specs}
    clashes = {m for m in modules.values() if list(modules.values()).count(m) > 1}
    if clashes:
        raise DeclarationError(f"schemas {sorted(s for s, m in modules.items() if m in clashes)!r} "
                               "would share a module name")
    graph = nx.DiGraph()
    graph.add_nodes_from(specs)
    graph.add_edges_from((other, s) for s, spec in specs.items() for other in spec.others)
    if not nx.is_directed_acyclic_graph(graph):
        cycle = [edge[0] for edge in nx.find_cycle(graph)]
        raise DeclarationError(f"schemas {cycle!r} reference each other in a cycle; "
                               "their modules cannot import each other")
    order = list(nx.lexicographical_topological_sort(graph))
    files = {f"{modules[s]}.py": render(specs[s], modules=modules) for s in order}
    init = [_docstring("Typed table classes of schemas " + ", ".join(repr(s) for s in order)
                       + ", generated by `typedj codegen`."), ""]
    init += [f"from . import {modules[s]}" for s in order]
    init += ["", f"__all__ = [{', '.join(repr(modules[s]) for s in order)}]"]
    files["__init__.py"] = "\n".join(init) + "\n"
    return files


def _attribute_line(attr: Attribute, where: str) -> str:
    """One attribute as a class-body line (for tests and docs)."""
    spec = ModuleSpec("", [], [], False)
    return _Writer(spec, {}).field(attribute_field(attr, where))
