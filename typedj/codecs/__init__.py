"""Values cross the database boundary only through codecs.

A codec turns a column of Python values into parameters for the server (``encode``) and
a column of server values back into Python values (``decode``). Working on whole
columns lets a store upload or download many objects at once and lets scalar codecs
run without per-value dispatch.
"""

from __future__ import annotations

from . import core as _core  # noqa: F401  (registers the built-in codecs)
from .registry import KEYED, Codec, Column, ColumnFn, Context, decoder, encoder, register

__all__ = ["KEYED", "Codec", "Column", "ColumnFn", "Context", "decoder", "encoder", "register"]
