"""The pytest plugin, run as a user runs it: pytest in a project folder of its own."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit

import pytest

import typedj as tj

from . import child_pytest
from .child_pytest import user_env

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
    folder: Path, *args: str, env: dict[str, str] | None = None, server_plugins: bool = False
) -> subprocess.CompletedProcess[str]:
    (folder / "test_pipeline.py").write_text(USER_TEST)
    return child_pytest.run_pytest(folder, "-s", *args, env=user_env(**(env or {})),
                                   server_plugins=server_plugins)


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
    result = run_pytest(tmp_path, env={"TYPEDJ_TEST_BACKEND": "mysql"}, server_plugins=True)
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
    result = child_pytest.run_pytest(tmp_path, "test_peaks.py")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "1 passed" in result.stdout


def test_child_pytest_runs_cannot_kill_the_test_servers(tmp_path: Path) -> None:
    """mirakuru, imported, SIGKILLs at exit every process whose marker contains its pid: a
    child pytest that loaded the server plugins could end this session's servers (seen on CI)."""
    (tmp_path / "test_modules.py").write_text(
        "import sys\n\ndef test_no_mirakuru():\n    assert 'mirakuru' not in sys.modules\n"
        "    assert 'pytest_typedj' in sys.modules\n"
    )
    result = child_pytest.run_pytest(tmp_path, "test_modules.py")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "1 passed" in result.stdout


def _environ(pid: int) -> dict[str, str]:
    try:
        raw = Path(f"/proc/{pid}/environ").read_bytes()
    except OSError as exc:
        pytest.skip(f"cannot read the server's environment: {exc}")
    return dict(item.split("=", 1) for item in raw.decode().split("\0") if "=" in item)


def test_this_sessions_servers_carry_no_mirakuru_marker(mysql_url: str, postgres_url: str) -> None:
    """The other defence: a stray mirakuru exit hook finds nothing of ours to kill."""
    import psycopg
    import pymysql

    url = urlsplit(mysql_url)
    my = pymysql.connect(host=url.hostname, port=url.port, user=url.username, password=url.password or "")
    with my, my.cursor() as cursor:
        cursor.execute("SELECT @@pid_file")
        (pid_file,) = cursor.fetchone()
    mariadbd = int(Path(pid_file).read_text())
    with psycopg.connect(postgres_url) as pg:  # the backend process ends with the session
        status = Path(f"/proc/{pg.info.backend_pid}/status").read_text()
    postmaster = int(next(line.split()[1] for line in status.splitlines() if line.startswith("PPid:")))
    for pid in (mariadbd, postmaster):
        env = _environ(pid)
        assert "PATH" in env and "mirakuru_uuid" not in env, pid
