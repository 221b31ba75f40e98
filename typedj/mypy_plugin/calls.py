"""What the checks read of a call and how they report: arguments, types, messages."""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable
from dataclasses import dataclass, field

from mypy.errorcodes import ErrorCode
from mypy.messages import format_type
from mypy.nodes import (
    ARG_NAMED,
    ARG_POS,
    ARG_STAR,
    ARG_STAR2,
    CallExpr,
    Context,
    Expression,
    MemberExpr,
    OpExpr,
    RefExpr,
    StrExpr,
)
from mypy.plugin import CheckerPluginInterface, MethodContext
from mypy.subtypes import is_subtype
from mypy.types import (
    AnyType,
    Instance,
    Type,
    TypeOfAny,
    UnionType,
    get_proper_type,
)

from ..query import algebra
from .headings import (
    Attr,
    Heading,
)

ATTR = ErrorCode("typedj-attr", "Attribute name not in the table or query", "typedj")
VALUE = ErrorCode("typedj-value", "Restriction value does not fit the attribute's type", "typedj")
JOIN = ErrorCode("typedj-join", "Shared attribute of different origins in a join", "typedj")
PROJ = ErrorCode("typedj-proj", "Projection that drops the key or repeats a name", "typedj")
_AGGR_OPTIONS = frozenset({"keep_all_rows", "exclude_nonmatching", "semantic_check"})
"""``aggr``'s own keywords: every other keyword names a computed attribute."""

AGGR = ErrorCode("typedj-aggr", "Aggregation the runtime refuses", "typedj")
UNION = ErrorCode("typedj-union", "Union of queries with different primary keys", "typedj")

_COUNT = re.compile(r"^\s*count\s*\(.*\)\s*$", re.IGNORECASE | re.DOTALL)
_NOT = "typedj.query.logic.Not"
_AND_LIST = "typedj.query.logic.AndList"
_TOP = "typedj.query.condition.Top"
_ANY = AnyType(TypeOfAny.special_form)


@dataclass
class Call:
    """The arguments of a call as written: positional, keyword, and whether any was unpacked."""

    positional: list[Expression] = field(default_factory=list)
    named: list[tuple[str, Expression]] = field(default_factory=list)
    unpacked: bool = False

    @classmethod
    def of(cls, ctx: MethodContext) -> Call:
        call = cls()
        node = ctx.context
        if isinstance(node, CallExpr):
            for kind, name, arg in zip(node.arg_kinds, node.arg_names, node.args, strict=True):
                if kind == ARG_POS:
                    call.positional.append(arg)
                elif kind == ARG_NAMED and name is not None:
                    call.named.append((name, arg))
                elif kind in (ARG_STAR, ARG_STAR2):
                    call.unpacked = True
        elif ctx.args and ctx.args[0]:
            call.positional.append(ctx.args[0][0])
        return call

    def keyword(self, name: str) -> Expression | None:
        return next((arg for n, arg in self.named if n == name), None)

    def semantic_check(self) -> bool:
        """False only for a literal ``semantic_check=False``: namesakes then match by name."""
        given = self.keyword("semantic_check")
        return given is None or _literal_bool(given) is not False


# -- messages ------------------------------------------------------------------------------


def _unknown(api: CheckerPluginInterface, heading: Heading, name: str, where: str, ctx: Context) -> None:
    close = difflib.get_close_matches(name, heading.names, n=1)
    hint = f'; did you mean "{close[0]}"?' if close else f"; it has {', '.join(heading.names) or 'none'}"
    api.fail(f'{heading.title} has no attribute "{name}" ({where}){hint}', ctx, code=ATTR)


def _origin(heading: Heading, attr: Attr) -> str:
    if attr.lineage is None:
        return f"a secondary attribute of {heading.title}"
    table, name = attr.lineage.rsplit(".", 2)[-2:]
    return f"{re.sub(r'@[0-9]+$', '', table)}.{name}"  # a class declared in a function: Name@line


def _conflicts(
    api: CheckerPluginInterface, a: Heading, b: Heading, operation: str, ctx: Context
) -> bool:
    """Report shared names whose origins differ, as ``check_lineage`` does at run time."""
    found = False
    for name in [n for n in a.names if n in b]:
        x, y = a[name], b[name]
        if x.lineage is not None and x.lineage == y.lineage:
            continue
        types = ""
        tx, ty = get_proper_type(x.type), get_proper_type(y.type)
        if not (is_subtype(tx, ty) and is_subtype(ty, tx)):
            types = f" (types {format_type(tx, api.options)} and {format_type(ty, api.options)})"
        other = b.title if algebra.IDENTIFIER.match(b.title.replace(".", "_")) else f"({b.title})"
        api.fail(
            f'cannot {operation} {a.title} and {b.title} on "{name}": it is {_origin(a, x)} on one side '
            f"and {_origin(b, y)} on the other{types}; rename it on one side, e.g. "
            f'{other}.proj(..., {name}_2="{name}")',
            ctx,
            code=JOIN,
        )
        found = True
    return found



# -- reading expressions -------------------------------------------------------------------


@dataclass(frozen=True)
class _Named:
    attr: Attr
    lineage_source: str | None


_FROM_TEXT = frozenset(
    {"datetime.date", "datetime.datetime", "datetime.time", "decimal.Decimal", "uuid.UUID"}
)
_NUMPY = {"builtins.int": "numpy.integer", "builtins.float": "numpy.number", "builtins.bool": "numpy.bool"}
_STORED = {"typedj.objects.ObjectRef": ("pathlib.PurePath", "builtins.bytes", "builtins.tuple"),
           "typedj.objects.NpyRef": ("numpy.ndarray",)}
"""What inserts take for an attribute whose fetch gives a reference to the stored file."""


def _converted(actual: Type, expected: Type) -> bool:
    """Values the server or the codecs take for the attribute's type, as inserts do.

    Text for dates, times, decimals and UUIDs (``{"session_date": "2024-01-02"}``),
    numpy scalars for numbers, numbers for decimals, and a local path, bytes or array for
    ``Object`` and ``Npy`` attributes (fetch gives an ``ObjectRef``/``NpyRef``).
    """
    a = get_proper_type(actual)
    if not isinstance(a, Instance):
        return False
    e = get_proper_type(expected)
    wanted = {get_proper_type(t) for t in (e.items if isinstance(e, UnionType) else [e])}
    names = {t.type.fullname for t in wanted if isinstance(t, Instance)}
    if a.type.fullname == "builtins.str" and names & _FROM_TEXT:
        return True
    if a.type.fullname in ("builtins.int", "builtins.float") and "decimal.Decimal" in names:
        return True
    if any(a.type.has_base(base) for n in names for base in _STORED.get(n, ())):
        return True
    return any(a.type.has_base(_NUMPY[n]) for n in names if n in _NUMPY)


def _type_of(api: CheckerPluginInterface, expr: Expression) -> Type:
    """The type mypy already inferred for ``expr`` (inferring it if need be)."""
    lookup = getattr(api, "lookup_type_or_none", None)
    found = lookup(expr) if lookup is not None else None
    return found if found is not None else api.get_expression_type(expr)


def _is_field(row: Instance, name: str) -> bool:
    """Whether ``name`` is declared on the table class (a ``Ref`` name: a row key too)."""
    sym = row.type.get(name)
    return sym is not None and not name.startswith("_")


def _literal_bool(expr: Expression | None) -> bool | None:
    if expr is None:
        return False
    if isinstance(expr, RefExpr) and expr.fullname in ("builtins.True", "builtins.False"):
        return expr.fullname == "builtins.True"
    return None


def _receiver(context: Context) -> Expression | None:
    if isinstance(context, OpExpr):
        return context.left
    if isinstance(context, CallExpr) and isinstance(context.callee, MemberExpr):
        return context.callee.expr
    return None


def _u_strings(expr: Context | None, names: Iterable[str]) -> list[tuple[str, Context]]:
    """Each name of a ``U(...)`` with the string that wrote it, when ``expr`` is that call."""
    names = list(names)
    node = expr
    if isinstance(node, OpExpr):
        node = node.right if _is_u_call(node.right) else node.left
    if isinstance(node, CallExpr) and not _is_u_call(node):
        node = _receiver(node)
    if isinstance(node, CallExpr) and _is_u_call(node):
        strings = [a for a in node.args if isinstance(a, StrExpr)]
        if [s.value for s in strings] == names:
            return [(s.value, s) for s in strings]
    fallback: Context = expr if expr is not None else Context()
    return [(n, fallback) for n in names]


def _is_u_call(node: Expression | None) -> bool:
    return (
        isinstance(node, CallExpr)
        and isinstance(node.callee, RefExpr)
        and node.callee.fullname == "typedj.query.universal.U"
    )
