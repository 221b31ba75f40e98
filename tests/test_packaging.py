"""The package's metadata: one version, the MIT license, the optional extras."""

from __future__ import annotations

import os
import subprocess
import sys
import tomllib
from importlib import metadata
from pathlib import Path

import pytest

import typedj as tj

ROOT = Path(__file__).resolve().parent.parent
PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]


def test_the_version_is_written_once_in_pyproject_and_read_from_the_metadata() -> None:
    assert tj.__version__ == metadata.version("typedj") == PROJECT["version"]


def test_the_license_file_is_mit_as_the_metadata_says() -> None:
    text = (ROOT / "LICENSE").read_text()
    assert text.startswith("MIT License\n")
    assert "Permission is hereby granted, free of charge" in text
    assert PROJECT["license"] == {"text": "MIT"}
    assert "License :: OSI Approved :: MIT License" in PROJECT["classifiers"]
    assert "Typing :: Typed" in PROJECT["classifiers"] and (ROOT / "typedj" / "py.typed").is_file()


# -- optional extras: typedj imports without them; a feature that needs one names it ------

OPTIONAL = ("boto3", "botocore", "graphviz", "pandas", "pyarrow", "polars", "dask", "fsspec", "s3fs")

_BLOCK = f"""
import sys
for name in {OPTIONAL!r}:
    sys.modules[name] = None  # its import raises ImportError, as when it is not installed
import numpy as np
import typedj as tj
from typedj import Blob, External, Key, Manual
schema = tj.Schema('s', connection=tj.connect('sqlite:///x.db'))
"""


def _python(code: str, folder: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TYPEDJ_", "DJ_"))}
    return subprocess.run([sys.executable, "-c", _BLOCK + code], cwd=folder, env=env, capture_output=True,
                          text=True, timeout=120)


def test_typedj_works_without_any_optional_package(tmp_path: Path) -> None:
    done = _python(
        "@schema\n"
        "class T(Manual):\n"
        "    t: Key[int]\n"
        "    trace: Blob[np.ndarray]\n"
        "T.insert1(t=1, trace=np.arange(3))\n"
        "print(T.fetch1().trace.tolist(), tj.Diagram(schema).to_mermaid().split()[0])\n"
        f"print([n for n in {OPTIONAL!r} if sys.modules.get(n) is not None])\n",
        tmp_path,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == ["[0, 1, 2] flowchart", "[]"]


def test_an_s3_store_without_boto3_names_the_s3_extra(tmp_path: Path) -> None:
    done = _python(
        "tj.config.stores['raw'] = {'protocol': 's3', 'endpoint': '127.0.0.1:9', 'bucket': 'b'}\n"
        "@schema\n"
        "class T(Manual):\n"
        "    t: Key[int]\n"
        "    trace: Blob[np.ndarray] = External('raw')\n"
        "try:\n"
        "    T.insert1(t=1, trace=np.arange(3))\n"
        "except tj.MissingDependencyError as e:\n"
        "    print(type(e).__name__, e)\n"
        "print(len(T))\n",
        tmp_path,
    )
    assert done.stdout.splitlines() == [
        "MissingDependencyError the S3 store 'raw' needs boto3, which is not installed: "
        "pip install 'typedj[s3]'",
        "0",
    ], done.stderr


def test_an_fsspec_store_without_fsspec_names_the_fsspec_extra(tmp_path: Path) -> None:
    done = _python(
        "tj.config.stores['raw'] = {'protocol': 'fsspec', 'location': 'memory://lab'}\n"
        "@schema\n"
        "class T(Manual):\n"
        "    t: Key[int]\n"
        "    trace: Blob[np.ndarray] = External('raw')\n"
        "try:\n"
        "    T.insert1(t=1, trace=np.arange(3))\n"
        "except tj.MissingDependencyError as e:\n"
        "    print(type(e).__name__, e)\n",
        tmp_path,
    )
    assert done.stdout.strip() == (
        "MissingDependencyError the fsspec store 'raw' needs fsspec, which is not installed: "
        "pip install 'typedj[fsspec]'"
    ), done.stderr


@pytest.mark.parametrize("call", ["make_svg()", "save('d.png')", "to_dot()"])
def test_drawing_a_diagram_without_graphviz_names_the_diagrams_extra(tmp_path: Path, call: str) -> None:
    done = _python(
        "@schema\n"
        "class T(Manual):\n"
        "    t: Key[int]\n"
        "try:\n"
        f"    tj.Diagram(schema).{call}\n"
        "except tj.ConfigError as e:\n"
        "    print(type(e).__name__, e)\n",
        tmp_path,
    )
    assert done.stdout.strip() == (
        "MissingDependencyError drawing a diagram needs graphviz, which is not installed: "
        "pip install 'typedj[diagrams]'"
    ), done.stderr
    assert not (tmp_path / "d.png").exists()
