"""Virtual modules: the classes ``typedj codegen`` would write, built in memory."""

from __future__ import annotations

import types

from .backend.connection import Connection, connect
from .codegen import generate


def virtual_module(
    module_name: str, schema_name: str, *, connection: Connection | None = None
) -> types.ModuleType:
    """A module holding a typed class for every table of an existing schema.

    For quick access without a file: ``lab = tj.virtual_module("lab", "lab_db")``, then
    ``lab.Subject.fetch()``. The classes are bound to the tables as they are (nothing is
    created); ``module.schema`` is their ``Schema``; ``module.__source__`` the code that
    made them, the same ``typedj codegen`` writes.
    """
    conn = connection or connect()
    source = generate(schema_name, connection=conn, virtual=True)
    module = types.ModuleType(module_name, f"Tables of schema {schema_name!r} (virtual module)")
    module.__dict__["__connection__"] = conn
    module.__dict__["__source__"] = source
    code = compile(source, f"<virtual module {module_name}: {schema_name}>", "exec", dont_inherit=True)
    exec(code, module.__dict__)
    return module
