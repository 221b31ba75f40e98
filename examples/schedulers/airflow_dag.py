"""An Airflow DAG that fills the pipeline every hour, one task per table.

``populate_table`` is the task body: it runs ``typedj populate`` as a subprocess (so a
crash in make() cannot take the Airflow worker down), reads its JSON summary, and fails
the task (so Airflow retries it) when a make failed. Without Airflow installed, the
module still imports and ``populate_table`` can be called directly.
"""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import datetime, timedelta
from typing import Any

TABLES = ["pipeline:Analysis"]


def populate_table(target: str, max_seconds: float = 3000.0) -> dict[str, Any]:
    """Run one worker for ``target``; the summary, or RuntimeError when a make failed."""
    done = subprocess.run(
        [sys.executable, "-m", "typedj.cli", "populate", target, "--reserve-jobs", "--until-done",
         "--max-seconds", str(max_seconds), "--json"],
        capture_output=True, text=True, check=False,
    )
    if done.returncode not in (0, 1):
        raise RuntimeError(f"typedj populate {target} exited {done.returncode}: {done.stderr[-2000:]}")
    summary: dict[str, Any] = json.loads(done.stdout)
    if summary["failed"]:
        raise RuntimeError(f"{target}: {len(summary['failed'])} key(s) failed: {summary['failed'][:5]}")
    return summary


try:
    from airflow import DAG
    from airflow.operators.python import PythonOperator
except ImportError:  # the example is also run without Airflow, by the tests
    pass
else:
    with DAG("pipeline", start_date=datetime(2026, 1, 1), schedule=timedelta(hours=1), catchup=False,
             default_args={"retries": 2, "retry_delay": timedelta(minutes=5)}) as dag:
        for target in TABLES:
            PythonOperator(task_id=target.replace(":", "."), python_callable=populate_table,
                           op_kwargs={"target": target})
