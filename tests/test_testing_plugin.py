"""The pytest plugin, run as a user runs it: pytest in a project folder of its own."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

import typedj as tj

USER_TEST = '''
import numpy as np
import pytest

import typedj as tj
from typedj import Blob, Computed, Key, Manual, Part, Ref


def declare(schema):
    @schema
    class Recording(Manual):
        recording_id: Key[int]
        trace: Blob[np.ndarray]

    @schema
    class Peaks(Computed):
        recording: Key[Ref[Recording]]
        n_peaks: int

        class Peak(Part):
            peaks: Key[Ref["Peaks"]]
            index: Key[int]

        def make(self, key):
            trace = (Recording & key).fetch1("trace")
            found = [i for i in range(1, len(trace) - 1) if trace[i - 1] < trace[i] > trace[i + 1]]
            self.insert1({**key, "n_peaks": len(found)})
            Peaks.Peak.insert([{**key, "index": i} for i in found])

    return Recording, Peaks


def test_make_finds_peaks(tj_schema):
    Recording, Peaks = declare(tj_schema)
    Recording.insert1({"recording_id": 1, "trace": np.array([0, 2, 0, 3, 1, 5, 0.0])})
    Peaks.populate()
    assert Peaks.fetch1("n_peaks") == 3
    assert Peaks.Peak.fetch("index").tolist() == [1, 3, 5]
    print("BACKEND", tj_schema.connection.dialect.name, tj_schema.name)


def test_each_test_gets_an_empty_schema(tj_schema, tj_new_schema, tj_connection):
    Recording, _ = declare(tj_schema)
    assert len(Recording) == 0
    other = tj_new_schema("extra")
    assert other.name == tj_schema.name + "_extra" and other.connection is tj_connection
    assert tj.config.database_url is not None and str(tj.config.database_url) == str(tj_connection.url)


def test_bad_rows_are_refused(tj_schema):
    Recording, _ = declare(tj_schema)
    with pytest.raises(tj.ValidationError, match="recording_id"):
        Recording.insert1({"recording_id": "x", "trace": np.zeros(2)})
    assert len(Recording) == 0
'''


def run_pytest(
    folder: Path, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    (folder / "test_pipeline.py").write_text(USER_TEST)
    base = {k: v for k, v in os.environ.items() if not k.startswith(("TYPEDJ_", "DJ_"))}
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-s", "-p", "no:cacheprovider", *args],
        cwd=folder, capture_output=True, text=True, env={**base, **(env or {})}, timeout=300,
    )


def test_user_tests_run_on_the_embedded_backend(tmp_path: Path) -> None:
    result = run_pytest(tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "3 passed" in result.stdout
    assert "BACKEND sqlite tj_test_make_finds_peaks_" in result.stdout
    assert not (tmp_path / "typedj.db").exists()  # never the default database


def test_user_tests_run_on_a_configured_server(tmp_path: Path, mysql_url: str) -> None:
    result = run_pytest(tmp_path, "--typedj-backend=mysql", env={"TYPEDJ_TEST_DATABASE_URL": mysql_url})
    assert result.returncode == 0, result.stdout + result.stderr
    assert "3 passed" in result.stdout and "BACKEND mysql tj_test_make_finds_peaks_" in result.stdout
    server = tj.connect(mysql_url)
    left = [s for s in server.catalog.list_schemas() if s.startswith("tj_test_")]
    assert left == []


@pytest.mark.skipif(not Path("/usr/sbin/mariadbd").exists(), reason="needs the MariaDB server package")
def test_user_tests_start_a_server_through_pytest_mysql(tmp_path: Path) -> None:
    result = run_pytest(tmp_path, env={"TYPEDJ_TEST_BACKEND": "mysql"})
    assert result.returncode == 0, result.stdout + result.stderr
    assert "3 passed" in result.stdout and "BACKEND mysql" in result.stdout


def test_loading_the_plugin_does_not_import_typedj() -> None:
    code = "import sys, pytest_typedj; print('typedj' in sys.modules, 'numpy' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.split() == ["False", "False"]


def test_the_public_module_names_the_fixtures() -> None:
    import typedj.testing

    fixtures = {"tj_schema", "tj_new_schema", "tj_schema_name", "tj_connection", "tj_database_url"}
    assert fixtures <= set(typedj.testing.__all__)
    assert all(f in (typedj.testing.__doc__ or "") for f in fixtures)


def test_the_documented_example_passes(tmp_path: Path) -> None:
    page = (Path(__file__).parents[1] / "docs" / "embedded.md").read_text()
    example = next(b for b in re.findall(r"```python\n(.*?)```", page, re.S) if "tj_schema" in b)
    (tmp_path / "test_peaks.py").write_text(example)
    base = {k: v for k, v in os.environ.items() if not k.startswith(("TYPEDJ_", "DJ_"))}
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "test_peaks.py"],
        cwd=tmp_path, capture_output=True, text=True, env=base, timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "1 passed" in result.stdout
