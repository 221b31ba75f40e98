"""Provenance: each key populate makes records the code version, host and time that made it."""

from __future__ import annotations

import importlib.util
import json
import os
import platform
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path
from types import ModuleType

import pytest

import typedj as tj
from typedj import Computed, Key, Manual, Ref

PIPELINE = '''
import typedj as tj
from typedj import Computed, Key, Manual, Ref
import os

schema = tj.Schema(os.environ["PROV_SCHEMA"])


@schema
class Source(Manual):
    source: Key[int]
    value: float


@schema
class Double(Computed):
    source: Key[Ref[Source]]
    doubled: float

    def make(self, key: tj.KeyOf["Double"]) -> None:
        self.insert1({**key, "doubled": 2 * (Source & key).fetch1("value")})
'''


def _git(repo: Path, *args: str) -> str:
    env = {**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.org",
           "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@example.org"}
    return subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True, text=True,
                          env=env).stdout.strip()


@pytest.fixture
def pipeline(tmp_path: Path, schema_name: str, conn: tj.Connection,
             monkeypatch: pytest.MonkeyPatch) -> tuple[ModuleType, Path]:
    """The pipeline module, committed in a git work tree of its own."""
    repo = tmp_path / "repo"
    repo.mkdir()
    (repo / "prov_pipeline.py").write_text(PIPELINE)
    _git(repo, "init", "-q")
    _git(repo, "add", "prov_pipeline.py")
    _git(repo, "commit", "-qm", "pipeline")
    monkeypatch.setenv("PROV_SCHEMA", schema_name)
    name = f"prov_pipeline_{schema_name}"
    spec = importlib.util.spec_from_file_location(name, repo / "prov_pipeline.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, name, module)
    spec.loader.exec_module(module)
    module.Source.insert([{"source": i, "value": float(i)} for i in range(4)])
    return module, repo


def test_each_made_key_records_the_commit_host_and_time(pipeline: tuple[ModuleType, Path]) -> None:
    module, repo = pipeline
    before = time.time()
    module.Double.populate(reserve_jobs=True)
    records = module.Double.provenance()
    head = _git(repo, "rev-parse", "HEAD")
    assert [r["source"] for r in records] == [0, 1, 2, 3]
    for r in records:
        assert (r["code_version"], r["code_dirty"], r["code_origin"]) == (head, False, "git")
        assert (r["typedj_version"], r["host"], r["pid"]) == (tj.__version__, platform.node(), os.getpid())
        assert before - 1 <= r["started"].timestamp() <= time.time() + 1
        assert 0 <= r["duration"] < 60
        assert r["user"]
    assert [r["source"] for r in module.Double.provenance({"source": 2})] == [2]


def test_uncommitted_code_is_recorded_as_dirty_and_refused_when_asked(
    pipeline: tuple[ModuleType, Path],
) -> None:
    module, repo = pipeline
    with (repo / "prov_pipeline.py").open("a") as f:
        f.write("\n# an edit not yet committed\n")
    with pytest.raises(tj.UncommittedCodeError, match=r"Double: .*uncommitted changes"):
        module.Double.populate(require_clean=True)
    assert len(module.Double) == 0
    module.Double.populate({"source": 1})
    [record] = module.Double.provenance()
    assert record["code_dirty"] is True and record["code_version"] == _git(repo, "rev-parse", "HEAD")
    _git(repo, "commit", "-qam", "edit")
    module.Double.populate(require_clean=True)
    assert len(module.Double) == 4
    assert {r["code_dirty"] for r in module.Double.provenance({"source": 3})} == {False}


def test_provenance_is_written_with_the_rows_or_not_at_all(pipeline: tuple[ModuleType, Path]) -> None:
    module, _ = pipeline
    module.Source.insert1({"source": 9, "value": 9.0})
    original = module.Double.make

    def failing(self: object, key: dict[str, object]) -> None:
        original(self, key)
        if key["source"] == 9:
            raise RuntimeError("after the insert")

    module.Double.make = failing
    try:
        result = module.Double.populate(suppress_errors=True)
    finally:
        module.Double.make = original
    assert len(result.failed) == 1 and len(module.Double) == 4
    assert [r["source"] for r in module.Double.provenance()] == [0, 1, 2, 3]


def test_provenance_can_be_turned_off(
    pipeline: tuple[ModuleType, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    module, _ = pipeline
    monkeypatch.setattr(tj.config, "provenance", False)
    module.Double.populate()
    assert len(module.Double) == 4 and module.Double.provenance() == []


def test_the_command_lists_provenance(pipeline: tuple[ModuleType, Path], conn: tj.Connection,
                                      schema_name: str) -> None:
    module, repo = pipeline
    module.Double.populate()
    env = {**os.environ, "TYPEDJ_DATABASE_URL": str(conn.url), "PROV_SCHEMA": schema_name,
           "PYTHONPATH": os.pathsep.join([str(repo), str(Path(__file__).resolve().parent.parent)])}
    command = [sys.executable, "-m", "typedj.cli", "provenance", "prov_pipeline:Double", "--json",
               "--restrict", '{"source": 1}']
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    [record] = json.loads(done.stdout)
    assert record["source"] == 1 and record["code_version"] == _git(repo, "rev-parse", "HEAD")


def test_describe_shows_what_made_the_rows(pipeline: tuple[ModuleType, Path]) -> None:
    module, repo = pipeline
    plain = module.Double.describe()
    assert "provenance" not in plain  # nothing made yet
    module.Double.populate({"source": 0})
    with (repo / "prov_pipeline.py").open("a") as f:
        f.write("\n# an edit not yet committed\n")
    module.Double.populate()
    text = module.Double.describe()
    assert text.startswith(plain + "\n")
    summary = text[len(plain) + 1:].splitlines()
    short = _git(repo, "rev-parse", "HEAD")[:12]
    assert summary[0] == "# provenance: 4 keys made by populate"
    assert [line.split(":")[0] for line in summary[1:]] == [
        f"#   code {short}+dirty (git), typedj {tj.__version__}",
        f"#   code {short} (git), typedj {tj.__version__}",
    ]
    assert [line.split(": ")[1].split(",")[0] for line in summary[1:]] == ["3 keys", "1 key"]
    assert all(line.startswith("#") for line in summary)  # DataJoint's parser skips comment lines


def test_job_metadata_columns_are_declared_and_filled_when_configured(schema: tj.Schema) -> None:
    with tj.config.override(job_metadata=True):

        @schema
        class Raw(Manual):
            raw: Key[int]

        @schema
        class Made(Computed):
            raw: Key[Ref[Raw]]
            size: int

            def make(self, key: tj.KeyOf[Made]) -> None:
                self.insert1({**key, "size": 10 * key["raw"]})

    dialect = schema.connection.dialect
    tables = schema.tables  # as the server has them, not as the classes declare them
    assert [a.name for a in tables["__made"].heading.attributes][-3:] == [
        "_job_start_time", "_job_duration", "_job_version"
    ]
    assert not any(a.name.startswith("_job") for a in tables["raw"].heading.attributes)
    Raw.insert([{"raw": 1}, {"raw": 2}])
    before = time.time()
    Made.populate()
    q = dialect.quote
    rows = schema.connection.query(
        f"SELECT {q('raw')}, {q('_job_start_time')}, {q('_job_duration')}, {q('_job_version')} "
        f"FROM {dialect.table(schema.name, '__made')} ORDER BY {q('raw')}"
    ).fetchall()
    assert [r[0] for r in rows] == [1, 2]
    for _, started, duration, version in rows:
        started = datetime.fromisoformat(started) if isinstance(started, str) else started
        assert before - 1 <= started.timestamp() <= time.time() + 1
        assert 0 <= duration < 60 and isinstance(version, str)
    assert [r.size for r in Made.fetch(order_by="raw")] == [10, 20]


def test_reading_the_code_version_never_writes_the_users_git_index(tmp_path: Path) -> None:
    """``git status`` rewrites a stale index under ``index.lock``: killed at its deadline on a
    busy machine, it would leave the lock behind and block the user's own git commands.
    The version is read without git's optional locks, so the index is never written."""
    from typedj.populate import provenance

    repo = tmp_path / "repo"
    repo.mkdir()
    source = repo / "module.py"
    source.write_text("x = 1\n")
    _git(repo, "init", "-q")
    _git(repo, "add", "module.py")
    _git(repo, "commit", "-qm", "module")
    later = time.time() + 5
    os.utime(source, (later, later))  # same content, new stat: a refreshing status rewrites the index
    index = repo / ".git" / "index"
    before = (index.read_bytes(), index.stat().st_mtime_ns)
    version = provenance._git_version(source)
    head = _git(repo, "rev-parse", "HEAD")
    assert version is not None and (version.version, version.dirty) == (head, False)
    assert (index.read_bytes(), index.stat().st_mtime_ns) == before
