"""Type-checking step: attribute names in query calls, join origins, precise row types.

Each check mirrors the runtime check of ``typedj.query`` that raises for the same mistake,
so the static message and the runtime error name the same attribute. Arguments that are
not literals are not checked, and the result then keeps its declared type.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from mypy.messages import format_type
from mypy.nodes import (
    ARG_NAMED,
    ARG_POS,
    ARG_STAR,
    ARG_STAR2,
    CallExpr,
    Context,
    DictExpr,
    EllipsisExpr,
    Expression,
    ListExpr,
    MemberExpr,
    RefExpr,
    StrExpr,
    TupleExpr,
)
from mypy.plugin import CheckerPluginInterface, FunctionContext, MethodContext, MethodSigContext
from mypy.subtypes import is_subtype
from mypy.types import (
    AnyType,
    CallableType,
    FunctionLike,
    Instance,
    NoneType,
    TupleType,
    Type,
    TypeType,
    UnionType,
    get_proper_type,
)

from ..query import algebra, sqltext
from .calls import (
    _AGGR_OPTIONS,
    _AND_LIST,
    _ANY,
    _COUNT,
    _NOT,
    _TOP,
    AGGR,
    JOIN,
    PROJ,
    UNION,
    VALUE,
    Call,
    _conflicts,
    _converted,
    _is_field,
    _literal_bool,
    _Named,
    _receiver,
    _type_of,
    _u_strings,
    _unknown,
)
from .declarations import is_table
from .headings import (
    Attr,
    Heading,
    Headings,
    join,
    row_type,
    table_row,
    typed_row,
    universal_names,
    with_universal,
)

# -- the checks ------------------------------------------------------------------------------


class Checker:
    """The method and function hooks, sharing one heading cache."""

    def __init__(self, headings: Headings) -> None:
        self.headings = headings

    def _query(self, ctx: MethodContext | FunctionContext, heading: Heading) -> Type:
        default = get_proper_type(ctx.default_return_type)
        row = row_type(heading, ctx.api)
        if isinstance(default, Instance) and default.args:
            return default.copy_modified(args=[row])
        return ctx.api.named_generic_type("typedj.query.expression.Query", [row])

    # restriction ---------------------------------------------------------------------

    def restrict(self, ctx: MethodContext) -> Type:
        heading = self.headings.of_type(ctx.type)
        call = Call.of(ctx)
        if heading is None or not call.positional:
            return ctx.default_return_type
        self._condition(ctx, heading, call.positional[0], call.semantic_check())
        return ctx.default_return_type

    def _condition(
        self, ctx: MethodContext, heading: Heading, cond: Expression, semantic: bool = True
    ) -> None:
        api = ctx.api
        if isinstance(cond, DictExpr):
            for key, value in cond.items:
                if isinstance(key, StrExpr):
                    self._pair(api, heading, key.value, key, value)
        elif isinstance(cond, CallExpr) and isinstance(cond.callee, RefExpr):
            callee = cond.callee.fullname
            if callee == "builtins.dict":
                for kind, name, arg in zip(cond.arg_kinds, cond.arg_names, cond.args, strict=True):
                    if kind == ARG_NAMED and name is not None:
                        self._pair(api, heading, name, arg, arg)
            elif callee in (_NOT, _AND_LIST) and len(cond.args) == 1:
                self._condition(ctx, heading, cond.args[0], semantic)
            elif callee == _TOP:
                order = [a for a, k in zip(cond.args, cond.arg_kinds, strict=True) if k == ARG_POS][1:2]
                named = [a for a, n in zip(cond.args, cond.arg_names, strict=True) if n == "order_by"]
                for arg in order + named:
                    self._order(api, heading, arg, "Top(order_by=...)")
            else:
                self._operand(ctx, heading, cond, semantic)
        elif isinstance(cond, ListExpr | TupleExpr):
            for item in cond.items:
                self._condition(ctx, heading, item, semantic)
        elif isinstance(cond, StrExpr):
            for name in sqltext.unknown(cond.value, heading.names):
                _unknown(api, heading, name, "restriction text", cond)
        else:
            self._operand(ctx, heading, cond, semantic)

    def _operand(self, ctx: MethodContext, heading: Heading, cond: Expression, semantic: bool = True) -> None:
        typ = _type_of(ctx.api, cond)
        names = universal_names(typ)
        if names is not None:
            for name, where in _u_strings(cond, names):
                if name not in heading:
                    _unknown(ctx.api, heading, name, "restriction by U(...)", where)
            return
        other = self.headings.of_type(typ)
        if other is not None and semantic:
            _conflicts(ctx.api, heading, other, "restrict", cond)

    def _pair(
        self, api: CheckerPluginInterface, heading: Heading, name: str, where: Context, value: Expression
    ) -> None:
        if name not in heading:
            _unknown(api, heading, name, "restriction", where)
            return
        self._value(api, heading, name, value, "the restriction gives")

    def _value(
        self, api: CheckerPluginInterface, heading: Heading, name: str, value: Expression, what: str
    ) -> None:
        expected = heading[name].type
        actual = get_proper_type(_type_of(api, value))
        if isinstance(actual, AnyType | NoneType) or is_subtype(actual, expected):
            return
        known = actual.last_known_value if isinstance(actual, Instance) else None
        if (known is not None and is_subtype(known, expected)) or _converted(actual, expected):
            return
        given = format_type(known if known is not None else actual, api.options)
        api.fail(
            f"{heading.title}.{name} is {format_type(expected, api.options)}; {what} {given}",
            value,
            code=VALUE,
        )

    # join ------------------------------------------------------------------------------

    def extend(self, ctx: MethodContext) -> Type:
        """``a.extend(b)``: ``a.join(b, left=True)``."""
        return self.join(ctx, outer=True)

    def join(self, ctx: MethodContext, *, outer: bool | None = None) -> Type:
        call = Call.of(ctx)
        if not call.positional:
            return ctx.default_return_type
        operand = call.positional[0]
        other_type = _type_of(ctx.api, operand)
        names = universal_names(other_type)
        if names is not None:
            return self._promote(ctx, self.headings.of_type(ctx.type), names, operand)
        a = self.headings.of_type(ctx.type)
        b = self.headings.of_type(other_type)
        if a is None or b is None:
            return ctx.default_return_type
        if call.semantic_check():
            _conflicts(ctx.api, a, b, "join", operand)
        outer = _literal_bool(call.keyword("left")) if outer is None else outer
        if outer is None:
            return ctx.default_return_type
        missing = algebra.missing_key(b, a) if outer else []
        if missing:
            ctx.api.fail(
                f"a left join needs the left operand to determine the right one: {a.title} lacks the "
                f"key of {b.title} ({', '.join(missing)})",
                operand,
                code=JOIN,
            )
            return ctx.default_return_type
        return self._query(ctx, join(a, b, f"{a.title} * {b.title}", outer=outer))

    def join_reflected(self, ctx: MethodContext) -> Type:
        """``__rmul__``: mypy tries it when ``__mul__`` reported an error; it must fail too.

        Otherwise mypy would keep the reflected call's result and drop the report.
        """
        call = Call.of(ctx)
        if not call.positional:
            return ctx.default_return_type
        operand = call.positional[0]
        a = self.headings.of_type(_type_of(ctx.api, operand))
        b = self.headings.of_type(ctx.type)
        if a is not None and b is not None:
            _conflicts(ctx.api, a, b, "join", operand)
        return ctx.default_return_type

    def _promote(
        self, ctx: MethodContext, heading: Heading | None, names: list[str], where: Context | None
    ) -> Type:
        if heading is None:
            return ctx.default_return_type
        if self._missing(ctx, names, heading, "U(...) in a join", where):
            return ctx.default_return_type
        attrs = [replace(a, in_key=in_key) for a, in_key in algebra.promoted(heading, names)]
        return self._query(ctx, Heading.of(f"{heading.title} * U", attrs))

    # union -------------------------------------------------------------------------------

    def union(self, ctx: MethodContext) -> Type:
        """``a + b``: the same primary key on both sides; rows of one class stay instances."""
        call = Call.of(ctx)
        if not call.positional:
            return ctx.default_return_type
        operand = call.positional[0]
        other = _type_of(ctx.api, operand)
        a, b = self.headings.of_type(ctx.type), self.headings.of_type(other)
        if a is None or b is None:
            return ctx.default_return_type
        if not algebra.same_key(a, b):
            ctx.api.fail(
                f"union needs the same primary key on both sides: {a.title} has ({', '.join(a.key)}), "
                f"{b.title} has ({', '.join(b.key)})",
                operand,
                code=UNION,
            )
            return ctx.default_return_type
        row = table_row(ctx.type)
        default = get_proper_type(ctx.default_return_type)
        if row is not None and row == table_row(other) and isinstance(default, Instance) and default.args:
            return default.copy_modified(args=[row])
        attrs = [replace(x, type=UnionType.make_union([x.type, NoneType()])) if null else x
                 for x, null in algebra.union(a, b)]
        return self._query(ctx, Heading.of(f"{a.title} + {b.title}", attrs))

    # proj --------------------------------------------------------------------------------

    def proj(self, ctx: MethodContext) -> Type:
        heading = self.headings.of_type(ctx.type)
        if heading is None:
            return ctx.default_return_type
        api = ctx.api
        call = Call.of(ctx)
        precise = not call.unpacked
        keep_all = False
        wanted: list[str] = []
        excluded: set[str] = set()
        for arg in call.positional:
            if isinstance(arg, EllipsisExpr):
                keep_all = True
            elif isinstance(arg, StrExpr):
                name = arg.value[1:] if arg.value.startswith("-") else arg.value
                (excluded.add if arg.value.startswith("-") else wanted.append)(name)
                if name not in heading:
                    _unknown(api, heading, name, "proj", arg)
                    precise = False
                elif arg.value.startswith("-") and heading[name].in_key:
                    api.fail(f'proj cannot drop "{name}": it is in the primary key of {heading.title}', arg,
                             code=PROJ)
                    precise = False
            else:
                precise = False
        named = self._named(api, heading, call.named, "proj")
        if named is None or not precise:
            return ctx.default_return_type
        renamed_from = {a.lineage_source for a in named if a.lineage_source}
        attrs = algebra.projected(heading, wanted, excluded, keep_all=keep_all, renamed_from=renamed_from)
        attrs += [n.attr for n in named]
        repeated = algebra.repeated([a.name for a in attrs])
        if repeated:
            api.fail(f'proj: "{repeated[0]}" appears twice in the result', ctx.context, code=PROJ)
            return ctx.default_return_type
        return self._query(ctx, Heading.of(f"{heading.title}.proj()", attrs))

    def _named(
        self,
        api: CheckerPluginInterface,
        heading: Heading,
        named: Sequence[tuple[str, Expression]],
        where: str,
    ) -> list[_Named] | None:
        """``new="old"`` renames and ``new="<SQL>"`` computations; None if one is not a literal."""
        out: list[_Named] = []
        ok = True
        for new, arg in named:
            if not isinstance(arg, StrExpr):
                ok = False
                continue
            text = arg.value.strip()
            meaning = algebra.source(text, heading.names)
            if meaning == "rename":
                out.append(_Named(replace(heading[text], name=new), text))
            elif meaning == "unknown":
                _unknown(api, heading, text, f'{where}: {new}="{text}"', arg)
                ok = False
            else:
                bad = sqltext.unknown(text, heading.names)
                for name in bad:
                    _unknown(api, heading, name, f'{where}: {new}="{text}"', arg)
                ok = ok and not bad
                typ: Type = api.named_generic_type("builtins.int", []) if _COUNT.match(text) else _ANY
                out.append(_Named(Attr(new, typ, False, None), None))
        return out if ok else None

    # aggr --------------------------------------------------------------------------------

    def aggr(self, ctx: MethodContext) -> Type:
        call = Call.of(ctx)
        if not call.positional:
            return ctx.default_return_type
        api = ctx.api
        group_expr = call.positional[0]
        group = self.headings.of_type(_type_of(api, group_expr))
        names = universal_names(ctx.type)
        if names is not None:
            return self._aggr_universal(ctx, call, names, group)
        heading = self.headings.of_type(ctx.type)
        if heading is None:
            return ctx.default_return_type
        precise = not call.unpacked and group is not None
        keep_all = False
        wanted: list[str] = []
        for arg in call.positional[1:]:
            if isinstance(arg, EllipsisExpr):
                keep_all = True
            elif isinstance(arg, StrExpr):
                wanted.append(arg.value)
                if arg.value not in heading:
                    _unknown(api, heading, arg.value, "aggr", arg)
                    precise = False
            else:
                precise = False
        if group is None:
            return ctx.default_return_type
        missing = algebra.missing_key(heading, group)
        if missing:
            api.fail(
                f"aggr: the group {group.title} lacks the primary key of {heading.title} "
                f"({', '.join(missing)})",
                group_expr,
                code=AGGR,
            )
            precise = False
        if call.semantic_check() and _conflicts(api, heading, group, "aggregate", group_expr):
            precise = False
        kept = algebra.aggregated(heading, wanted, keep_all=keep_all)
        combined = join(heading, group, f"{heading.title} * {group.title}")
        computed = [(n, a) for n, a in call.named if n not in _AGGR_OPTIONS]
        named = self._named(api, combined, computed, "aggr")
        if named is None or not precise or not computed:
            return ctx.default_return_type
        return self._aggregated(ctx, kept, named, f"{heading.title}.aggr({group.title})")

    def _aggr_universal(
        self, ctx: MethodContext, call: Call, names: list[str], group: Heading | None
    ) -> Type:
        if group is None:
            return ctx.default_return_type
        bad = self._missing(ctx, names, group, "U(...).aggr", ctx.context)
        computed = [(n, a) for n, a in call.named if n not in _AGGR_OPTIONS]
        named = self._named(ctx.api, group, computed, "aggr")
        if bad or named is None or call.unpacked or not computed:
            return ctx.default_return_type
        kept = [replace(group[n], in_key=True) for n in names]
        return self._aggregated(ctx, kept, named, f"U().aggr({group.title})")

    def _aggregated(self, ctx: MethodContext, kept: list[Attr], named: list[_Named], title: str) -> Type:
        attrs = kept + [replace(n.attr, in_key=False) for n in named]
        names = [a.name for a in attrs]
        repeated = algebra.repeated(names)
        if repeated:
            message = f'aggr: "{repeated[0]}" is already an attribute of the result'
            ctx.api.fail(message, ctx.context, code=AGGR)
            return ctx.default_return_type
        return self._query(ctx, Heading.of(title, attrs))

    # U ----------------------------------------------------------------------------------

    def universal(self, ctx: FunctionContext) -> Type:
        default = get_proper_type(ctx.default_return_type)
        args = [a for group in ctx.args for a in group]
        kinds = [k for group in ctx.arg_kinds for k in group]
        if not isinstance(default, Instance) or any(k != ARG_POS for k in kinds):
            return ctx.default_return_type
        if not all(isinstance(a, StrExpr) for a in args):
            return ctx.default_return_type
        return with_universal(default, [a.value for a in args if isinstance(a, StrExpr)])

    def _universal(self, ctx: MethodContext) -> tuple[list[str], Heading | None] | None:
        """The names of the receiving ``U(...)`` and the heading of the query it meets."""
        names = universal_names(ctx.type)
        call = Call.of(ctx)
        if names is None or not call.positional:
            return None
        return names, self.headings.of_type(_type_of(ctx.api, call.positional[0]))

    def _missing(
        self, ctx: MethodContext, names: list[str], other: Heading, where: str, at: Context | None
    ) -> bool:
        bad = False
        for name, string in _u_strings(at, names):
            if name not in other:
                _unknown(ctx.api, other, name, where, string)
                bad = True
        return bad

    def universal_restrict(self, ctx: MethodContext) -> Type:
        """``U(...) & query``: the distinct values of those attributes, which form the key."""
        names, other = self._universal(ctx) or ([], None)
        if other is None:
            return ctx.default_return_type
        if self._missing(ctx, names, other, "U(...) & query", _receiver(ctx.context)):
            return ctx.default_return_type
        attrs = [replace(other[n], in_key=True) for n in names]
        return self._query(ctx, Heading.of(f"U() & {other.title}", attrs))

    def universal_reflected(self, ctx: MethodContext) -> Type:
        """``query & U(...)`` through ``U.__rand__``: fails when ``Query.__and__`` did."""
        names, other = self._universal(ctx) or ([], None)
        if other is not None:
            self._missing(ctx, names, other, "restriction by U(...)", ctx.context)
        return ctx.default_return_type

    def universal_join(self, ctx: MethodContext) -> Type:
        """``U(...) * query``: the query with those attributes added to its primary key."""
        found = self._universal(ctx)
        if found is None:
            return ctx.default_return_type
        return self._promote(ctx, found[1], found[0], _receiver(ctx.context))

    # fetch and ordering ---------------------------------------------------------------------

    def fetch(self, ctx: MethodContext) -> Type:
        heading = self.headings.of_type(ctx.type)
        if heading is None:
            return ctx.default_return_type
        call = Call.of(ctx)
        for arg in call.positional:
            if isinstance(arg, StrExpr) and arg.value != "KEY" and arg.value not in heading:
                _unknown(ctx.api, heading, arg.value, "fetch", arg)
        self._order(ctx.api, heading, call.keyword("order_by"))
        if not call.positional and not call.unpacked and self._derived(ctx):
            return ctx.api.named_generic_type("builtins.list", [typed_row(heading, ctx.api)])
        return ctx.default_return_type

    def iterate(self, ctx: MethodContext) -> Type:
        """``for row in query``: the rows of a derived query are TypedDicts too."""
        heading = self.headings.of_type(ctx.type)
        if heading is None or not self._derived(ctx):
            return ctx.default_return_type
        return ctx.api.named_generic_type("typing.Iterator", [typed_row(heading, ctx.api)])

    def _derived(self, ctx: MethodContext) -> bool:
        """Whether the receiver is a query whose rows are dicts (not table rows)."""
        return table_row(ctx.type) is None

    def fetch1(self, ctx: MethodContext) -> Type:
        heading = self.headings.of_type(ctx.type)
        if heading is None:
            return ctx.default_return_type
        call = Call.of(ctx)
        types: list[Type] = []
        for arg in call.positional:
            if not isinstance(arg, StrExpr):
                return ctx.default_return_type
            if arg.value not in heading:
                _unknown(ctx.api, heading, arg.value, "fetch1", arg)
                return ctx.default_return_type
            types.append(heading[arg.value].type)
        if not types and not call.unpacked and self._derived(ctx):
            return typed_row(heading, ctx.api)
        if call.unpacked or not types:
            return ctx.default_return_type
        if len(types) == 1:
            return types[0]
        return TupleType(types, ctx.api.named_generic_type("builtins.tuple", [_ANY]))

    def ordered(self, ctx: MethodContext) -> Type:
        """``order_by=`` of the result methods, and the positional terms of ``order_by(...)``."""
        heading = self.headings.of_type(ctx.type)
        if heading is not None:
            call = Call.of(ctx)
            self._order(ctx.api, heading, call.keyword("order_by"))
            for arg in call.positional:
                self._order(ctx.api, heading, arg)
        return ctx.default_return_type

    def _order(
        self, api: CheckerPluginInterface, heading: Heading, arg: Expression | None, where: str = "order_by"
    ) -> None:
        items = arg.items if isinstance(arg, ListExpr | TupleExpr) else [arg] if arg is not None else []
        for item in items:
            if isinstance(item, StrExpr) and item.value.split():
                name = item.value.split()[0]
                if name != "KEY" and name not in heading:
                    _unknown(api, heading, name, where, item)

    # inserted rows ------------------------------------------------------------------------

    def insert(self, ctx: MethodContext) -> Type:
        """Rows written as dict displays (``{**key, "n": 3}`` too): their keys and values."""
        heading = self.headings.of_type(ctx.type)
        row = table_row(ctx.type)
        call = Call.of(ctx)
        if heading is None or row is None or not call.positional:
            return ctx.default_return_type
        method = getattr(ctx.context, "callee", None)
        many = isinstance(method, MemberExpr) and method.name == "insert"
        first = call.positional[0]
        rows = first.items if many and isinstance(first, ListExpr | TupleExpr) else [] if many else [first]
        where = method.name if isinstance(method, MemberExpr) else "insert1"
        for item in rows:
            if isinstance(item, DictExpr):
                self._row(ctx.api, heading, row, item, where)
        return ctx.default_return_type

    def _row(self, api: CheckerPluginInterface, heading: Heading, row: Instance, item: DictExpr,
             where: str) -> None:
        for key, value in item.items:
            if not isinstance(key, StrExpr):
                continue  # ``**key``, or a computed key
            name = key.value
            if name in heading:
                self._value(api, heading, name, value, "the row gives")
            elif not _is_field(row, name):
                _unknown(api, heading, name, where, key)

    # insert1 through an instance ------------------------------------------------------------

    def insert1_signature(self, ctx: MethodSigContext) -> FunctionLike:
        """``self.insert1(a=..., b=...)`` in ``make``: the constructor's parameters, as for the class.

        mypy infers ``insert1``'s ParamSpec from the class object, but not from ``type[T]``
        (an instance's class), where it would reject every keyword.
        """
        sig = ctx.default_signature
        receiver = get_proper_type(ctx.type)
        if isinstance(receiver, TypeType):
            receiver = get_proper_type(receiver.item)
        if not (isinstance(receiver, Instance) and is_table(receiver.type)):
            return sig
        init = receiver.type.get_method("__init__")
        init_type = get_proper_type(init.type) if init is not None else None
        if not isinstance(init_type, CallableType) or sig.arg_kinds != [ARG_STAR, ARG_STAR2]:
            return sig
        return sig.copy_modified(
            arg_types=init_type.arg_types[1:],
            arg_kinds=init_type.arg_kinds[1:],
            arg_names=init_type.arg_names[1:],
        )
