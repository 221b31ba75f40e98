"""Blob values take the type their attribute declares (``Blob[T]``).

A blob written by another client may hold an equivalent value of another Python type: a
MATLAB scalar is a 1x1 array, a list comes back as a list. Lossless conversions are
made; a value that cannot be the declared type is an error, not a silent surprise.
"""

from __future__ import annotations

import typing
from typing import Any, get_origin

import numpy as np

_SCALARS = (bool, int, float, complex, str)


def target(declared: Any) -> type | None:
    """The class values must be instances of, or None when the declaration allows any."""
    if declared is None or declared is Any or declared is object:
        return None
    origin = get_origin(declared)
    if origin is typing.Union or isinstance(declared, type(int | str)):
        return None
    cls = origin or declared
    return cls if isinstance(cls, type) else None


def conform(value: Any, cls: type) -> Any:
    """``value`` as an instance of ``cls``; raises TypeError when no lossless conversion exists."""
    if value is None or isinstance(value, cls):
        return value
    if cls is np.ndarray:
        if isinstance(value, (np.generic, *_SCALARS, list, tuple)):
            return np.asarray(value)
    elif cls in _SCALARS:
        item = value
        if isinstance(value, np.ndarray) and value.size == 1:
            item = value.reshape(()).item()
        elif isinstance(value, np.generic):
            item = value.item()
        if isinstance(item, cls):
            return item
        if cls is float and isinstance(item, int) and not isinstance(item, bool):
            return float(item)
        if cls is complex and isinstance(item, int | float) and not isinstance(item, bool):
            return complex(item)
        if cls is str and isinstance(value, np.ndarray) and value.dtype.kind == "U":
            return "".join(value.ravel(order="F").tolist())
    elif cls in (list, tuple) and isinstance(value, np.ndarray | list | tuple):
        items = value.tolist() if isinstance(value, np.ndarray) else value
        return cls(items if isinstance(items, list) else [items])
    raise TypeError(f"the stored value is a {type(value).__name__}, the attribute declares {cls.__name__}")

