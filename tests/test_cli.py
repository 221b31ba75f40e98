"""The ``typedj`` command, run as a subprocess: output, files and exit codes."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

import typedj as tj
from typedj import Computed, Key, Manual, Ref

from .lab import declare_lab

pytestmark = pytest.mark.requires("mysql_server", reason="the command is tested against the MySQL server")


def typedj(*args: str, url: str | None = None, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TYPEDJ_", "DJ_"))}
    command = [sys.executable, "-m", "typedj.cli", *(["--database-url", url] if url else []), *args]
    return subprocess.run(command, capture_output=True, text=True, env=env, cwd=cwd, timeout=120)


def test_help_explains_commands_and_exit_codes() -> None:
    result = typedj("--help")
    assert result.returncode == 0
    for command in ("info", "jobs", "diagram", "codegen", "diff"):
        assert f"    {command} " in result.stdout
    assert "exit codes: 0 success" in " ".join(result.stdout.split())
    sub = typedj("diagram", "--help")
    assert sub.returncode == 0 and "--up N" in sub.stdout and "Mermaid" in sub.stdout


def test_usage_errors_exit_2(mysql_url: str) -> None:
    assert typedj(url=mysql_url).returncode == 2
    bad = typedj("jobs", "--errors", "many", url=mysql_url)
    assert bad.returncode == 2 and "invalid int value" in bad.stderr
    binary = typedj("diagram", "mysql", "--format", "png", url=mysql_url)
    assert binary.returncode == 2 and "png is binary: give a file with -o" in binary.stderr


def test_unreachable_server_exits_3() -> None:
    result = typedj("info", url="mysql://root:secret@127.0.0.1:1")
    assert result.returncode == 3
    assert "cannot reach the database: mysql://root:***@127.0.0.1:1" in result.stderr
    assert "secret" not in result.stderr


def test_info(schema: tj.Schema, mysql_url: str) -> None:
    declare_lab(schema)
    text = typedj("info", url=mysql_url)
    assert text.returncode == 0, text.stderr
    assert "connection: mysql://root@127.0.0.1" in text.stdout
    assert "MariaDB" in text.stdout
    assert f"  {schema.name}" in text.stdout
    data = json.loads(typedj("info", "--json", url=mysql_url).stdout)
    assert data["schemas"][schema.name] == 10
    assert "MariaDB" in data["server"] and data["user"].startswith("root@")


def _jobs_table(conn: tj.Connection, schema: str) -> None:
    """A jobs table as datajoint-python 2.x makes it for ``__spikes``."""
    conn.query(f"""CREATE TABLE `{schema}`.`~~spikes` (
      `subject_id` int NOT NULL, `session_id` smallint NOT NULL COMMENT ':int16:',
      `status` enum('pending','reserved','success','error','ignore') NOT NULL,
      `priority` tinyint NOT NULL COMMENT ':int8:',
      `created_time` datetime(3) NOT NULL DEFAULT current_timestamp(3),
      `scheduled_time` datetime(3) NOT NULL DEFAULT current_timestamp(3),
      `reserved_time` datetime(3) DEFAULT NULL, `completed_time` datetime(3) DEFAULT NULL,
      `duration` double DEFAULT NULL, `error_message` varchar(2047) NOT NULL DEFAULT '',
      `error_stack` longblob DEFAULT NULL COMMENT ':<blob>:', `user` varchar(255) NOT NULL DEFAULT '',
      `host` varchar(255) NOT NULL DEFAULT '', `pid` int NOT NULL DEFAULT 0,
      `connection_id` bigint NOT NULL DEFAULT 0, `version` varchar(64) NOT NULL DEFAULT '',
      PRIMARY KEY (`subject_id`,`session_id`), KEY (`status`,`priority`,`scheduled_time`)
    ) COMMENT='Job queue for `{schema}`.`__spikes`'""")
    conn.executemany(
        f"INSERT INTO `{schema}`.`~~spikes` (subject_id, session_id, status, priority, error_message, "
        "completed_time) VALUES (%s, %s, %s, 5, %s, %s)",
        [(1, 1, "pending", "", None), (1, 2, "pending", "", None), (1, 3, "reserved", "", None),
         (2, 1, "error", "ValueError: no spikes\nin this session", "2024-01-01 10:00:00")],
    )


def test_jobs(schema: tj.Schema, conn: tj.Connection, mysql_url: str) -> None:
    declare_lab(schema)
    quiet = typedj("jobs", schema.name, url=mysql_url)
    assert quiet.returncode == 0 and f"no jobs tables in {schema.name}" in quiet.stdout
    _jobs_table(conn, schema.name)
    result = typedj("jobs", schema.name, url=mysql_url)
    assert result.returncode == 1, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].split() == ["table", "pending", "reserved", "error", "ignore", "success"]
    assert lines[1].split() == [f"{schema.name}.__spikes", "2", "1", "1", "0", "0"]
    assert lines[2] == "    error {'subject_id': 2, 'session_id': 1}: ValueError: no spikes in this session"
    data = json.loads(typedj("jobs", schema.name, "--json", "--errors", "0", url=mysql_url).stdout)
    assert data == [{"schema": schema.name, "table": "__spikes", "jobs_table": "~~spikes",
                     "counts": {"pending": 2, "reserved": 1, "error": 1, "ignore": 0, "success": 0},
                     "errors": []}]
    everywhere = json.loads(typedj("jobs", "--json", url=mysql_url).stdout)
    assert [e["counts"]["pending"] for e in everywhere if e["schema"] == schema.name] == [2]
    conn.query(f"DELETE FROM `{schema.name}`.`~~spikes` WHERE status = 'error'")
    assert typedj("jobs", schema.name, url=mysql_url).returncode == 0


def test_diagram(schema: tj.Schema, mysql_url: str, tmp_path: Path) -> None:
    declare_lab(schema)
    svg = tmp_path / "lab.svg"
    result = typedj("diagram", schema.name, "-o", str(svg), url=mysql_url)
    assert result.returncode == 0, result.stderr
    assert f"wrote {svg} (10 tables)" in result.stderr
    titles = {t.text for t in ET.parse(svg).getroot().iter("{http://www.w3.org/2000/svg}title")}
    assert f"{schema.name}.__spikes__unit" in titles
    png = tmp_path / "lab.png"
    assert typedj("diagram", schema.name, "-o", str(png), url=mysql_url).returncode == 0
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    text = typedj("diagram", f"{schema.name}.Session", "--up", "1", "--down", "1", url=mysql_url)
    assert text.returncode == 0
    assert [line.split('"')[1] for line in text.stdout.splitlines() if ":::" in line] == [
        "Subject", "Session", "Spikes"]
    dot = typedj("diagram", f"{schema.name}.subject", "--format", "dot", url=mysql_url)
    assert dot.stdout.startswith("digraph diagram {") and "darkgreen" in dot.stdout
    missing = typedj("diagram", f"{schema.name}.Nope", url=mysql_url)
    assert missing.returncode == 1 and "no table 'Nope'" in missing.stderr


def test_codegen(schema: tj.Schema, conn: tj.Connection, mysql_url: str, tmp_path: Path) -> None:
    lab = declare_lab(schema)
    lab.Cell.insert1(cell_id=5, depth=2.5)
    result = typedj("codegen", f"{mysql_url}/{schema.name}", "--contents")
    assert result.returncode == 0, result.stderr
    assert "class Synapse(Manual):" in result.stdout and "{'species': 'rat'}," in result.stdout
    path = tmp_path / "generated_lab.py"
    assert typedj("codegen", schema.name, "-o", str(path), url=mysql_url).returncode == 0
    assert path.read_text() == result.stdout.replace("    contents = [\n        {'species': 'mouse'},\n"
                                                     "        {'species': 'rat'},\n    ]\n", "")
    conn.schemas.pop(schema.name)
    spec = importlib.util.spec_from_file_location("generated_lab", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert module.schema.diff() == []
    assert module.Cell.fetch1().depth == 2.5
    bad = typedj("codegen", "mysql://root@127.0.0.1:1")
    assert bad.returncode == 2 and "must end with /<schema name>" in bad.stderr
    (tmp_path / "pkg").mkdir()
    two = typedj("codegen", schema.name, "--package", "-o", str(tmp_path / "pkg" / "lab_pkg"), url=mysql_url)
    assert two.returncode == 0, two.stderr
    written = sorted(p.name for p in (tmp_path / "pkg" / "lab_pkg").iterdir())
    assert written == ["__init__.py", f"{schema.name}.py"]
    assert (tmp_path / "pkg" / "lab_pkg" / f"{schema.name}.py").read_text() == path.read_text()
    nowhere = typedj("codegen", schema.name, schema.name, url=mysql_url)
    assert nowhere.returncode == 2 and "-o FOLDER" in nowhere.stderr


def test_diff(schema: tj.Schema, mysql_url: str, tmp_path: Path) -> None:
    @schema
    class Subject(Manual):
        subject_id: Key[int]
        weight: float

    @schema
    class Analysis(Computed):
        subject: Key[Ref[Subject]]
        score: float

    same = tmp_path / "same_pipeline.py"
    same.write_text(f'''
import typedj as tj
from typedj import Computed, Key, Manual, Ref

schema = tj.Schema({schema.name!r})

@schema
class Subject(Manual):
    subject_id: Key[int]
    weight: float

@schema
class Analysis(Computed):
    subject: Key[Ref[Subject]]
    score: float
''')
    result = typedj("diff", str(same), url=mysql_url, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout == f"no differences ({schema.name})\n"

    changed = tmp_path / "changed_pipeline.py"
    changed.write_text(same.read_text().replace("    weight: float", "    weight: float | None = None\n"
                                                "    notes: str = ''").replace("    score: float\n", ""))
    result = typedj("diff", str(changed), url=mysql_url, cwd=tmp_path)
    assert result.returncode == 1, result.stderr
    assert result.stdout.splitlines() == [
        f"{schema.name}.subject.notes: declared (varchar(255)) but not in the table",
        f"{schema.name}.subject.weight: nullable True declared, False in the table",
        f"{schema.name}.subject.weight: default NULL declared, no default in the table",
        f"{schema.name}.__analysis.score: in the table (float64 (double)) but not declared",
        "4 difference(s), 0 not alterable",
    ]
    data = json.loads(typedj("diff", "changed_pipeline", "--json", url=mysql_url, cwd=tmp_path).stdout)
    assert [(d["table"].split(".")[1], d["kind"], d["attribute"], d["safe"]) for d in data] == [
        ("subject", "added", "notes", True), ("subject", "nullable", "weight", True),
        ("subject", "default", "weight", True), ("__analysis", "removed", "score", True)]
    missing = typedj("diff", str(tmp_path / "nope.py"), url=mysql_url)
    assert missing.returncode == 2 and "no such file" in missing.stderr
