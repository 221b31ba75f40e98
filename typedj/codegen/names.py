"""How DataJoint names map to Python: tiers, class names, module names, literals."""

from __future__ import annotations

import keyword
import re
from datetime import date, datetime, time
from decimal import Decimal
from typing import Any
from uuid import UUID

from ..backend.connection import Connection, connect
from ..errors import DeclarationError
from ..schema import Schema

TIERS = {"#": "Lookup", "__": "Computed", "_": "Imported", "": "Manual"}


def open_schema(name: str, connection: Connection | None = None) -> Schema:
    """The loaded ``Schema`` of an existing database (reused if already loaded)."""
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


def module_name(schema: str) -> str:
    """The Python module name a schema's generated module gets (``'elem-lab'`` -> ``elem_lab``)."""
    name = re.sub(r"[^0-9a-zA-Z_]", "_", schema).lower()
    if not name or name[0].isdigit() or keyword.iskeyword(name) or name in _MODULE_TAKEN:
        name = f"schema_{name}"
    return name


_MODULE_TAKEN = frozenset({"tj", "schema", "typedj", "date", "datetime", "time", "typing", "decimal", "uuid"})


def python_name(name: str, where: str) -> str:
    """``name`` if generated code can use it as an attribute name, else a ``DeclarationError``."""
    if re.fullmatch(r"[a-z][a-z0-9_]*", name) and not keyword.iskeyword(name):
        return name
    raise DeclarationError(
        f"{where}: attribute name {name!r} is not a lowercase Python identifier (letters, digits, "
        "'_'; not a keyword), so no table class can declare it; rename the column",
        attribute=name,
    )


# -- values as Python source ---------------------------------------------------------


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


def names_of(value: Any) -> set[str]:
    """The names ``literal(value)`` spells (for the imports)."""
    if isinstance(value, Decimal | datetime | date | time | UUID):
        return {type(value).__name__}
    if isinstance(value, list | tuple):
        return set().union(*(names_of(v) for v in value))
    if isinstance(value, dict):
        return set().union(*(names_of(k) | names_of(v) for k, v in value.items()))
    return set()

