"""datajoint-python 0.14, the reference most labs still run, as a test peer in its own venv.

0.14 cannot share a process with datajoint 2.x, so tests run it as a subprocess:
``run(script, ...)`` executes ``script`` with ``dj`` configured for the test server and
stores; the script reports with ``out(value)`` (JSON, numpy arrays as lists). The venv
is made by ``tests/run.sh`` (``TYPEDJ_DJ014_VENV`` overrides where it is).
"""

from __future__ import annotations

import functools
import json
import os
import subprocess
import textwrap
from pathlib import Path
from typing import Any

import pytest

import typedj as tj

_CACHE = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
VENV = Path(os.environ.get("TYPEDJ_DJ014_VENV") or _CACHE / "typedj" / "peer-datajoint-0.14")
PYTHON = VENV / "bin" / "python"

_PREAMBLE = '''
import json, os, sys, warnings
warnings.simplefilter("ignore")
import numpy as np
import datajoint as dj
_cfg = json.loads(os.environ["PEER_CONFIG"])
dj.config["database.host"] = _cfg["host"]
dj.config["database.port"] = _cfg["port"]
dj.config["database.user"] = _cfg["user"]
dj.config["database.password"] = _cfg["password"]
dj.config["stores"] = _cfg["stores"]
dj.config["safemode"] = False
dj.config["database.use_tls"] = False
dj.config["display.progress"] = False
dj.logger.setLevel("WARNING")

def _plain(v):
    if isinstance(v, np.ndarray):
        return {"array": v.tolist(), "dtype": str(v.dtype), "shape": list(v.shape)}
    if isinstance(v, np.generic):
        return v.item()
    if isinstance(v, (bytes, bytearray)):
        return {"bytes": v.hex()}
    if isinstance(v, dict):
        return {str(k): _plain(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [_plain(x) for x in v]
    if hasattr(v, "hex") and hasattr(v, "bytes"):  # uuid
        return str(v)
    if isinstance(v, (str, int, float, bool)) or v is None:
        return v
    return str(v)

def out(value):
    sys.stdout.write("\\n@@PEER@@" + json.dumps(_plain(value)) + "\\n")
'''


@functools.cache
def available() -> str | None:
    """Why the peer cannot run, or None when it can."""
    if not PYTHON.exists():
        return f"datajoint 0.14 peer venv not found at {VENV} (tests/run.sh creates it)"
    probe = subprocess.run([str(PYTHON), "-c", "import datajoint; print(datajoint.__version__)"],
                           capture_output=True, text=True, timeout=120)
    if probe.returncode != 0 or not probe.stdout.startswith("0.14"):
        return f"datajoint 0.14 does not import in {VENV}: {probe.stderr.strip()[-300:]}"
    return None


def require() -> None:
    reason = available()
    if reason:
        pytest.skip(reason)


def run(script: str, mysql_url: str, stores: dict[str, Any] | None = None, *, stage: Path | None = None,
        env: dict[str, str] | None = None, timeout: float = 300) -> Any:
    """Run ``script`` in the peer; the value it passed to ``out`` (the last one)."""
    url = tj.DatabaseURL.parse(mysql_url)
    config = {"host": url.host, "port": url.port, "user": url.user, "password": url.password or "",
              "stores": stores or {}}
    environment = {**os.environ, "PEER_CONFIG": json.dumps(config), "DJ_SUPPORT_FILEPATH_MANAGEMENT": "TRUE",
                   **(env or {})}
    for key in ("DJ_HOST", "DJ_USER", "DJ_PASS"):
        environment.pop(key, None)
    done = subprocess.run([str(PYTHON), "-c", _PREAMBLE + textwrap.dedent(script)], capture_output=True,
                          text=True, env=environment, timeout=timeout, cwd=str(stage) if stage else None)
    if done.returncode != 0:
        raise AssertionError(f"the datajoint 0.14 peer failed:\n{done.stderr[-4000:]}")
    marks = [line for line in done.stdout.splitlines() if line.startswith("@@PEER@@")]
    return json.loads(marks[-1][len("@@PEER@@"):]) if marks else None


def start(script: str, mysql_url: str, stores: dict[str, Any] | None = None) -> subprocess.Popen[str]:
    """Start ``script`` in the peer without waiting (a worker)."""
    url = tj.DatabaseURL.parse(mysql_url)
    config = {"host": url.host, "port": url.port, "user": url.user, "password": url.password or "",
              "stores": stores or {}}
    environment = {**os.environ, "PEER_CONFIG": json.dumps(config)}
    return subprocess.Popen([str(PYTHON), "-c", _PREAMBLE + textwrap.dedent(script)], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=environment)
