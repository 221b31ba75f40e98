"""The typedj mypy plugin: checks attribute names in queries and types derived query rows.

Enable it with ``plugins = ["typedj.mypy_plugin"]`` (pyproject) or
``plugins = typedj.mypy_plugin`` (mypy.ini). It is static: it reads class bodies and
types only, never imports the checked modules, never connects to a database.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

from mypy.nodes import TypeInfo
from mypy.plugin import (
    ClassDefContext,
    FunctionContext,
    MethodContext,
    MethodSigContext,
    Plugin,
    ReportConfigContext,
)
from mypy.types import FunctionLike, Type

from .checks import Checker
from .declarations import TABLE, record
from .headings import QUERY, UNIVERSAL, Headings

_DIGEST = hashlib.sha256(
    b"".join(p.read_bytes() for p in sorted(Path(__file__).parent.glob("*.py")))
).hexdigest()[:16]
_RESTRICT = frozenset({"__and__", "__sub__", "restrict"})
_JOIN = frozenset({"__mul__", "join", "__rmul__"})
_ORDERED = frozenset({"to_dicts", "keys", "to_pandas", "to_arrays", "to_arrow", "to_polars", "order_by"})


class TypedjPlugin(Plugin):
    """Hooks for table classes (named after the receiver's class), ``Query`` and ``U``."""

    def __init__(self, options: object) -> None:
        super().__init__(options)  # type: ignore[arg-type]
        self._checker = Checker(Headings(self.lookup_fully_qualified))

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
            return record
        return None

    def get_function_hook(self, fullname: str) -> Callable[[FunctionContext], Type] | None:
        return self._checker.universal if fullname == UNIVERSAL else None

    def get_method_hook(self, fullname: str) -> Callable[[MethodContext], Type] | None:
        class_name, _, method = fullname.rpartition(".")
        if not (method in _RESTRICT or method in _JOIN or method in _ORDERED
                or method in {"proj", "aggr", "fetch", "fetch1", "promote", "__rand__", "__add__", "__radd__",
                    "union", "__iter__"}):
            return None
        kind = self._kind(class_name)
        if kind is None:
            return None
        c = self._checker
        if kind == "universal":
            return {"__and__": c.universal_restrict, "restrict": c.universal_restrict,
                    "__rand__": c.universal_reflected,
                    "__mul__": c.universal_join, "__rmul__": c.universal_join,
                    "promote": c.universal_join, "aggr": c.aggr}.get(method)
        if method in _RESTRICT:
            return c.restrict
        if method == "__rmul__":
            return c.join_reflected
        if method in _JOIN:
            return c.join
        if method in _ORDERED:
            return c.ordered
        if method == "__iter__":
            return c.iterate if kind == "query" else None
        return {"proj": c.proj, "aggr": c.aggr, "fetch": c.fetch, "fetch1": c.fetch1,
                "__add__": c.union, "union": c.union, "__radd__": c.union}.get(method)

    def get_method_signature_hook(self, fullname: str) -> Callable[[MethodSigContext], FunctionLike] | None:
        class_name, _, method = fullname.rpartition(".")
        if method == "insert1" and self._kind(class_name) == "table":
            return self._checker.insert1_signature
        return None


def plugin(version: str) -> type[Plugin]:
    """mypy's entry point."""
    return TypedjPlugin
