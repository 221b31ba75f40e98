"""The documentation site: built in strict mode, with every public name in its reference.

A broken link, an unresolvable reference or a public name without a docstring fails here,
so the site never falls behind the package.
"""

from __future__ import annotations

import inspect
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

import typedj as tj

ROOT = Path(__file__).resolve().parent.parent


def _public_objects() -> list[tuple[str, object]]:
    """Every public name, and the public methods and properties of public classes."""
    found: list[tuple[str, object]] = []
    for name in tj.__all__:
        obj = getattr(tj, name)
        if not (inspect.isclass(obj) or inspect.isfunction(obj)):
            continue
        found.append((name, obj))
        if inspect.isclass(obj):
            for member, value in vars(obj).items():
                if member.startswith("_"):
                    continue
                target = value.fget if isinstance(value, property) else getattr(value, "__func__", value)
                if inspect.isfunction(target) or isinstance(value, property):
                    found.append((f"{name}.{member}", target))
    return found


def test_every_public_name_and_method_has_a_docstring() -> None:
    undocumented = [name for name, obj in _public_objects() if not (inspect.getdoc(obj) or "").strip()]
    assert undocumented == []


def test_every_public_name_is_in_the_reference() -> None:
    reference = (ROOT / "docs" / "reference.md").read_text()
    listed = set(re.findall(r"^::: typedj\.(\w+)$", reference, flags=re.M))
    assert sorted(set(tj.__all__) - listed) == []
    assert sorted(listed - set(tj.__all__)) == []


def test_site_builds_in_strict_mode(tmp_path: Path) -> None:
    pytest.importorskip("mkdocs", reason="the docs extra is not installed")
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1", "PYTHONPATH": str(ROOT)}
    done = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "-q", "-d", str(tmp_path / "site")],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=300,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    page = (tmp_path / "site" / "reference" / "index.html").read_text()
    anchors = set(re.findall(r'id="typedj\.(\w+)"', page))
    assert sorted(set(tj.__all__) - anchors) == []
