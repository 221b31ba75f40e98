"""A table class's body read: each annotated name with its markers, options and default.

``declare.py`` turns these fields into columns and references; the table surface reads
them to learn which names a class declares.
"""

from __future__ import annotations

import inspect
import re
import sys
import types as pytypes
import typing
from dataclasses import dataclass, field
from typing import Any, get_args, get_origin

from .errors import DeclarationError
from .types import BLOB, MISSING, PRIMARY_KEY, AttrSpec, LinkSpec, Ref, SqlType, _KeepsDefault


@dataclass
class Field:
    """One annotated name of a class body, before it becomes columns."""

    name: str
    annotation: Any
    base: Any
    in_key: bool
    nullable: bool
    blob: bool
    sql: SqlType | None
    spec: AttrSpec | None
    link: LinkSpec | None
    default: Any
    ref: Any = None
    extras: list[Any] = field(default_factory=list)


def _unwrap(annotation: Any) -> tuple[Any, list[Any]]:
    """Strip ``Annotated`` layers, collecting their metadata."""
    extras: list[Any] = []
    while get_origin(annotation) is typing.Annotated:
        extras.extend(annotation.__metadata__)
        annotation = annotation.__origin__
    return annotation, extras


def _split_optional(annotation: Any) -> tuple[Any, bool]:
    origin = get_origin(annotation)
    if origin is typing.Union or origin is pytypes.UnionType:
        args = [a for a in get_args(annotation) if a is not type(None)]
        if len(args) != len(get_args(annotation)) and len(args) == 1:
            return args[0], True
    return annotation, False


def read_fields(cls: type, namespace: dict[str, Any] | None = None) -> list[Field]:
    """The annotated attributes of ``cls`` itself, in declaration order.

    Forward references (``Ref["Parent"]``) resolve against the module, the master class
    and ``namespace`` (the classes already declared), so a parent declared after its
    child is found even before its name is bound in the module.
    """
    cached = cls.__dict__.get("_fields")
    if cached is not None and namespace is None:
        return list(cached)
    hints = _own_hints(cls, namespace or {})
    return [_field(cls, name, hint) for name, hint in hints.items()
            if get_origin(hint) is not typing.ClassVar]


def _own_hints(cls: type, namespace: dict[str, Any]) -> dict[str, Any]:
    """The resolved annotations ``cls`` itself declares, in order."""
    own = inspect.get_annotations(cls)
    only_own = type(cls.__name__, (), {"__annotations__": dict(own), "__module__": cls.__module__})
    try:
        hints = typing.get_type_hints(only_own, include_extras=True, localns=local_namespace(cls, namespace))
    except NameError as exc:
        missing = getattr(exc, "name", None) or ""
        referenced = any(
            re.search(rf"Ref\[\s*['\"]?{re.escape(missing)}\b", str(a)) for a in own.values()
        )
        if not referenced:
            raise DeclarationError(
                f"{cls.__name__}: an annotation uses {missing!r}, which is not defined", table=cls.__name__
            ) from exc
        raise DeclarationError(
            f"{cls.__name__}: cannot resolve an annotation ({exc}); declare referenced tables first",
            table=cls.__name__,
        ) from exc
    return {name: hints[name] for name in own}


def _field(cls: type, name: str, hint: Any) -> Field:
    annotation, extras = _unwrap(hint)
    base, nullable = _split_optional(annotation)
    base, more = _unwrap(base)
    extras += more
    raw_default = cls.__dict__.get(name, MISSING)
    if isinstance(raw_default, _KeepsDefault):  # a declared class: its column keeps the default
        raw_default = raw_default.default
    spec = raw_default if isinstance(raw_default, AttrSpec) else None
    link = raw_default if isinstance(raw_default, LinkSpec) else None
    default = raw_default
    if spec is not None:
        default = spec.default
    elif link is not None:
        default = link.default
        nullable = nullable or link.nullable
    elif isinstance(raw_default, Ref):
        default = MISSING
    if base is Ref:
        raise DeclarationError(f"{cls.__name__}.{name}: Ref needs a table: Ref[Parent]")
    return Field(
        name=name,
        annotation=annotation,
        base=base,
        in_key=PRIMARY_KEY in extras,
        nullable=nullable,
        blob=BLOB in extras,
        sql=next((e for e in extras if isinstance(e, SqlType)), None),
        spec=spec,
        link=link,
        default=default,
        ref=get_args(base)[0] if get_origin(base) is Ref else None,
        extras=extras,
    )


def local_namespace(cls: type, namespace: dict[str, Any]) -> dict[str, Any]:
    """Names a class's string annotations may use beyond its module's globals.

    As Python scoping would have it, a table class of the module comes first: a part's
    ``Ref[Organization]`` is the module's ``Organization`` even when the part itself is
    ``Lab.Organization``. Other names are looked up among the master's members (sibling
    parts), then among the classes already declared (``namespace``: classes declared in
    a function); the master's own name is always the master (``Ref["Lab.Channel"]``).
    """
    module = sys.modules.get(cls.__module__)
    globals_ = vars(module) if module is not None else {}
    ns = dict(namespace)
    master = getattr(cls, "_master", None)
    if master is not None:
        ns.update(vars(master))
    ns = {k: v for k, v in ns.items() if getattr(globals_.get(k), "_tier", None) is None}
    if master is not None:
        ns[master.__name__] = master
    return ns
