"""Typed table classes for existing schemas, read from the catalog.

Works on any DataJoint schema (made by typedj or datajoint-python): names, tiers and
parts come from the table names, types from the ``:type:`` column comments, references
from the foreign keys. The classes are first described as data (``ClassSpec``, whose
annotations and defaults are small expression trees); ``render`` spells them as Python
source and ``virtual.py`` builds the classes from them directly. Nothing read from the
catalog is ever executed: a name that is not a plain Python identifier is refused, and
every string (comment, default, enum member, SQL type) is written as a ``repr`` literal.
"""


from .names import (
    TIERS,
    class_name,
    class_path,
    literal,
    module_name,
    open_schema,
    python_name,
    tier_of,
)
from .read import read_schema
from .render import generate, generate_package, render
from .spec import ClassSpec, FieldSpec, ModuleSpec

__all__ = [
    "TIERS", "ClassSpec", "FieldSpec", "ModuleSpec", "class_name", "class_path", "generate",
    "generate_package", "literal", "module_name", "open_schema", "python_name", "read_schema",
    "render", "tier_of",
]
