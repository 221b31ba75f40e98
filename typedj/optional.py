"""Optional dependencies: imported on first use, naming the install extra when missing."""

from __future__ import annotations

import importlib
from types import ModuleType

from .errors import MissingDependencyError


def require(module: str, *, extra: str, feature: str) -> ModuleType:
    """``module``, imported; a :class:`MissingDependencyError` that says what to install otherwise."""
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        package = module.partition(".")[0]
        raise MissingDependencyError(
            f"{feature} needs {package}, which is not installed: pip install 'typedj[{extra}]'"
        ) from exc
