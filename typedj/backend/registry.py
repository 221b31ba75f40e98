"""Backends by URL scheme: each a module exposing ``BACKEND``, imported on first use, so
no module outside a backend names it."""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass

from ..errors import ConfigError
from .catalog import Catalog, Session
from .dialect import Dialect
from .driver import Driver


@dataclass(frozen=True)
class Backend:
    """One kind of database: its SQL spelling, its driver, and its catalog queries."""

    dialect: Dialect
    driver: Driver
    catalog: Callable[[Session], Catalog]


_MODULES: dict[str, str] = {
    "mysql": "typedj.backend.mysql",
    "sqlite": "typedj.backend.sqlite",
    "postgresql": "typedj.backend.postgres",
}


def register(scheme: str, module: str) -> None:
    """Serve URLs of ``scheme`` with the backend that ``module`` exposes as ``BACKEND``."""
    _MODULES[scheme] = module


def backend_for(scheme: str) -> Backend:
    """The backend serving URLs of ``scheme``."""
    module = _MODULES.get(scheme)
    if module is None:
        raise ConfigError(f"no backend for {scheme!r} (known: {', '.join(sorted(_MODULES))})")
    try:
        found: Backend = importlib.import_module(module).BACKEND
    except ImportError as exc:
        raise ConfigError(f"the {scheme} backend is not available: {exc}") from exc
    return found
