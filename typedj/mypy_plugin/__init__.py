"""The typedj mypy plugin: checks attribute names in queries and types derived query rows.

Enable it with ``plugins = ["typedj.mypy_plugin"]`` (pyproject) or
``plugins = typedj.mypy_plugin`` (mypy.ini). It is static: it reads class bodies and
types only, never imports the checked modules, never connects to a database.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any, TypeVar

from mypy.nodes import TypeInfo
from mypy.options import Options
from mypy.plugin import (
    ClassDefContext,
    FunctionContext,
    MethodContext,
    MethodSigContext,
    Plugin,
    ReportConfigContext,
)
from mypy.server.trigger import make_wildcard_trigger
from mypy.types import FunctionLike, Type

from .checks import Checker
from .declarations import TABLE, record
from .headings import QUERY, UNIVERSAL, Headings
from .keys import KEY_OF, key_item

_DIGEST = hashlib.sha256(
    b"".join(p.read_bytes() for p in sorted(Path(__file__).parent.glob("*.py")))
).hexdigest()[:16]
H = TypeVar("H", MethodContext, FunctionContext, MethodSigContext, ClassDefContext)
R = TypeVar("R")


def _safe(hook: Callable[[H], R], default: Callable[[H], R]) -> Callable[[H], R]:
    """A hook that, should the plugin fail, gives mypy's own answer instead of crashing CI.

    ``TYPEDJ_PLUGIN_DEBUG=1`` lets the exception through (the tests set it).
    """

    def guarded(ctx: H) -> R:
        try:
            return hook(ctx)
        except Exception:
            if os.environ.get("TYPEDJ_PLUGIN_DEBUG"):
                raise
            return default(ctx)

    return guarded


def _tracked(hook: Callable[[H], R], headings: Headings) -> Callable[[H], R]:
    """A checker hook that records, for the daemon, which tables its answer read.

    The module being checked then depends on every change inside those classes
    (``<module.Table[wildcard]>``), so ``dmypy`` rechecks it after a table is edited.
    """

    def tracked(ctx: H) -> R:
        api = ctx.api
        tree = getattr(api, "tree", None)
        headings.begin(tree, daemon=api.options.fine_grained_incremental)
        result = hook(ctx)
        scope = getattr(api, "tscope", None)
        if tree is not None and scope is not None and headings.seen:
            target = scope.current_target()
            for name in headings.seen:
                tree.plugin_deps.setdefault(make_wildcard_trigger(name), set()).add(target)
        return result

    return tracked


def _returned(ctx: MethodContext | FunctionContext) -> Type:
    return ctx.default_return_type


def _signature(ctx: MethodSigContext) -> FunctionLike:
    return ctx.default_signature


class TypedjPlugin(Plugin):
    """Hooks for table classes (named after the receiver's class), ``Query`` and ``U``."""

    def __init__(self, options: Options) -> None:
        super().__init__(options)
        c = Checker(Headings(self.lookup_fully_qualified))
        self._checker = c
        common: dict[str, Callable[[MethodContext], Type]] = {
            "__and__": c.restrict, "__sub__": c.restrict, "restrict": c.restrict,
            "__mul__": c.join, "join": c.join, "extend": c.extend, "__rmul__": c.join_reflected,
            "__add__": c.union, "__radd__": c.union, "union": c.union,
            "proj": c.proj, "aggr": c.aggr, "fetch": c.fetch, "fetch1": c.fetch1,
            "insert1": c.insert, "insert": c.insert,
            **dict.fromkeys(("to_dicts", "keys", "to_pandas", "to_arrays", "to_arrow", "to_polars",
                             "order_by"), c.ordered),
        }
        self._methods: dict[str, dict[str, Callable[[MethodContext], Type]]] = {
            "table": common,
            "query": {**common, "__iter__": c.iterate},
            "universal": {"__and__": c.universal_restrict, "restrict": c.universal_restrict,
                          "__rand__": c.universal_reflected, "__mul__": c.universal_join,
                          "__rmul__": c.universal_join, "promote": c.universal_join, "aggr": c.aggr},
        }
        self._names = frozenset(n for hooks in self._methods.values() for n in hooks)

    def report_config_data(self, ctx: ReportConfigContext) -> Any:
        """A digest of the plugin's code: a new version invalidates mypy's cached results."""
        return _DIGEST

    def _kind(self, class_name: str) -> str | None:
        if class_name == QUERY:
            return "query"
        if class_name == UNIVERSAL:
            return "universal"
        sym = self.lookup_fully_qualified(class_name)
        if sym is not None and isinstance(sym.node, TypeInfo) and sym.node.has_base(TABLE):
            return "table"
        return None

    def get_base_class_hook(self, fullname: str) -> Callable[[ClassDefContext], None] | None:
        if fullname.startswith("typedj.table.") or self._kind(fullname) == "table":
            return _safe(record, lambda ctx: None)
        return None

    def get_function_hook(self, fullname: str) -> Callable[[FunctionContext], Type] | None:
        if fullname != UNIVERSAL:
            return None
        return _safe(_tracked(self._checker.universal, self._checker.headings), _returned)

    def get_method_hook(self, fullname: str) -> Callable[[MethodContext], Type] | None:
        class_name, _, method = fullname.rpartition(".")
        headings = self._checker.headings
        if class_name == KEY_OF and method == "__getitem__":
            return _safe(_tracked(partial(key_item, headings), headings), _returned)
        if method not in self._names:
            return None
        kind = self._kind(class_name)
        hook = self._methods[kind].get(method) if kind is not None else None
        return _safe(_tracked(hook, headings), _returned) if hook is not None else None

    def get_method_signature_hook(self, fullname: str) -> Callable[[MethodSigContext], FunctionLike] | None:
        class_name, _, method = fullname.rpartition(".")
        if method == "insert1" and self._kind(class_name) == "table":
            return _safe(_tracked(self._checker.insert1_signature, self._checker.headings), _signature)
        return None


def plugin(version: str) -> type[Plugin]:
    """mypy's entry point."""
    return TypedjPlugin
