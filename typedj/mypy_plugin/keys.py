"""``KeyOf[T]``: the key ``make`` receives, read by attribute name against ``T``'s key."""

from __future__ import annotations

from mypy.nodes import StrExpr
from mypy.plugin import MethodContext
from mypy.types import Instance, Type, get_proper_type

from .calls import _unknown
from .headings import Heading, Headings

KEY_OF = "typedj.types.KeyOf"


def key_item(headings: Headings, ctx: MethodContext) -> Type:
    """``key["name"]``: the key attribute's type, or an error naming the key's attributes."""
    t = get_proper_type(ctx.type)
    table = headings.of_type(t.args[0]) if isinstance(t, Instance) and t.args else None
    arg = ctx.args[0][0] if ctx.args and ctx.args[0] else None
    if table is None or not isinstance(arg, StrExpr):
        return ctx.default_return_type
    key = Heading.of(f"The key of {table.title}", [a for a in table if a.in_key])
    if arg.value not in key:
        _unknown(ctx.api, key, arg.value, "subscript", arg)
        return ctx.default_return_type
    return key[arg.value].type
