"""The published DataJoint Elements, declared by datajoint-python 2.x, through ``typedj codegen``:
one package of modules that import each other, importing cleanly with no drift, clean
under mypy --strict (with and without the plugin) and pyright strict, and data crossing
both ways."""

from __future__ import annotations

import importlib
import importlib.util
import json
import os
import shutil
import subprocess
import sys
import textwrap
import warnings
from collections.abc import Iterator
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pytest

import typedj as tj
from typedj.codegen import generate_package

from .elements import ELEMENTS, declare_elements

pytestmark = pytest.mark.requires("datajoint_peer", reason="datajoint-python declares the Elements on MySQL")

ROOT = Path(__file__).resolve().parent.parent
PREFIX = f"tjel{os.getpid() % 10000}_"
SCHEMAS = ["lab", "subject", "session", "trial", "event", "scan", "imaging", "imaging_report",
           "probe", "ephys", "ephys_report"]


@pytest.fixture(scope="session")
def dj(mysql_url: str) -> Any:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        datajoint = pytest.importorskip("datajoint", reason="datajoint-python (test peer) is not installed")
    missing = [e for e in ELEMENTS if importlib.util.find_spec(e) is None]
    if missing:
        pytest.skip(f"{missing} not installed (tests/run.sh installs the DataJoint Elements)")
    url = tj.DatabaseURL.parse(mysql_url)
    datajoint.config["database.host"], datajoint.config["database.port"] = url.host, url.port
    datajoint.config["database.user"], datajoint.config["database.password"] = url.user, url.password
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        datajoint.conn(reset=True)
    return datajoint


@pytest.fixture(scope="session")
def elements(dj: Any, mysql_url: str) -> Iterator[dict[str, Any]]:
    """Every Element declared once per session by datajoint-python, dropped afterwards."""
    modules = declare_elements(dj, PREFIX)
    yield modules
    conn = tj.connect(mysql_url)
    conn.query("SET FOREIGN_KEY_CHECKS = 0")
    try:
        for name in conn.catalog.list_schemas():
            if name.startswith(PREFIX):
                conn.query(f"DROP DATABASE `{name}`")
                conn.schemas.pop(name, None)
    finally:
        conn.query("SET FOREIGN_KEY_CHECKS = 1")


@pytest.fixture(scope="session")
def package(elements: dict[str, Any], mysql_url: str, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The generated package ``elements_pkg``, in a folder of its own."""
    conn = tj.connect(mysql_url)
    tj.config.database_url = mysql_url
    files = generate_package([PREFIX + s for s in SCHEMAS], connection=conn)
    folder = tmp_path_factory.mktemp("elements") / "elements_pkg"
    folder.mkdir()
    for name, text in files.items():
        (folder / name).write_text(text)
    return folder


def _import(package: Path, conn: tj.Connection) -> Any:
    for name in list(conn.schemas):
        if name.startswith(PREFIX):
            conn.schemas.pop(name)
    sys.path.insert(0, str(package.parent))
    try:
        return importlib.import_module(package.name)
    finally:
        sys.path.remove(str(package.parent))


def test_package_imports_without_drift(package: Path, elements: dict[str, Any], mysql_url: str) -> None:
    conn = tj.connect(mysql_url)
    tj.config.database_url = mysql_url
    assert sorted(p.name for p in package.iterdir()) == sorted(
        ["__init__.py", *(f"{PREFIX}{s}.py" for s in SCHEMAS)])
    imaging_source = (package / f"{PREFIX}imaging.py").read_text()
    assert f"\nfrom . import {PREFIX}scan\n" in imaging_source
    assert "        non_rigid_motion_correction: Key[Ref['MotionCorrection.NonRigidMotionCorrection']]" \
        in imaging_source
    assert f"        fluo: Key[Ref[{PREFIX}scan.Channel]] = Link(rename={{'channel': 'fluo_channel'}})" \
        in imaging_source
    assert "virtual_module" not in imaging_source

    pkg = _import(package, conn)
    modules = {s: getattr(pkg, PREFIX + s) for s in SCHEMAS}
    tables = 0
    for name, module in modules.items():
        assert module.schema.diff() == [], name
        user_tables = {t for t in module.schema.tables if not t.startswith("~")}
        assert set(module.schema.declared) == user_tables, name
        tables += len(user_tables)
    assert tables >= 110

    block, dj_block = modules["imaging"].MotionCorrection.Block, elements["imaging"].MotionCorrection.Block
    assert block.primary_key == dj_block.primary_key
    assert [fk.parent_table for fk in block._def.foreign_keys] == [
        "_motion_correction__non_rigid_motion_correction"]
    trace = modules["imaging"].Fluorescence.Trace
    assert trace.primary_key == elements["imaging"].Fluorescence.Trace.primary_key
    assert "fluo_channel" in trace.primary_key


def test_data_crosses_both_ways(package: Path, elements: dict[str, Any], mysql_url: str) -> None:
    conn = tj.connect(mysql_url)
    tj.config.database_url = mysql_url
    pkg = _import(package, conn)
    lab, subject, session, scan = (getattr(pkg, PREFIX + s) for s in ("lab", "subject", "session", "scan"))
    dj_lab, dj_subject, dj_session = elements["lab"], elements["subject"], elements["session_with_datetime"]

    dj_lab.Organization.insert1({"organization": "org", "org_name": "An 'org'"}, skip_duplicates=True)
    dj_lab.Lab.insert1({"lab": "lab1", "lab_name": "L", "address": "here", "time_zone": "UTC+1"},
                       skip_duplicates=True)
    dj_lab.Lab.Organization.insert1({"lab": "lab1", "organization": "org"}, skip_duplicates=True)
    assert lab.Organization.fetch1("org_name") == "An 'org'"
    assert lab.Lab.Organization.to_dicts() == [{"lab": "lab1", "organization": "org"}]

    subject.Subject.insert1(subject="s1", sex="F", subject_birth_date=date(2024, 1, 2))
    subject.Subject.Lab.insert1(subject="s1", lab="lab1", subject_alias="one")
    when = datetime(2024, 3, 4, 5, 6, 7)
    session.Session.insert1(subject="s1", session_datetime=when)
    scan.Scan.insert1(subject="s1", session_datetime=when, scan_id=1, acq_software="ScanImage")
    born = (dj_subject.Subject & {"subject": "s1"}).fetch1("sex", "subject_birth_date")
    assert born == ("F", date(2024, 1, 2))
    assert dj_subject.Subject.Lab.fetch1("subject_alias") == "one"
    assert dj_session.Session.fetch1("session_datetime") == when
    row = session.Session.fetch1()  # a reference named like its one column is that column
    assert (row.subject, row.session_datetime) == ("s1", when)
    dj_scan = elements["scan"].Scan.fetch1()
    assert (dj_scan["scan_id"], dj_scan["scanner"], dj_scan["acq_software"]) == (1, None, "ScanImage")


def _mypy_config(folder: Path, plugin: bool) -> Path:
    config = folder / ("plugin.ini" if plugin else "plain.ini")
    config.write_text(textwrap.dedent(f"""\
        [mypy]
        strict = True
        python_version = 3.11
        mypy_path = {ROOT}
        {"plugins = typedj.mypy_plugin" if plugin else ""}
        [mypy-typedj.*]
        follow_imports = silent
        [mypy-pymysql.*,networkx.*,pandas.*,blake3.*,boto3.*,botocore.*,tqdm.*,pyarrow.*,polars.*]
        ignore_missing_imports = True
        """))
    return config


@pytest.mark.parametrize("plugin", [False, True], ids=["mypy", "mypy-plugin"])
def test_package_passes_mypy_strict(package: Path, plugin: bool) -> None:
    from mypy import api

    config = _mypy_config(package.parent, plugin)
    stdout, stderr, status = api.run(["--config-file", str(config), "--cache-dir",
                                      str(package.parent / f"cache_{plugin}"), str(package)])
    assert status == 0, stdout + stderr
    assert "Success: no issues found in 12 source files" in stdout


def test_package_passes_pyright_strict(package: Path) -> None:
    exe = shutil.which("pyright")
    if exe is None:
        pytest.skip("the pyright command is not installed (pip install pyright)")
    config = package.parent / "pyrightconfig.json"
    config.write_text(json.dumps({"typeCheckingMode": "strict", "extraPaths": [str(ROOT)],
                                  "pythonVersion": "3.11"}))
    done = subprocess.run([exe, "--outputjson", "-p", str(config), str(package)],
                          capture_output=True, text=True, timeout=600, check=False)
    data = json.loads(done.stdout)
    assert data["summary"]["filesAnalyzed"] == 12
    assert [d for d in data["generalDiagnostics"] if d["severity"] == "error"] == []


def test_virtual_modules_bind_without_drift(elements: dict[str, Any], mysql_url: str) -> None:
    conn = tj.connect(mysql_url)
    for name in SCHEMAS:
        module = tj.virtual_module(name, PREFIX + name, connection=conn)
        assert module.schema.diff() == [], name
    imaging = tj.virtual_module("imaging", PREFIX + "imaging", connection=conn)
    block = imaging.MotionCorrection.Block
    assert [fk.parent_table for fk in block._def.foreign_keys] == [
        "_motion_correction__non_rigid_motion_correction"]
    assert block.primary_key == elements["imaging"].MotionCorrection.Block.primary_key
