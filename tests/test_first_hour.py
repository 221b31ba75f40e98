"""Small frictions of a new user's first hour, each with its fix (issue 19)."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest

import typedj as tj
from typedj import Attr, Computed, Key, Manual, Ref

ROOT = Path(__file__).resolve().parent.parent


def _declare(schema: tj.Schema) -> tuple[type[Manual], type[Computed]]:
    @schema
    class Reading(Manual):
        reading: Key[int]
        group: int
        value: float
        count: int
        price: Decimal = Attr(precision=6, scale=2, default=Decimal("1.50"))

    @schema
    class Doubled(Computed):
        reading: Key[Ref[Reading]]
        twice: float

        def make(self, key: tj.KeyOf[Doubled]) -> None:
            logging.getLogger("typedj").warning("making %s", key)
            self.insert1({**key, "twice": 2 * (Reading & key).fetch1("value")})

    return Reading, Doubled


def test_previews_count_rows_in_good_english(schema: tj.Schema) -> None:
    reading, _ = _declare(schema)
    reading.insert1({"reading": 1, "group": 0, "value": 1.0, "count": 1})
    assert repr(reading.proj()).endswith(" (1 row)")
    assert reading.proj()._repr_html_().endswith("<p>1 row</p>")
    reading.insert1({"reading": 2, "group": 0, "value": 2.0, "count": 2})
    assert repr(reading.proj()).endswith(" (2 rows)")


def test_aggregates_of_numbers_are_numbers_on_every_backend(schema: tj.Schema) -> None:
    reading, _ = _declare(schema)
    reading.insert([
        {"reading": i, "group": i % 2, "value": i * 1.5, "count": i, "price": Decimal("0.25") * i}
        for i in range(6)
    ])
    grouped = tj.U("group").aggr(
        reading, mean_count="avg(count)", total_count="sum(count)", mean_value="avg(value)",
        n="count(*)", total_price="sum(price)",
    )
    row = grouped.to_dicts(order_by="group")[0]
    assert row["mean_count"] == 2.0 and type(row["mean_count"]) is float
    assert row["total_count"] == 6 and type(row["total_count"]) is int
    assert row["mean_value"] == 3.0 and type(row["mean_value"]) is float
    assert row["n"] == 3 and type(row["n"]) is int
    assert row["total_price"] == Decimal("1.50")
    frame = grouped.to_pandas()
    assert str(frame["mean_count"].dtype) == "float64"
    assert str(frame["total_count"].dtype) == "int64"


def test_duplicate_key_error_names_the_table_and_the_fix(schema: tj.Schema) -> None:
    reading, _ = _declare(schema)
    reading.insert1({"reading": 1, "group": 0, "value": 1.0, "count": 1})
    with pytest.raises(tj.DuplicateError) as info:
        reading.insert1({"reading": 1, "group": 0, "value": 1.0, "count": 1})
    message = str(info.value)
    assert message.startswith("Reading: ") and "skip_duplicates=True" in message
    assert info.value.table == reading.table_name
    cause = info.value.__cause__
    assert cause is not None and not isinstance(cause, tj.TypedjError)  # the driver's error, one level down
    assert len(reading) == 1


def test_log_lines_print_above_the_progress_bar(
    schema: tj.Schema, capsys: pytest.CaptureFixture[str]
) -> None:
    reading, doubled = _declare(schema)
    reading.insert([{"reading": i, "group": 0, "value": float(i), "count": i} for i in range(3)])
    root = logging.getLogger()
    handler = logging.StreamHandler(sys.stderr)
    root.addHandler(handler)
    try:
        doubled.populate(display_progress=True)
    finally:
        root.removeHandler(handler)
    err = capsys.readouterr().err
    made = [line for line in err.splitlines() if "making" in line]
    assert len(made) == 3
    assert all(line.lstrip("\r").startswith("making") for line in made)  # not glued to a bar's line
    assert len(doubled) == 3


def _python(code: str, cwd: Path, **env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("TYPEDJ_", "DJ_"))}
    clean.update(PYTHONPATH=str(ROOT), **env)
    return subprocess.run([sys.executable, "-c", code], cwd=cwd, env=clean, capture_output=True,
                          text=True, timeout=120)


def test_to_pandas_without_pandas_names_the_extra(tmp_path: Path) -> None:
    code = (
        "import sys; sys.modules['pandas'] = None\n"
        "import typedj as tj\n"
        "from typedj import Key, Manual\n"
        "schema = tj.Schema('s', connection=tj.connect('sqlite:///x.db'))\n"
        "@schema\n"
        "class T(Manual):\n"
        "    t: Key[int]\n"
        "try:\n"
        "    T.to_pandas()\n"
        "except tj.ConfigError as e:\n"
        "    print(type(e).__name__, e)\n"
    )
    done = _python(code, tmp_path)
    assert done.stdout.strip() == (
        "MissingDependencyError to_pandas() needs pandas, which is not installed: "
        "pip install 'typedj[pandas]'"
    ), done.stderr


def test_embedded_database_leaves_no_wal_files_behind(tmp_path: Path) -> None:
    code = (
        "import typedj as tj\n"
        "from typedj import Key, Manual\n"
        "schema = tj.Schema('s')\n"
        "@schema\n"
        "class T(Manual):\n"
        "    t: Key[int]\n"
        "T.insert([{'t': i} for i in range(10)])\n"
    )
    done = _python(code, tmp_path)
    assert done.returncode == 0, done.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["typedj.db"]
    count = code.replace("T.insert(", "print(len(T)) or (").replace("range(10)", "range(0)")
    again = _python(count, tmp_path)
    assert again.stdout.strip() == "10", again.stderr


def test_info_without_configuration_creates_nothing_and_exits_2(tmp_path: Path) -> None:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("TYPEDJ_", "DJ_"))}
    clean["PYTHONPATH"] = str(ROOT)
    done = subprocess.run([sys.executable, "-m", "typedj.cli", "info"], cwd=tmp_path, env=clean,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 2
    assert "no database configured" in done.stderr and "TYPEDJ_DATABASE_URL" in done.stderr
    assert list(tmp_path.iterdir()) == []
    (tmp_path / "typedj.db").touch()
    done = subprocess.run([sys.executable, "-m", "typedj.cli", "info"], cwd=tmp_path, env=clean,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "typedj.db" in done.stdout


def test_a_mismatched_class_says_what_to_do(schema: tj.Schema, conn: tj.Connection) -> None:
    @schema
    class Mouse(Manual):
        mouse: Key[int]

    again = tj.Schema(schema.name, connection=conn)
    with pytest.raises(tj.DeclarationError) as info:

        @again
        class Mouse(Manual):  # type: ignore[no-redef]
            mouse: Key[int]
            weight: float

    message = str(info.value)
    assert "does not match the existing table" in message and "weight" in message
    assert "allow_drift=True" in message and "schema.diff()" in message and "Mouse.alter()" in message
