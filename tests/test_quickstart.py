"""The quick start, run as a newcomer runs it: a fresh folder, no database configured."""

from __future__ import annotations

import os
import re
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def run_quickstart(folder: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TYPEDJ_", "DJ_"))}
    return subprocess.run(
        [sys.executable, str(ROOT / "examples" / "quickstart.py")],
        cwd=folder, env=env, capture_output=True, text=True, timeout=300,
    )


def test_quickstart_runs_on_the_embedded_backend(tmp_path: Path) -> None:
    result = run_quickstart(tmp_path)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "no database configured: using the embedded database" in result.stderr
    assert "Activity: 100%" in result.stderr and "24/24" in result.stderr  # the progress bar
    assert "refused as expected: row 0, attribute 'frame_rate'" in out
    assert "3 subjects, 6 sessions, 12 scans, 12 traces, 24 activity rows, 384 cell rows" in out
    assert f"database: sqlite:///{tmp_path / 'typedj.db'}" in out

    db = sqlite3.connect(tmp_path / "typedj.db")
    sums = dict(db.execute(
        'SELECT params_id, SUM(n_events) FROM "quickstart.__activity__cell" GROUP BY params_id'
    ).fetchall())
    printed = re.search(r"events detected: params 1: (\d+), params 2: (\d+)", out)
    assert printed is not None
    assert (int(printed.group(1)), int(printed.group(2))) == (sums[1], sums[2])
    assert sums[1] > sums[2] > 0  # a higher threshold finds fewer events

    per_subject = db.execute(
        'SELECT subject_id, params_id, COUNT(*), SUM(n_events), AVG(event_rate) '
        'FROM "quickstart.__activity__cell" GROUP BY subject_id, params_id ORDER BY params_id, subject_id'
    ).fetchall()
    for subject, params, cells, events, rate in per_subject:
        line = f"subject {subject} params {params}: {cells} cells, {events} events, {rate:.3f} events/min"
        assert line in out
    top = db.execute(
        'SELECT MAX(event_rate) FROM "quickstart.__activity__cell" WHERE params_id = 1'
    ).fetchone()[0]
    assert re.search(rf"cell +\d+: {top:.2f} events/min", out.split("Most active cells")[1])
    assert "GCaMP8m  4" in out  # the aggregation keeps the subject's line
    if shutil.which("dot"):
        assert (tmp_path / "quickstart.svg").read_text().lstrip().startswith(("<?xml", "<svg"))
        assert "pipeline diagram written to quickstart.svg" in out

    again = run_quickstart(tmp_path)  # a second run starts over and computes the same
    assert again.returncode == 0, again.stderr
    assert again.stdout == out
