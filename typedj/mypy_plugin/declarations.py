"""Semantic-analysis step: record what the annotations of a table class say, for later checks.

mypy erases ``Annotated`` (so ``Key[int]`` is just ``int`` in the analyzed types), so the
primary-key marker and ``Link(...)`` options are read here from the unanalyzed class body
and stored in ``TypeInfo.metadata``, which mypy writes to its incremental cache. The
attribute types and the referenced tables are taken later from the analyzed types.
"""

from __future__ import annotations

from typing import Any

from mypy.nodes import (
    AssignmentStmt,
    CallExpr,
    DictExpr,
    NameExpr,
    RefExpr,
    StrExpr,
    TypeAlias,
    TypeInfo,
)
from mypy.plugin import ClassDefContext
from mypy.types import Type, UnboundType, UnionType

TABLE = "typedj.table.Table"
PART = "typedj.table.Part"
KEY = "typedj.types.Key"
LINK = "typedj.types.Link"
CLASSVAR = frozenset({"typing.ClassVar", "typing_extensions.ClassVar"})
METADATA = "typedj"


def is_table(info: TypeInfo) -> bool:
    return info.has_base(TABLE)


def record(ctx: ClassDefContext) -> None:
    """Store ``[name, in_key, rename, nullable, parent, column]`` for each annotated attribute.

    ``parent`` is the full name of the table a column declared ``= Link(Parent)`` comes
    from (``column``: the parent's attribute it renames), or ``""``.
    """
    info = ctx.cls.info
    if not is_table(info):
        return
    fields: list[list[Any]] = []
    for stmt in ctx.cls.defs.body:
        if not (isinstance(stmt, AssignmentStmt) and len(stmt.lvalues) == 1):
            continue
        target = stmt.lvalues[0]
        annotation = stmt.unanalyzed_type
        if not isinstance(target, NameExpr) or annotation is None:
            continue
        if _names(ctx, annotation) & CLASSVAR:
            continue
        in_key = KEY in _names(ctx, annotation)
        rename, nullable = _link(stmt.rvalue)
        parent, column = _linked_parent(ctx, stmt.rvalue)
        fields.append([target.name, in_key, rename, nullable, parent, column or target.name])
    stack = getattr(ctx.api, "type_stack", [])
    outer = stack[-1] if stack else None
    master = outer.fullname if isinstance(outer, TypeInfo) and is_table(outer) else None
    info.metadata[METADATA] = {"fields": fields, "master": master}


def _names(ctx: ClassDefContext, annotation: Type) -> set[str]:
    """Full names of the outer type constructors (through unions and ``Optional``)."""
    found: set[str] = set()
    if isinstance(annotation, UnionType):
        for item in annotation.items:
            found |= _names(ctx, item)
        return found
    if not isinstance(annotation, UnboundType):
        return found
    sym = ctx.api.lookup_qualified(annotation.name, ctx.cls, suppress_errors=True)
    node = sym.node if sym is not None else None
    fullname = node.fullname if isinstance(node, TypeAlias | TypeInfo) else ""
    if not fullname and sym is not None and sym.node is not None:
        fullname = getattr(sym.node, "fullname", "")
    found.add(fullname)
    if fullname in {"typing.Optional", "typing.Union", "typing.Annotated", "typing_extensions.Annotated"}:
        for arg in annotation.args[:1] if fullname.endswith("Annotated") else annotation.args:
            found |= _names(ctx, arg)
    return found


def _linked_parent(ctx: ClassDefContext, rvalue: Any) -> tuple[str, str | None]:
    """The parent named by ``Link(Parent)`` or ``Link("Parent", "column")``, and the column."""
    if not (isinstance(rvalue, CallExpr) and isinstance(rvalue.callee, RefExpr)):
        return "", None
    if rvalue.callee.fullname != LINK:
        return "", None
    positional = [a for a, n in zip(rvalue.args, rvalue.arg_names, strict=True) if n is None]
    named = {n: a for a, n in zip(rvalue.args, rvalue.arg_names, strict=True) if n is not None}
    target = positional[0] if positional else named.get("parent")
    column_arg = positional[1] if len(positional) > 1 else named.get("column")
    column = column_arg.value if isinstance(column_arg, StrExpr) else None
    if isinstance(target, RefExpr) and target.fullname:
        return target.fullname, column
    if isinstance(target, StrExpr):
        sym = ctx.api.lookup_qualified(target.value, ctx.cls, suppress_errors=True)
        node = sym.node if sym is not None else None
        if isinstance(node, TypeInfo):
            return node.fullname, column
        return f"{ctx.api.cur_mod_id}.{target.value}", column
    return "", None


def _link(rvalue: Any) -> tuple[dict[str, str], bool]:
    """The ``rename`` mapping and ``nullable`` flag of a ``Link(...)`` default."""
    if not (isinstance(rvalue, CallExpr) and isinstance(rvalue.callee, RefExpr)):
        return {}, False
    if rvalue.callee.fullname != LINK:
        return {}, False
    rename: dict[str, str] = {}
    nullable = False
    for name, arg in zip(rvalue.arg_names, rvalue.args, strict=True):
        if name == "rename" and isinstance(arg, DictExpr):
            for k, v in arg.items:
                if isinstance(k, StrExpr) and isinstance(v, StrExpr):
                    rename[k.value] = v.value
        elif name == "nullable" and isinstance(arg, NameExpr):
            nullable = arg.fullname == "builtins.True"
    return rename, nullable
