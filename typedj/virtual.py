"""Virtual modules: the classes ``typedj codegen`` would write, built in memory.

The classes are made directly from ``codegen.read_schema``'s description (``type()`` with
annotations built as objects); no source is generated and executed, so nothing read
from the catalog can run.
"""

from __future__ import annotations

import types
from typing import Any

from .backend.connection import Connection, connect
from .codegen.names import class_path
from .codegen.read import read_schema
from .codegen.render import render
from .codegen.spec import (
    Call,
    ClassSpec,
    Expr,
    Lit,
    ModuleSpec,
    Name,
    Optional,
    Sub,
    TableClass,
    vocabulary_objects,
)
from .errors import DeclarationError
from .schema import Schema, register_catalog_classes
from .table import Table


def virtual_module(
    module_name: str, schema_name: str, *, connection: Connection | None = None
) -> types.ModuleType:
    """A module holding a typed class for every table of an existing schema.

    For quick access without a file: ``lab = tj.virtual_module("lab", "lab_db")``, then
    ``lab.Subject.fetch()``. The classes are bound to the tables as they are (nothing is
    created); ``module.schema`` is their ``Schema``; ``module.__source__`` the source
    ``typedj codegen`` writes for them (for reading: it is not what made them).
    """
    conn = connection or connect()
    return _Builder(conn, {}).module(module_name, schema_name)


def catalog_classes(schema: Schema) -> list[type[Table]]:
    """Classes for the tables of ``schema``, made as ``virtual_module`` makes them (what
    ``Schema.get_table`` gives for a table no class declares). They are bound to a Schema
    of their own, which stays private: ``schema`` keeps its place on the connection."""
    module = virtual_module(f"{schema.name} (catalog)", schema.name, connection=schema.connection)
    schema.connection.schemas[schema.name] = schema
    classes: list[type[Table]] = list(module.schema.classes.values())
    return classes


register_catalog_classes(catalog_classes)


class _Builder:
    """Builds the virtual modules of a schema and of the schemas it references (once each)."""

    def __init__(self, connection: Connection, modules: dict[str, types.ModuleType | None]):
        self.connection = connection
        self.modules = modules
        self.objects = vocabulary_objects()

    def module(self, module_name: str, schema_name: str) -> types.ModuleType:
        self.modules[schema_name] = None
        spec = read_schema(schema_name, connection=self.connection)
        for other in spec.others:
            if other not in self.modules:
                self.module(other, other)
            elif self.modules[other] is None:
                raise DeclarationError(f"schemas {schema_name!r} and {other!r} reference each other")
        module = types.ModuleType(module_name, f"Tables of schema {schema_name!r} (virtual module)")
        schema = Schema(schema_name, connection=self.connection, create_schema=False,
                        create_tables=False, allow_drift=True)
        classes: dict[str, type] = {}
        masters = [self._make(c, module_name, classes, c.name, spec) for c in spec.classes]
        for c in spec.classes:
            self._annotate(c, spec, classes)
        for cls in masters:
            module.__dict__[cls.__name__] = schema(cls)
        module.__dict__["schema"] = schema
        module.__dict__["__source__"] = render(spec)
        self.modules[schema_name] = module
        return module

    def _make(
        self, spec: ClassSpec, module_name: str, classes: dict[str, type], qualname: str, module: ModuleSpec
    ) -> type:
        namespace: dict[str, Any] = {"__module__": module_name, "__qualname__": qualname,
                                     "__doc__": spec.doc or None}
        for f in spec.fields:
            if f.value is not None:
                namespace[f.name] = self._value(f.value, classes, module)  # Link(Parent): made before
        if spec.indexes:
            namespace["indexes"] = [self._value(i) for i in spec.indexes]
        if spec.contents is not None:
            namespace["contents"] = spec.contents
        for part in spec.parts:
            namespace[part.name] = self._make(part, module_name, classes, f"{qualname}.{part.name}", module)
        tier = self.objects[spec.tier]
        cls: type = type(tier)(spec.name, (tier,), namespace)
        classes[spec.table] = cls
        return cls

    def _annotate(self, spec: ClassSpec, module: ModuleSpec, classes: dict[str, type]) -> None:
        cls = classes[spec.table]
        cls.__annotations__ = {f.name: self._value(f.annotation, classes, module) for f in spec.fields}
        for part in spec.parts:
            self._annotate(part, module, classes)

    def _value(
        self, e: Expr, classes: dict[str, type] | None = None, module: ModuleSpec | None = None
    ) -> Any:
        if isinstance(e, Name):
            return self.objects[e.name]
        if isinstance(e, Lit):
            return e.value
        if isinstance(e, Optional):
            return self._value(e.inner, classes, module) | None
        if isinstance(e, Sub):
            head = self._value(e.head, classes, module)
            args = tuple(self._value(a, classes, module) for a in e.args)
            return head[args if len(args) > 1 else args[0]]
        if isinstance(e, Call):
            return self._value(e.head)(*(self._value(a, classes, module) for a in e.args),
                                       **{k: self._value(v, classes, module) for k, v in e.kwargs})
        assert isinstance(e, TableClass) and classes is not None and module is not None
        if e.schema == module.schema:
            return classes[e.table]
        other = self.modules[e.schema]
        assert other is not None
        target: Any = other
        for part in class_path(e.table).split("."):
            target = getattr(target, part)
        return target
