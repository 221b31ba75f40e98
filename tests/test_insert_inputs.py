"""DataFrame-like inputs to ``insert``, recognised by what they can do rather than by class:
pandas, pyarrow and polars tables, and anything offering the Arrow stream, the DataFrame
interchange protocol, or a list of its rows."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pandas as pd
import polars as pl
import pyarrow as pa
import pytest

import typedj as tj
from typedj import Key, Manual

COLUMNS = {"cell": [1, 2, 3], "label": ["pyramidal", "basket", "chandelier"], "depth": [0.25, 0.5, 0.75]}
ROWS = [dict(zip(COLUMNS, values, strict=True)) for values in zip(*COLUMNS.values(), strict=True)]


def _cell(schema: tj.Schema) -> type[Manual]:
    @schema
    class Cell(Manual):
        cell: Key[int]
        label: str
        depth: float

    return Cell


class OnlyArrowStream:
    """Offers nothing but the Arrow PyCapsule stream (as nanoarrow, DuckDB results, ... do)."""

    def __init__(self, table: pa.Table):
        self._table = table

    def __arrow_c_stream__(self, requested_schema: Any = None) -> Any:
        return self._table.__arrow_c_stream__(requested_schema)


class OnlyInterchange:
    """Offers nothing but the DataFrame interchange protocol (``__dataframe__``)."""

    def __init__(self, frame: pa.Table):
        self._frame = frame

    def __dataframe__(self, nan_as_null: bool = False, allow_copy: bool = True) -> Any:
        return self._frame.__dataframe__(nan_as_null=nan_as_null, allow_copy=allow_copy)


class OnlyDicts:
    """Lists its rows as dicts, as polars' ``to_dicts`` does."""

    def to_dicts(self) -> list[dict[str, Any]]:
        return [dict(r) for r in ROWS]


class OnlyPylist:
    """Lists its rows as dicts, as pyarrow's ``to_pylist`` does."""

    def to_pylist(self) -> list[dict[str, Any]]:
        return [dict(r) for r in ROWS]


INPUTS = {
    "polars": lambda: pl.DataFrame(COLUMNS),
    "pyarrow-table": lambda: pa.table(COLUMNS),
    "pyarrow-batch": lambda: pa.record_batch(COLUMNS),
    "pandas": lambda: pd.DataFrame(COLUMNS),
    "pandas-indexed": lambda: pd.DataFrame(COLUMNS).set_index("cell"),
    "arrow-stream": lambda: OnlyArrowStream(pa.table(COLUMNS)),
    "interchange": lambda: OnlyInterchange(pa.table(COLUMNS)),
    "to_dicts": OnlyDicts,
    "to_pylist": OnlyPylist,
}


@pytest.mark.parametrize("kind", list(INPUTS))
def test_a_dataframe_like_input_is_inserted_and_reads_back(schema: tj.Schema, kind: str) -> None:
    Cell = _cell(schema)
    Cell.insert(INPUTS[kind]())
    assert Cell.to_dicts(order_by="cell") == ROWS


def test_a_polars_frame_is_inserted_without_pyarrow(tmp_path: Path) -> None:
    code = (
        "import sys; sys.modules['pyarrow'] = None\n"
        "import polars as pl, typedj as tj\n"
        "from typedj import Key, Manual\n"
        "schema = tj.Schema('s', connection=tj.connect('sqlite:///x.db'))\n"
        "@schema\n"
        "class Cell(Manual):\n"
        "    cell: Key[int]\n"
        "    label: str\n"
        "Cell.insert(pl.DataFrame({'cell': [2, 1], 'label': ['b', 'a']}))\n"
        "print(Cell.to_dicts(order_by='cell'), sys.modules['pyarrow'] is not None)\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TYPEDJ_", "DJ_"))}
    done = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env=env, capture_output=True,
                          text=True, timeout=120)
    assert done.stdout.strip() == "[{'cell': 1, 'label': 'a'}, {'cell': 2, 'label': 'b'}] False", done.stderr
