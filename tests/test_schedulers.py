"""The scheduler examples (examples/schedulers/), run locally with processes standing in
for SLURM, Kubernetes and Airflow: every key is made exactly once, and the exit codes and
JSON summaries are what a scheduler acts on."""

from __future__ import annotations

import importlib.util
import json
import os
import re
import subprocess
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

import typedj as tj

EXAMPLES = Path(__file__).resolve().parent.parent / "examples" / "schedulers"
N_KEYS = 12


@pytest.fixture
def demo(schema_name: str, conn: tj.Connection, monkeypatch: pytest.MonkeyPatch) -> ModuleType:
    """The example pipeline in a fresh schema, with N_KEYS recordings to analyse."""
    monkeypatch.setenv("PIPELINE_SCHEMA", schema_name)
    spec = importlib.util.spec_from_file_location(f"pipeline_{schema_name}", EXAMPLES / "pipeline.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, spec.name, module)
    spec.loader.exec_module(module)
    module.Recording.insert([{"recording": i, "samples": i} for i in range(N_KEYS)])
    return module


def _env(conn: tj.Connection, schema_name: str, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TYPEDJ_", "DJ_", "SLURM_"))}
    env.update(
        TYPEDJ_DATABASE_URL=str(conn.url), PIPELINE_SCHEMA=schema_name, MAKE_SECONDS="0.02",
        PATH=f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}",
        PYTHONPATH=str(EXAMPLES.parent.parent),
    )
    env.update(extra)
    return env


def _start(command: list[str], env: dict[str, str], cwd: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(command, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)


def _made_once(demo: ModuleType) -> None:
    rows = demo.Analysis.to_dicts()
    assert sorted(r["recording"] for r in rows) == list(range(N_KEYS))
    assert all(r["total"] == sum(range(r["recording"])) for r in rows)


def test_slurm_array_tasks_share_the_keys(demo: ModuleType, schema_name: str, conn: tj.Connection,
                                          tmp_path: Path) -> None:
    tasks = [
        _start(["bash", str(EXAMPLES / "slurm_array.sh")],
               _env(conn, schema_name, SLURM_ARRAY_JOB_ID="77", SLURM_ARRAY_TASK_ID=str(i),
                    SLURM_SUBMIT_DIR=str(EXAMPLES), WORKER_SECONDS="120"),
               EXAMPLES)
        for i in range(3)
    ]
    try:
        codes = [t.wait(timeout=300) for t in tasks]
        errors = [t.stderr.read() if t.stderr else "" for t in tasks]
        assert codes == [0, 0, 0], errors
        summaries = [json.loads((EXAMPLES / f"analysis-77_{i}.json").read_text()) for i in range(3)]
    finally:
        for i in range(3):
            (EXAMPLES / f"analysis-77_{i}.json").unlink(missing_ok=True)
    assert sum(s["made"] for s in summaries) == N_KEYS
    assert {s["status"] for s in summaries} == {"done"} and {s["exit_code"] for s in summaries} == {0}
    _made_once(demo)


def test_kubernetes_pods_exit_when_the_table_is_complete(demo: ModuleType, schema_name: str,
                                                         conn: tj.Connection) -> None:
    manifest = (EXAMPLES / "kubernetes-job.yaml").read_text()
    parallelism = int(re.search(r"parallelism: (\d+)", manifest).group(1))  # type: ignore[union-attr]
    command = json.loads(re.search(r"command: (\[.*\])", manifest).group(1))  # type: ignore[union-attr]
    pods = [_start(command, _env(conn, schema_name), EXAMPLES) for _ in range(parallelism)]
    outputs = [p.communicate(timeout=300) for p in pods]
    assert [p.returncode for p in pods] == [0] * parallelism, [err for _, err in outputs]
    summaries = [json.loads(out) for out, _ in outputs]
    assert sum(s["made"] for s in summaries) == N_KEYS
    assert all(s["remaining"] == 0 and s["status"] == "done" for s in summaries)
    _made_once(demo)


def test_airflow_task_reports_and_fails_on_errors(demo: ModuleType, schema_name: str, conn: tj.Connection,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    for key, value in _env(conn, schema_name).items():
        monkeypatch.setenv(key, value)
    monkeypatch.chdir(EXAMPLES)
    spec = importlib.util.spec_from_file_location("airflow_dag_example", EXAMPLES / "airflow_dag.py")
    assert spec is not None and spec.loader is not None
    dag: Any = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(dag)
    summary = dag.populate_table("pipeline:Analysis")
    assert summary["made"] == N_KEYS and summary["exit_code"] == 0 and summary["failed"] == []
    _made_once(demo)
    demo.Recording.insert1({"recording": 99, "samples": -1})
    with pytest.raises(RuntimeError, match=r"1 key\(s\) failed.*negative sample count"):
        dag.populate_table("pipeline:Analysis")
    errors = demo.Analysis.jobs.errors.to_dicts()
    assert [e["recording"] for e in errors] == [99]


def _populate(conn: tj.Connection, schema_name: str, *options: str, **env: str) -> tuple[int, dict[str, Any]]:
    done = subprocess.run(
        [sys.executable, "-m", "typedj.cli", "populate", "pipeline:Analysis", "--json", *options],
        cwd=EXAMPLES, env=_env(conn, schema_name, **env), capture_output=True, text=True, timeout=300,
    )
    return done.returncode, json.loads(done.stdout)


def test_bounded_runs_stop_early_and_say_what_is_left(demo: ModuleType, schema_name: str,
                                                      conn: tj.Connection) -> None:
    jobs = ["--reserve-jobs"]
    code, summary = _populate(conn, schema_name, *jobs, "--max-calls", "5")
    assert (code, summary["made"], summary["remaining"], summary["status"]) == (0, 5, N_KEYS - 5, "partial")
    code, summary = _populate(conn, schema_name, *jobs, "--max-seconds", "1.0", MAKE_SECONDS="0.3")
    assert code == 0 and 1 <= summary["made"] <= 5 and summary["status"] == "partial"
    assert summary["remaining"] == N_KEYS - 5 - summary["made"] == N_KEYS - len(demo.Analysis)
    code, summary = _populate(conn, schema_name)
    assert (code, summary["remaining"], summary["status"]) == (0, 0, "done")
    _made_once(demo)
