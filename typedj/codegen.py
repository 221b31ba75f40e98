"""Python source of typed table classes for an existing schema, read from the catalog.

Works on any DataJoint schema (made by typedj or datajoint-python): names, tiers and
parts come from the table names, types from the ``:type:`` column comments, references
from the foreign keys. Declaring the generated classes against the same database finds
no difference; ``virtual_module`` executes the same source in memory.
"""

from __future__ import annotations

import keyword
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, time
from decimal import Decimal
from typing import TYPE_CHECKING, Any
from uuid import UUID

import networkx as nx

from .backend.connection import Connection, connect
from .declare import RESERVED, TIER_PREFIX, snake_case
from .errors import DeclarationError
from .heading import Attribute, ForeignKey, TableDef, enum_values
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


# -- values and types as Python source ----------------------------------------------


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


def _python_default(attr: Attribute) -> Any:
    value = attr.default
    if value is MISSING or value is None or not isinstance(value, str):
        return value
    if value.upper().startswith("CURRENT_TIMESTAMP"):
        return _Code("tj.CURRENT_TIMESTAMP")
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


class _Code(str):
    """Source text that is emitted as is (not quoted)."""

    __slots__ = ()


_INT_CORE = {"int8": "tj.int8", "int16": "tj.int16", "int64": "tj.int64", "int32": "int"}
_UNSIGNED = {"tinyint unsigned": "tj.uint8", "smallint unsigned": "tj.uint16",
             "int unsigned": "tj.uint32", "bigint unsigned": "tj.uint64"}
_KIND_PY = {"int": "int", "float": "float", "decimal": "Decimal", "str": "str", "enum": "str",
            "date": "date", "datetime": "datetime", "time": "time", "bytes": "bytes",
            "json": "Any", "bool": "bool", "uuid": "UUID"}


def _attribute_type(attr: Attribute, where: str, q: Callable[[str], str] = str) -> tuple[str, dict[str, Any]]:
    """``(annotation, Attr/External options)`` that declare ``attr`` again."""
    attr = current_spelling(attr)  # a datajoint 0.14 column, declared again in 0.14's layout
    t = attr.type_name.strip()
    low = t.lower()
    sized = re.fullmatch(r"(var)?char\((\d+)\)", low)
    if not attr.core:
        if low in _UNSIGNED:
            return _UNSIGNED[low], {}
        return _KIND_PY.get(attr.kind, "Any"), {"sql_type": t}
    if low.startswith("<"):
        codec, _, store = low[1:-1].partition("@")
        external = {"store": store} if "@" in low else {}
        if codec == "blob":
            return f"{q('Blob')}[Any]", external
        if codec in {"attach", "filepath"}:
            return f"tj.{codec.capitalize()}", external
        raise DeclarationError(f"{where}: codec type {t} has no typedj spelling yet", attribute=attr.name)
    if low in _INT_CORE:
        return _INT_CORE[low], {}
    simple = {"float32": "tj.float32", "float64": "float", "bool": "bool", "uuid": "UUID",
              "bytes": "bytes", "date": "date", "datetime": "datetime"}
    if low in simple:
        return simple[low], {}
    if low == "json":
        return "Any", {"sql_type": "json"}
    if sized:
        n = int(sized.group(2))
        options: dict[str, Any] = {} if n == 255 and sized.group(1) else {"max_length": n}
        if not sized.group(1):
            options["fixed_length"] = True
        return "str", options
    if m := re.fullmatch(r"datetime\((\d)\)", low):
        return "datetime", {"precision": int(m.group(1))}
    if m := re.fullmatch(r"decimal\((\d+),\s*(\d+)\)", low):
        return "Decimal", {"precision": int(m.group(1)), "scale": int(m.group(2))}
    if low.startswith("enum("):
        return "Literal[" + ", ".join(repr(v) for v in enum_values(t)) + "]", {}
    return _KIND_PY.get(attr.kind, "Any"), {"sql_type": t}


# -- the generator -------------------------------------------------------------------

_VOCABULARY = ("Attr", "Blob", "Computed", "External", "Imported", "Key", "Link", "Lookup", "Manual",
               "Part", "Ref")
_STRINGS = re.compile(r"'(?:[^'\\]|\\.)*'|\"(?:[^\"\\]|\\.)*\"")


@dataclass
class _Module:
    """What the generated source needs, collected while writing it."""

    schema: str
    virtual: bool
    tops: dict[str, str]
    names: set[str] = field(default_factory=set)
    modules: dict[str, str] = field(default_factory=dict)
    defined: set[str] = field(default_factory=set)
    qualified: bool = False

    def q(self, name: str) -> str:
        """typedj's ``name``, as ``tj.name`` when a table class takes the bare name."""
        return f"tj.{name}" if self.qualified else name

    def use(self, line: str) -> str:
        """Note the names ``line`` uses (outside string literals) for the imports."""
        self.names |= set(re.findall(r"\b[A-Za-z_]\w*\b", _STRINGS.sub("", line)))
        return line

    def other_schema(self, schema: str) -> str:
        var = re.sub(r"\W", "_", schema)
        var = f"{var}_" if keyword.iskeyword(var) or var[0].isdigit() else var
        self.modules[schema] = var
        return var


def generate(
    schema_name: str,
    *,
    connection: Connection | None = None,
    contents: bool = False,
    virtual: bool = False,
    max_contents: int = 1000,
) -> str:
    """Python source declaring a class for every table of ``schema_name``.

    ``contents=True`` writes the rows of Lookup tables (up to ``max_contents`` each) as
    their ``contents``. ``virtual=True`` writes the form ``virtual_module`` executes:
    it binds to the existing tables (creating nothing) on the connection named
    ``__connection__``.
    """
    schema = open_schema(schema_name, connection)
    schema.reload()
    tables = {n: untracked(t) for n, t in schema.tables.items() if not n.startswith("~")}
    unnamed = [n for n in tables if _table_of_class(n) != n]
    if unnamed:
        raise DeclarationError(
            f"tables {sorted(unnamed)} of {schema_name} have names no DataJoint class gives; "
            "they cannot be declared as classes"
        )
    parts: dict[str, list[str]] = {}
    for name in tables:
        master = tier_of(name)[1]
        if master is not None:
            if master not in tables:
                raise DeclarationError(f"part table {schema_name}.{name} has no master table {master}")
            parts.setdefault(master, []).append(name)
    module = _Module(schema_name, virtual, {n: _top(n) for n in tables})
    module.qualified = bool({class_name(n) for n in tables if tier_of(n)[1] is None} & set(_VOCABULARY))
    blocks = []
    for name in _master_order(tables, module.tops):
        lines = _class_lines(module, schema, tables, name, parts, contents, max_contents)
        module.defined.add(name)
        blocks.append("\n".join(lines))
    return _header(module) + "\n\n\n".join(blocks) + "\n"


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


def _header(module: _Module) -> str:
    names = module.names
    lines = [
        f'"""Table classes of schema `{module.schema}`, generated by `typedj codegen`.',
        "",
        "Declaring them against the same database finds no difference; edit freely.",
        '"""',
        "",
    ]
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
    used = [] if module.qualified else [n for n in _VOCABULARY if n in names]
    if used:
        lines.append(f"from typedj import {', '.join(used)}")
    lines.append("")
    connection = ", connection=__connection__" if module.virtual else ""
    for other, var in sorted(module.modules.items()):
        lines.append(f"{var} = tj.virtual_module({other!r}, {other!r}{connection})")
    options = ", create_schema=False, create_tables=False, allow_drift=True" if module.virtual else ""
    lines.append(f"schema = tj.Schema({module.schema!r}{connection}{options})")
    return "\n".join(lines) + "\n\n\n"


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


def _class_lines(
    module: _Module,
    schema: Schema,
    tables: dict[str, TableDef],
    name: str,
    parts: dict[str, list[str]],
    contents: bool,
    max_contents: int,
) -> list[str]:
    table = tables[name]
    tier, master = tier_of(name)
    lines = [] if master else ["@schema"]
    lines.append(module.use(f"class {class_name(name)}({module.q(tier)}):"))
    body: list[str] = []
    if table.comment:
        doc = table.comment.replace("\\", "\\\\").replace('"""', '\\"\\"\\"')
        body += [f'"""{doc}"""', ""]
    columns = table.heading.all_names
    fk_columns = {col for fk in table.foreign_keys for col in fk.attr_map}
    # a reference is written where its last column stands, so shared columns come first
    at_column: dict[str, list[ForeignKey]] = {}
    for fk in table.foreign_keys:
        at_column.setdefault(max(fk.attr_map, key=columns.index), []).append(fk)
    unique_fks = {tuple(fk.attr_map) for fk in table.foreign_keys
                  if any(i.unique and set(i.attributes) == set(fk.attr_map) for i in table.indexes)}
    taken = {a.name for a in table.heading if a.name not in fk_columns}
    for attr in table.heading:
        if attr.is_hidden:
            continue
        if attr.name not in fk_columns:
            body.append(module.use(_attribute_line(attr, f"{schema.name}.{name}.{attr.name}", module.q)))
        for fk in at_column.get(attr.name, []):
            if fk.parent_schema == table.schema and fk.parent_table == master and not fk.renamed \
                    and fk.in_key:
                continue  # the reference to the master is implied by nesting
            ref_name = _ref_name(fk, taken)
            taken.add(ref_name)
            unique = tuple(fk.attr_map) in unique_fks
            body.append(module.use(_reference_line(module, table, fk, ref_name, unique)))
    indexes = [i for i in table.indexes if not (i.unique and tuple(i.attributes) in unique_fks)]
    if indexes:
        items = ", ".join(
            "tj.Index(" + ", ".join(repr(a) for a in i.attributes) + (", unique=True" if i.unique else "")
            + ")" for i in indexes
        )
        body.append(module.use(f"indexes = [{items}]"))
    if contents and tier == "Lookup":
        body += [module.use(line) for line in _contents_lines(schema, name, max_contents)]
    for part in sorted(parts.get(name, [])):
        if body:
            body.append("")
        body += _class_lines(module, schema, tables, part, parts, contents, max_contents)
    if not body or not any(line.strip() and not line.startswith('"""') for line in body):
        body.append("pass")
    return lines + [f"    {line}" if line else "" for line in body]


def _options_text(options: dict[str, Any]) -> str:
    return ", ".join(f"{k}={v if isinstance(v, _Code) else literal(v)}" for k, v in options.items())


def _attribute_line(attr: Attribute, where: str, q: Callable[[str], str] = str) -> str:
    """One attribute as a class-body line; ``q`` spells typedj's names (``Key`` or ``tj.Key``)."""
    annotation, options = _attribute_type(attr, where, q)
    store = options.pop("store", None)
    if attr.in_key:
        annotation = f"{q('Key')}[{annotation}]"
    if attr.nullable:
        annotation = f"{annotation} | None"
    default = _python_default(attr)
    if attr.auto_increment:
        options["auto_increment"] = True
    if attr.comment:
        options["comment"] = attr.comment
    if default is not MISSING and (options or store is not None):
        options = {"default": default, **options}
    if store is not None:
        value = f"{q('External')}({store!r}{', ' if options else ''}{_options_text(options)})"
    elif options:
        value = f"{q('Attr')}({_options_text(options)})"
    elif default is not MISSING:
        value = default if isinstance(default, _Code) else literal(default)
    else:
        value = ""
    return f"{attr.name}: {annotation}" + (f" = {value}" if value else "")


def _reference_line(module: _Module, table: TableDef, fk: ForeignKey, name: str, unique: bool) -> str:
    if fk.parent_schema != table.schema:
        target = f"{module.other_schema(fk.parent_schema)}.{class_path(fk.parent_table)}"
    elif module.tops[fk.parent_table] in module.defined:
        target = class_path(fk.parent_table)
    elif module.tops[fk.parent_table] == module.tops[table.name]:
        # the master (or a sibling part) while the master's body runs: resolved at
        # declaration against the master class
        target = repr(class_name(fk.parent_table))
    else:
        target = repr(class_path(fk.parent_table))
    q = module.q
    annotation = f"{q('Ref')}[{target}]"
    if fk.in_key:
        annotation = f"{q('Key')}[{annotation}]"
    options: dict[str, Any] = {}
    renames = {parent: local for local, parent in fk.attr_map.items() if local != parent}
    if renames:
        options["rename"] = renames
    if fk.nullable:
        annotation += " | None"
        options["nullable"] = True
    if unique:
        options["unique"] = True
    return f"{name}: {annotation}" + (f" = {q('Link')}({_options_text(options)})" if options else "")


def _contents_lines(schema: Schema, table: str, max_rows: int) -> list[str]:
    from .query.expression import Query

    query: Query[Any] = Query(schema.node(table))
    if len(query) > max_rows:
        return [f"# contents: over {max_rows} rows, not written"]
    try:
        items = [literal(row) for row in query.to_dicts()]
    except TypeError as exc:
        return [f"# contents not written: {exc}"]
    if not items:
        return []
    return ["contents = ["] + [f"    {item}," for item in items] + ["]"]
