"""Static headings: the attributes of a table class or a derived query, as mypy sees them.

A table's heading is rebuilt from its class (the metadata recorded in semantic analysis,
the analyzed attribute types, and the headings of the tables it references). A derived
query keeps its declared type ``Query[dict[str, Any]]``; its heading (attribute types,
primary key, origins, a readable name) rides along in the ``ExtraAttrs`` of that
``dict`` instance, which mypy keeps through type substitution and in its cache. Rows
fetched from it are anonymous ``TypedDict``s.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, replace

from mypy.nodes import SymbolTableNode, TypeInfo, Var
from mypy.plugin import CheckerPluginInterface
from mypy.types import (
    AnyType,
    CallableType,
    ExtraAttrs,
    Instance,
    NoneType,
    ProperType,
    Type,
    TypedDictType,
    TypeOfAny,
    TypeType,
    UnionType,
    get_proper_type,
)

from ..query import algebra
from .declarations import METADATA, PART, is_table

QUERY = "typedj.query.expression.Query"
UNIVERSAL = "typedj.query.universal.U"
REF = "typedj.types.Ref"
_TAG = "typedj:"

Lookup = Callable[[str], SymbolTableNode | None]


@dataclass(frozen=True)
class Attr:
    name: str
    type: Type
    in_key: bool
    lineage: str | None


@dataclass(frozen=True)
class Heading:
    """The attributes of a table or query; ``title`` names it in messages."""

    title: str
    attrs: tuple[Attr, ...]

    @classmethod
    def of(cls, title: str, attrs: Iterable[Attr]) -> Heading:
        listed = list(attrs)
        return cls(title, tuple([a for a in listed if a.in_key] + [a for a in listed if not a.in_key]))

    def __iter__(self) -> Iterator[Attr]:
        return iter(self.attrs)

    def __contains__(self, name: object) -> bool:
        return any(a.name == name for a in self.attrs)

    def __getitem__(self, name: str) -> Attr:
        return next(a for a in self.attrs if a.name == name)

    @property
    def names(self) -> list[str]:
        return [a.name for a in self.attrs]

    @property
    def key(self) -> list[str]:
        return [a.name for a in self.attrs if a.in_key]


class Headings:
    """Builds and remembers table headings for one mypy run."""

    def __init__(self, lookup: Lookup) -> None:
        self._lookup = lookup
        self._tables: dict[str, tuple[TypeInfo, Heading | None]] = {}
        self._module: object = None
        self.seen: set[str] = set()

    def begin(self, module: object, daemon: bool = False) -> None:
        """A hook runs in ``module``: forget headings built for another module.

        The daemon merges an edited class into its old ``TypeInfo`` object (and checks a
        module again in the same tree), so there every hook builds headings afresh.
        """
        if daemon or module is not self._module:
            self._module = module
            self._tables.clear()
        self.seen = set()

    def table(self, info: TypeInfo) -> Heading | None:
        self.seen.add(info.fullname)
        cached = self._tables.get(info.fullname)
        if cached is not None and cached[0] is info:  # the daemon replaces edited classes
            return cached[1]
        self._tables[info.fullname] = (info, None)  # a cycle of references ends here, silently
        heading = self._build(info)
        self._tables[info.fullname] = (info, heading)
        return heading

    def _info(self, fullname: str) -> TypeInfo | None:
        sym = self._lookup(fullname)
        node = sym.node if sym is not None else None
        return node if isinstance(node, TypeInfo) else None

    def _build(self, info: TypeInfo) -> Heading | None:
        meta = info.metadata.get(METADATA)
        if meta is None or info.module_name.split(".")[0] == "typedj":
            return None  # typedj's own tiers (``type[tj.Manual]``) stand for any table
        attrs: list[Attr] = []
        fields = meta["fields"]
        refs = {name: _ref_target(_var_type(info, name)) for name, *_ in fields}
        if info.has_base(PART):
            master = self._info(meta.get("master") or "")
            if master is None or not is_table(master):
                return None  # a part's heading starts with its master's key: unknown without it
            if master.fullname not in {t.fullname for t in refs.values() if t is not None}:
                master_heading = self.table(master)
                if master_heading is None:
                    return None
                attrs += [a for a in master_heading if a.in_key]
        for name, in_key, rename, nullable, *linked in fields:
            declared = _var_type(info, name)
            parent = refs[name]
            if parent is None:
                lineage = f"{info.fullname}.{name}" if in_key else None
                if linked and linked[0]:  # ``name: T = Link(Parent)``: the parent's column
                    lineage = self._inherited(linked[0], linked[1], lineage)
                attrs.append(Attr(name, declared, in_key, lineage))
                continue
            parent_heading = self.table(parent)
            if parent_heading is None:
                return None
            optional = nullable or _is_optional(declared)
            for attr in parent_heading:
                if attr.in_key:
                    typ = UnionType.make_union([attr.type, NoneType()]) if optional else attr.type
                    attrs.append(Attr(rename.get(attr.name, attr.name), typ, in_key, attr.lineage))
        if not attrs:
            return None  # a base class of tables, not a table
        return Heading.of(info.name, attrs)

    def _inherited(self, parent_name: str, column: str, fallback: str | None) -> str | None:
        """The lineage of a parent's column (``fallback`` when the parent is unknown)."""
        parent = self._info(parent_name)
        heading = self.table(parent) if parent is not None and is_table(parent) else None
        if heading is None or column not in heading:
            return fallback
        return heading[column].lineage

    def of_type(self, typ: Type) -> Heading | None:
        """The heading of a table class, a table row, or a query; None when unknown."""
        t = get_proper_type(typ)
        if isinstance(t, CallableType) and t.is_type_obj():
            t = get_proper_type(t.ret_type)
        elif isinstance(t, TypeType):
            t = t.item
        if isinstance(t, Instance):
            if t.type.fullname == QUERY and t.args:
                return self.of_row(t.args[0])
            if is_table(t.type):
                return self.table(t.type)
        return None

    def of_row(self, row: Type) -> Heading | None:
        t = get_proper_type(row)
        if isinstance(t, Instance) and is_table(t.type):
            return self.table(t.type)
        if isinstance(t, Instance) and t.type.fullname == "builtins.dict":
            return from_row(t)
        return None


def table_row(typ: Type) -> Instance | None:
    """The row class of a table class, a table row, or a ``Query`` of table rows."""
    t = get_proper_type(typ)
    if isinstance(t, CallableType) and t.is_type_obj():
        t = get_proper_type(t.ret_type)
    elif isinstance(t, TypeType):
        t = t.item
    if isinstance(t, Instance) and t.type.fullname == QUERY and t.args:
        t = get_proper_type(t.args[0])
    return t if isinstance(t, Instance) and is_table(t.type) else None


def _var_type(info: TypeInfo, name: str) -> Type:
    sym = info.names.get(name)
    node = sym.node if sym is not None else None
    if isinstance(node, Var) and node.type is not None:
        return node.type
    return AnyType(TypeOfAny.special_form)


def _is_optional(typ: Type) -> bool:
    t = get_proper_type(typ)
    return isinstance(t, UnionType) and any(isinstance(get_proper_type(i), NoneType) for i in t.items)


def _ref_target(typ: Type) -> TypeInfo | None:
    """The table ``P`` of an attribute typed ``Ref[P]`` (or ``Ref[P] | None``)."""
    t = get_proper_type(typ)
    items = t.items if isinstance(t, UnionType) else [t]
    for item in map(get_proper_type, items):
        if isinstance(item, Instance) and item.type.fullname == REF and item.args:
            target = get_proper_type(item.args[0])
            if isinstance(target, Instance) and is_table(target.type):
                return target.type
    return None


def row_type(heading: Heading, api: CheckerPluginInterface) -> Instance:
    """``dict[str, Any]``, as plain typing has it, carrying the heading for the plugin.

    So ``Query[dict[str, Any]]`` annotations still accept derived queries; the rows read
    from them (``fetch``, ``fetch1``, iteration) are ``typed_row``s.
    """
    tags = {f"{_TAG}title={heading.title}"}
    for a in heading:
        if a.in_key:
            tags.add(f"{_TAG}key={a.name}")
        if a.lineage is not None:
            tags.add(f"{_TAG}lineage={a.name}={a.lineage}")
    attrs = {f"{_TAG}{i:03d}:{a.name}": a.type for i, a in enumerate(heading)}  # not identifiers
    text = api.named_generic_type("builtins.str", [])
    row = api.named_generic_type("builtins.dict", [text, AnyType(TypeOfAny.special_form)]).copy_modified()
    row.extra_attrs = ExtraAttrs(attrs, tags, None)
    return row


def typed_row(heading: Heading, api: CheckerPluginInterface) -> TypedDictType:
    """One fetched row of a derived query: an anonymous TypedDict of its attributes."""
    items = {a.name: a.type for a in heading}
    return TypedDictType(items, set(items), set(), api.named_generic_type("typing._TypedDict", []))


def from_row(t: Instance) -> Heading | None:
    """The heading a row made by ``row_type`` carries; None for any other type."""
    extra = t.extra_attrs
    tags = [tag[len(_TAG):] for tag in (extra.immutable if extra else ()) if tag.startswith(_TAG)]
    if extra is None or not tags:
        return None
    title = next((v.split("=", 1)[1] for v in tags if v.startswith("title=")), "the query")
    key = {v.split("=", 1)[1] for v in tags if v.startswith("key=")}
    lineage = dict(v.split("=", 2)[1:] for v in tags if v.startswith("lineage="))
    items = sorted((k[len(_TAG):].split(":", 1), typ) for k, typ in extra.attrs.items() if k.startswith(_TAG))
    return Heading.of(title, [Attr(n, typ, n in key, lineage.get(n)) for (_, n), typ in items])


def universal_names(typ: Type) -> list[str] | None:
    """The attribute names of a ``U(...)`` whose arguments were literals, in order."""
    t = get_proper_type(typ)
    if not (isinstance(t, Instance) and t.type.fullname == UNIVERSAL and t.extra_attrs):
        return None
    tags = t.extra_attrs.immutable
    if _TAG + "u" not in tags:
        return None
    tagged = sorted(v[len(_TAG):].split("=", 1) for v in tags if v.startswith(_TAG + "u") and "=" in v)
    return [name for _, name in tagged]


def with_universal(t: Instance, names: list[str]) -> ProperType:
    tags = {f"{_TAG}u{i:03d}={n}" for i, n in enumerate(names)} | {f"{_TAG}u"}
    out = t.copy_modified()
    out.extra_attrs = ExtraAttrs({}, tags, None)
    return out


def join(a: Heading, b: Heading, title: str, *, outer: bool = False) -> Heading:
    """The heading of ``a * b`` by ``algebra.join``, the runtime's rule; a left join's
    unmatched rows make the right side's attributes optional."""
    attrs = []
    for attr, in_key, null in algebra.join(a, b, outer=outer):
        typ = UnionType.make_union([attr.type, NoneType()]) if null else attr.type
        attrs.append(replace(attr, type=typ, in_key=in_key))
    return Heading.of(title, attrs)
