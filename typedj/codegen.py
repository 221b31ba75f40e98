"""Typed table classes for existing schemas, read from the catalog.

Works on any DataJoint schema (made by typedj or datajoint-python): names, tiers and
parts come from the table names, types from the ``:type:`` column comments, references
from the foreign keys. The classes are first described as data (``ClassSpec``, whose
annotations and defaults are small expression trees); ``render`` spells them as Python
source and ``virtual.py`` builds the classes from them directly. Nothing read from the
catalog is ever executed: a name that is not a plain Python identifier is refused, and
every string (comment, default, enum member, SQL type) is written as a ``repr`` literal.
"""

from __future__ import annotations

import keyword
import re
from dataclasses import dataclass, field
from datetime import date, datetime, time
from decimal import Decimal
from typing import TYPE_CHECKING, Any
from uuid import UUID

import networkx as nx

from .backend.connection import Connection, connect
from .declare import RESERVED, TIER_PREFIX, snake_case
from .errors import DeclarationError
from .heading import Attribute, ForeignKey, TableDef
from .legacy import current_spelling, untracked
from .types import MISSING

if TYPE_CHECKING:
    from .schema import Schema

TIERS = {"#": "Lookup", "__": "Computed", "_": "Imported", "": "Manual"}


def open_schema(name: str, connection: Connection | None = None) -> Schema:
    """The loaded ``Schema`` of an existing database (reused if already loaded)."""
    from .schema import Schema

    conn = connection or connect()
    loaded: Schema | None = conn.schemas.get(name)
    if loaded is not None:
        return loaded
    return Schema(name, connection=conn, create_schema=False)


def tier_of(table: str) -> tuple[str, str | None]:
    """``(tier, master table or None)``: ``'__spikes__unit'`` -> ``('Part', '__spikes')``."""
    prefix = next(p for p in ("#", "__", "_", "") if table.startswith(p))
    stem = table[len(prefix):]
    if "__" in stem:
        return "Part", table[: table.rindex("__")]
    return TIERS[prefix], None


def class_name(table: str) -> str:
    """The class name DataJoint gives a table name (``'#two_photon'`` -> ``'TwoPhoton'``)."""
    stem = table.rsplit("__", 1)[-1] if tier_of(table)[0] == "Part" else table.lstrip("_#")
    return "".join(p[:1].upper() + p[1:] for p in stem.split("_"))


def class_path(table: str) -> str:
    """A table's class as referenced in code: ``'Spikes.Unit'`` for a part."""
    master = tier_of(table)[1]
    if master is not None:
        return f"{class_path(master)}.{class_name(table)}"
    return class_name(table)


def module_name(schema: str) -> str:
    """The Python module name a schema's generated module gets (``'elem-lab'`` -> ``elem_lab``)."""
    name = re.sub(r"[^0-9a-zA-Z_]", "_", schema).lower()
    if not name or name[0].isdigit() or keyword.iskeyword(name) or name in _MODULE_TAKEN:
        name = f"schema_{name}"
    return name


_MODULE_TAKEN = frozenset({"tj", "schema", "typedj", "date", "datetime", "time", "typing", "decimal", "uuid"})


def python_name(name: str, where: str) -> str:
    """``name`` if generated code can use it as an attribute name, else a ``DeclarationError``."""
    if re.fullmatch(r"[a-z][a-z0-9_]*", name) and not keyword.iskeyword(name):
        return name
    raise DeclarationError(
        f"{where}: attribute name {name!r} is not a lowercase Python identifier (letters, digits, "
        "'_'; not a keyword), so no table class can declare it; rename the column",
        attribute=name,
    )


# -- values as Python source ---------------------------------------------------------


def literal(value: Any) -> str:
    """Python source for a value read from the database."""
    if isinstance(value, bool | int | str | bytes) or value is None:
        return repr(value)
    if isinstance(value, float):
        return repr(value) if value == value and abs(value) != float("inf") else f"float({str(value)!r})"
    if isinstance(value, Decimal):
        return f"Decimal({str(value)!r})"
    if isinstance(value, datetime | date | time | UUID):
        return f"{type(value).__name__}{repr(value)[repr(value).index('('):]}"
    if isinstance(value, list | tuple):
        inner = ", ".join(literal(v) for v in value)
        return f"[{inner}]" if isinstance(value, list) else f"({inner}{',' if len(value) == 1 else ''})"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{literal(k)}: {literal(v)}" for k, v in value.items()) + "}"
    raise TypeError(f"no Python literal for {type(value).__name__}")


def _names_of(value: Any) -> set[str]:
    """The names ``literal(value)`` spells (for the imports)."""
    if isinstance(value, Decimal | datetime | date | time | UUID):
        return {type(value).__name__}
    if isinstance(value, list | tuple):
        return set().union(*(_names_of(v) for v in value))
    if isinstance(value, dict):
        return set().union(*(_names_of(k) | _names_of(v) for k, v in value.items()))
    return set()


# -- expressions: an annotation or default as data ---------------------------------------


@dataclass(frozen=True)
class Name:
    """A name the generated code uses (``'Key'``, ``'tj.uint8'``, ``'int'``): see ``_objects``."""

    name: str


@dataclass(frozen=True)
class Sub:
    """``head[args]``."""

    head: Expr
    args: tuple[Expr, ...]


@dataclass(frozen=True)
class Optional:
    """``inner | None``."""

    inner: Expr


@dataclass(frozen=True)
class Lit:
    """A constant: a value read from the database, written with ``literal``."""

    value: Any


@dataclass(frozen=True)
class Call:
    """``head(*args, **kwargs)``."""

    head: Name
    args: tuple[Expr, ...] = ()
    kwargs: tuple[tuple[str, Expr], ...] = ()


@dataclass(frozen=True)
class TableClass:
    """A table's class; ``forward``: written as a string (not yet defined where it is used)."""

    schema: str
    table: str
    forward: bool = False


Expr = Name | Sub | Optional | Lit | Call | TableClass

_VOCABULARY = ("Attr", "Blob", "Computed", "External", "Imported", "Key", "Link", "Lookup", "Manual",
               "Part", "Ref")


def _objects() -> dict[str, Any]:
    """What each ``Name`` is: the only names a virtual module's classes are built from."""
    import typing

    import typedj as tj

    objects: dict[str, Any] = {n: getattr(tj, n) for n in _VOCABULARY}
    for n in ("int8", "int16", "int64", "uint8", "uint16", "uint32", "uint64", "float32",
              "Attach", "Filepath", "Object", "Npy", "Index", "CURRENT_TIMESTAMP"):
        objects[f"tj.{n}"] = getattr(tj, n)
    objects.update(int=int, float=float, str=str, bool=bool, bytes=bytes, Any=typing.Any,
                   Literal=typing.Literal, Decimal=Decimal, date=date, datetime=datetime,
                   time=time, UUID=UUID)
    return objects


@dataclass
class FieldSpec:
    """One line of a class body: ``name: annotation = value``."""

    name: str
    annotation: Expr
    value: Expr | None = None


@dataclass
class ClassSpec:
    """A table class to write or build."""

    table: str
    name: str
    tier: str
    doc: str = ""
    fields: list[FieldSpec] = field(default_factory=list)
    indexes: list[Expr] = field(default_factory=list)
    contents: list[dict[str, Any]] | None = None
    note: str = ""
    parts: list[ClassSpec] = field(default_factory=list)


@dataclass
class ModuleSpec:
    """The classes of one schema, masters parents first."""

    schema: str
    classes: list[ClassSpec]
    others: list[str]
    qualified: bool


# -- types of attributes -----------------------------------------------------------------


def _python_default(attr: Attribute) -> Any:
    value = attr.default
    if value is MISSING or value is None or not isinstance(value, str):
        return value
    if value.upper().startswith("CURRENT_TIMESTAMP"):
        return Name("tj.CURRENT_TIMESTAMP")
    kind = attr.kind
    try:
        if kind == "int":
            return int(value)
        if kind == "bool":
            return bool(int(value))
        if kind == "float":
            return float(value)
        if kind == "decimal":
            return Decimal(value)
        if kind == "date":
            return date.fromisoformat(value)
        if kind == "datetime":
            return datetime.fromisoformat(value)
    except ValueError as exc:
        raise DeclarationError(f"default {value!r} of {attr.name!r} is not a constant",
                               attribute=attr.name) from exc
    return value


def _expr(value: Any) -> Expr:
    return value if isinstance(value, Name) else Lit(value)


_INT_CORE = {"int8": "tj.int8", "int16": "tj.int16", "int64": "tj.int64", "int32": "int"}
_UNSIGNED = {"tinyint unsigned": "tj.uint8", "smallint unsigned": "tj.uint16",
             "int unsigned": "tj.uint32", "bigint unsigned": "tj.uint64"}
_KIND_PY = {"int": "int", "float": "float", "decimal": "Decimal", "str": "str", "enum": "str",
            "date": "date", "datetime": "datetime", "time": "time", "bytes": "bytes",
            "json": "Any", "bool": "bool", "uuid": "UUID"}
_SIMPLE = {"float32": "tj.float32", "float64": "float", "bool": "bool", "uuid": "UUID", "bytes": "bytes"}


def _attribute_type(attr: Attribute, where: str) -> tuple[Expr, dict[str, Any]]:
    """``(annotation, Attr/External options)`` that declare ``attr`` again."""
    attr = current_spelling(attr)  # a datajoint 0.14 column, declared again in 0.14's layout
    t = attr.type_name.strip()
    typ = attr.type
    plain = not (typ.unsigned or typ.charset or typ.collation)
    if not attr.core:
        if typ.canonical in _UNSIGNED:
            return Name(_UNSIGNED[typ.canonical]), {}
        return Name(_KIND_PY.get(attr.kind, "Any")), {"sql_type": t}
    if typ.codec is not None:
        external = {"store": typ.store} if typ.store is not None else {}
        if typ.codec == "blob":
            return Sub(Name("Blob"), (Name("Any"),)), external
        if typ.codec in {"attach", "filepath", "object", "npy"}:
            return Name(f"tj.{typ.codec.capitalize()}"), external
        raise DeclarationError(f"{where}: codec type {t} has no typedj spelling yet", attribute=attr.name)
    if typ.core in _INT_CORE:
        return Name(_INT_CORE[typ.core]), {}
    if typ.core in _SIMPLE:
        return Name(_SIMPLE[typ.core]), {}
    if typ.core == "json":
        return Name("Any"), {"sql_type": "json"}
    if typ.base in {"char", "varchar"} and typ.length is not None and plain:
        n = typ.length
        options: dict[str, Any] = {} if n == 255 and typ.base == "varchar" else {"max_length": n}
        if typ.base == "char":
            options["fixed_length"] = True
        return Name("str"), options
    if typ.base in {"date", "datetime"} and plain:
        return Name(typ.base), {"precision": typ.precision} if typ.precision else {}
    if typ.base == "decimal" and typ.scale is not None and plain:
        return Name("Decimal"), {"precision": typ.precision, "scale": typ.scale}
    if typ.family == "enum":
        return Sub(Name("Literal"), tuple(Lit(v) for v in typ.members)), {}
    return Name(_KIND_PY.get(attr.kind, "Any")), {"sql_type": t}


def _options(options: dict[str, Any]) -> tuple[tuple[str, Expr], ...]:
    return tuple((k, _expr(v)) for k, v in options.items())


def attribute_field(attr: Attribute, where: str) -> FieldSpec:
    """The class-body line that declares ``attr`` again."""
    name = python_name(attr.name, where)
    annotation, options = _attribute_type(attr, where)
    store = options.pop("store", None)
    if attr.in_key:
        annotation = Sub(Name("Key"), (annotation,))
    if attr.nullable:
        annotation = Optional(annotation)
    default = _python_default(attr)
    if attr.auto_increment:
        options["auto_increment"] = True
    if attr.comment:
        options["comment"] = attr.comment
    if default is not MISSING and (options or store is not None):
        options = {"default": default, **options}
    value: Expr | None = None
    if store is not None:
        value = Call(Name("External"), (Lit(store),), _options(options))
    elif options:
        value = Call(Name("Attr"), (), _options(options))
    elif default is not MISSING:
        value = _expr(default)
    return FieldSpec(name, annotation, value)


# -- reading a schema ---------------------------------------------------------------------


def describe(
    schema_name: str,
    *,
    connection: Connection | None = None,
    contents: bool = False,
    max_contents: int = 1000,
) -> ModuleSpec:
    """The classes of every table of ``schema_name``, as data."""
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
    reader = _Reader(schema, tables, parts, {n: _top(n) for n in tables}, contents, max_contents)
    classes = []
    for name in _master_order(tables, reader.tops):
        classes.append(reader.class_spec(name))
        reader.defined.add(name)
    top_names = {class_name(n) for n in tables if tier_of(n)[1] is None}
    return ModuleSpec(schema_name, classes, sorted(reader.others), bool(top_names & set(_VOCABULARY)))


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
        taken = {a.name for a in table.heading if a.name not in fk_columns}
        for attr in table.heading:
            if attr.is_hidden:
                continue
            if attr.name not in fk_columns:
                spec.fields.append(attribute_field(attr, f"{where}.{attr.name}"))
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

    def _reference(self, table: TableDef, fk: ForeignKey, name: str, unique: bool) -> FieldSpec:
        if fk.parent_schema != table.schema:
            self.others.add(fk.parent_schema)
            target = TableClass(fk.parent_schema, fk.parent_table)
        else:
            defined = self.tops[fk.parent_table] in self.defined
            target = TableClass(fk.parent_schema, fk.parent_table, forward=not defined)
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
        return FieldSpec(name, annotation, Call(Name("Link"), (), _options(options)) if options else None)

    def _read_contents(self, spec: ClassSpec) -> None:
        from .query.expression import Query

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


@dataclass
class _Writer:
    """Spells a ``ModuleSpec`` as source, noting the names it uses for the imports."""

    spec: ModuleSpec
    modules: dict[str, str]
    names: set[str] = field(default_factory=set)

    def name(self, name: str) -> str:
        self.names.add(name)
        return f"tj.{name}" if self.spec.qualified and name in _VOCABULARY else name

    def expr(self, e: Expr) -> str:
        if isinstance(e, Name):
            return self.name(e.name)
        if isinstance(e, Sub):
            return f"{self.expr(e.head)}[{', '.join(self.expr(a) for a in e.args)}]"
        if isinstance(e, Optional):
            return f"{self.expr(e.inner)} | None"
        if isinstance(e, Lit):
            self.names |= _names_of(e.value)
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
    used = [] if spec.qualified else [n for n in _VOCABULARY if n in names]
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
) -> str:
    """Python source declaring a class for every table of ``schema_name``.

    ``contents=True`` writes the rows of Lookup tables (up to ``max_contents`` each) as
    their ``contents``. Tables of other schemas are referenced through virtual modules;
    ``generate_package`` writes them as modules of one package instead.
    """
    spec = describe(schema_name, connection=connection, contents=contents, max_contents=max_contents)
    return render(spec)


def generate_package(
    schema_names: list[str],
    *,
    connection: Connection | None = None,
    contents: bool = False,
    max_contents: int = 1000,
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
            specs[name] = describe(name, connection=conn, contents=contents, max_contents=max_contents)
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
