"""typedj's warnings are ``warnings`` categories: caught with ``pytest.warns``, attributed to
the user's line, filtered or escalated with ``-W`` like any other warning."""

from __future__ import annotations

import subprocess
import sys
import warnings
from pathlib import Path

import pytest

import typedj as tj
from typedj import Key, Manual
from typedj.config import Config

from .child_pytest import run_pytest, user_env


def test_every_warning_is_a_typedj_warning_and_a_user_warning() -> None:
    kinds = [tj.DeclarationPendingWarning, tj.DriftWarning, tj.EmbeddedFallbackWarning, tj.ConfigWarning,
             tj.IncompleteDatasetWarning]
    assert [issubclass(k, tj.TypedjWarning) for k in kinds] == [True] * 5
    assert issubclass(tj.TypedjWarning, UserWarning)
    assert not issubclass(tj.TypedjWarning, tj.TypedjError)


def _probe(schema: tj.Schema, *, with_angle: bool) -> type[Manual]:
    if with_angle:
        class Probe(Manual):
            probe_id: Key[int]
            depth: float
            angle: float = 0.0
    else:
        class Probe(Manual):  # type: ignore[no-redef]
            probe_id: Key[int]
            depth: float
    return schema(Probe)


def _declare_then_drift(schema: tj.Schema, conn: tj.Connection) -> type[Manual]:
    _probe(schema, with_angle=False)
    conn.schemas.pop(schema.name)
    return _probe(tj.Schema(schema.name, connection=conn, allow_drift=True), with_angle=True)


def test_drift_is_a_drift_warning_at_the_users_line(schema: tj.Schema, conn: tj.Connection) -> None:
    with pytest.warns(tj.DriftWarning, match=rf"Probe differs from {schema.name}\.probe") as caught:
        Probe = _declare_then_drift(schema, conn)
    [w] = [w for w in caught if issubclass(w.category, tj.DriftWarning)]
    assert "angle" in str(w.message)
    assert w.filename == __file__  # the line here that declared it, not a line inside typedj
    assert Probe.heading.names == ["probe_id", "depth"]  # bound to the table as it is


def test_drift_escalated_to_an_error_raises(schema: tj.Schema, conn: tj.Connection) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error", tj.DriftWarning)
        with pytest.raises(tj.DriftWarning, match="angle"):
            _declare_then_drift(schema, conn)


def test_a_malformed_number_is_a_config_warning_and_the_value_is_kept() -> None:
    config = Config()
    with pytest.warns(tj.ConfigWarning, match=r"TYPEDJ_CACHE_SIZE is not a whole number; using 1073741824"):
        config.reload(environ={"TYPEDJ_CACHE_SIZE": "10GB", "TYPEDJ_BLOB_LIMIT": "4096"})
    assert (config.cache_size, config.blob_limit) == (1 << 30, 4096)
    with warnings.catch_warnings():
        warnings.simplefilter("error", tj.TypedjWarning)
        with pytest.raises(tj.ConfigWarning, match="TYPEDJ_BLOB_LIMIT"):
            config.reload(environ={"TYPEDJ_BLOB_LIMIT": "lots"})


_FALLBACK = "import typedj as tj; conn = tj.connect(); print(conn.url)"


def test_the_embedded_fallback_warns_once(tmp_path: Path) -> None:
    code = _FALLBACK + "; tj.connect(); print('again')"
    done = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env=user_env(),
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == [f"sqlite:///{tmp_path / 'typedj.db'}", "again"]
    assert done.stderr.count("EmbeddedFallbackWarning: no database configured") == 1


def test_the_embedded_fallback_escalated_in_a_script_refuses_to_start(tmp_path: Path) -> None:
    escalate = "import warnings, typedj as tj; warnings.simplefilter('error', tj.EmbeddedFallbackWarning)"
    code = f"{escalate}; {_FALLBACK}"
    done = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env=user_env(),
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 1
    assert "typedj.errors.EmbeddedFallbackWarning: no database configured" in done.stderr
    assert not (tmp_path / "typedj.db").exists()


def _pytest(folder: Path, *options: str) -> subprocess.CompletedProcess[str]:
    """pytest run on a test that connects with nothing configured (pytest's ``-W`` imports the
    category lazily, so it names typedj's; the interpreter's ``-W`` cannot name a package's)."""
    (folder / "test_fallback.py").write_text(
        "import typedj as tj\n\ndef test_connect():\n    assert tj.connect().url.scheme == 'sqlite'\n"
    )
    return run_pytest(folder, *options, "test_fallback.py", timeout=120)


@pytest.mark.parametrize("category", ["EmbeddedFallbackWarning", "TypedjWarning"])
def test_the_embedded_fallback_escalated_with_pytest_dash_w_fails(tmp_path: Path, category: str) -> None:
    done = _pytest(tmp_path, "-W", f"error::typedj.{category}")
    assert done.returncode == 1, done.stdout
    assert "EmbeddedFallbackWarning: no database configured" in done.stdout
    assert "1 failed" in done.stdout
    assert not (tmp_path / "typedj.db").exists()


def test_the_embedded_fallback_ignored_with_pytest_dash_w_is_silent(tmp_path: Path) -> None:
    done = _pytest(tmp_path, "-W", "ignore::typedj.TypedjWarning")
    assert done.returncode == 0, done.stdout
    assert "no database configured" not in done.stdout + done.stderr
    assert "1 passed" in done.stdout and "warning" not in done.stdout
