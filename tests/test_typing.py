"""Type-checking pipelines: mypy without and with ``typedj.mypy_plugin``, and pyright.

The snippets in ``tests/typing_snippets`` mark each expected error with a trailing
``# E: <code> <part of the message>`` comment; every other line must be clean.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import textwrap
from dataclasses import dataclass
from pathlib import Path

import pytest
from mypy import api

os.environ["TYPEDJ_PLUGIN_DEBUG"] = "1"  # a failing hook fails the test instead of falling back

ROOT = Path(__file__).resolve().parent.parent
SNIPPETS = Path(__file__).resolve().parent / "typing_snippets"
CLEAN = ["pipeline.py", "usage.py", "plugin_checks.py", "local_tables.py", "blind_spots.py"]
_EXPECT = re.compile(r"#\s*E:\s*(?P<code>[\w-]+)\s*(?P<text>.*)$")
_REPORT = re.compile(
    r"^(?P<path>[^:]+):(?P<line>\d+):(?P<col>\d+): error: (?P<msg>.*?)\s+\[(?P<code>[\w-]+)\]$"
)


@dataclass(frozen=True)
class Report:
    file: str
    line: int
    column: int
    code: str
    message: str


def expected(name: str) -> dict[int, tuple[str, str]]:
    lines = (SNIPPETS / name).read_text().splitlines()
    found = {}
    for number, text in enumerate(lines, 1):
        match = _EXPECT.search(text)
        if match:
            found[number] = (match["code"], match["text"].strip())
    return found


def mypy_config(folder: Path, *, plugin: bool) -> Path:
    config = folder / ("plugin.ini" if plugin else "plain.ini")
    config.write_text(textwrap.dedent(f"""\
        [mypy]
        strict = True
        python_version = 3.11
        mypy_path = {ROOT}
        show_column_numbers = True
        {"plugins = typedj.mypy_plugin" if plugin else ""}
        [mypy-typedj.*]
        follow_imports = silent
        [mypy-pymysql.*,networkx.*,pandas.*,blake3.*,boto3.*,botocore.*,tqdm.*,pyarrow.*,polars.*]
        ignore_missing_imports = True
        """))
    return config


def run_mypy(paths: list[Path], config: Path, cache: Path, *extra: str) -> tuple[list[Report], str]:
    stdout, stderr, status = api.run(["--config-file", str(config), "--cache-dir", str(cache), *extra,
                                      *map(str, paths)])
    assert status in (0, 1), f"mypy crashed (status {status}): {stdout}{stderr}"  # 2: internal error
    reports = []
    for line in stdout.splitlines():
        m = _REPORT.match(line)
        if m:
            reports.append(Report(Path(m["path"]).name, int(m["line"]), int(m["col"]), m["code"], m["msg"]))
    assert "INTERNAL ERROR" not in stdout + stderr, stdout + stderr
    return reports, stdout + stderr


@pytest.fixture(scope="module")
def configs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("mypy")
    return {"plain": mypy_config(folder, plugin=False), "plugin": mypy_config(folder, plugin=True),
            "plain_cache": folder / "plain_cache", "plugin_cache": folder / "plugin_cache"}


def _check(reports: list[Report], name: str) -> None:
    mine = [r for r in reports if r.file == name]
    want = expected(name)
    assert {(r.line, r.code) for r in mine} == {(line, code) for line, (code, _) in want.items()}, mine
    for line, (_, text) in want.items():
        assert any(text in r.message for r in mine if r.line == line), (line, text, mine)


ALL = sorted(p.name for p in SNIPPETS.glob("*.py") if p.name != "__init__.py")


@pytest.fixture(scope="module")
def plain(configs: dict[str, Path]) -> list[Report]:
    """One mypy run (no plugin) over every snippet file: the machine is shared."""
    reports, _ = run_mypy([SNIPPETS / n for n in ALL], configs["plain"], configs["plain_cache"])
    return reports


@pytest.fixture(scope="module")
def plugin(configs: dict[str, Path]) -> list[Report]:
    """One mypy run with the plugin over every snippet file."""
    reports, _ = run_mypy([SNIPPETS / n for n in ALL], configs["plugin"], configs["plugin_cache"])
    return reports


@pytest.fixture(scope="module")
def pyright(tmp_path_factory: pytest.TempPathFactory) -> list[tuple[str, int, str]]:
    """One pyright --strict run over every snippet file."""
    return _pyright([SNIPPETS / n for n in ALL], tmp_path_factory.mktemp("pyright"))


def _lines(errors: list[tuple[str, int, str]], name: str) -> set[int]:
    return {line for file, line, _ in errors if file == name}


def test_mypy_without_plugin_no_false_positives(plain: list[Report]) -> None:
    assert [r for r in plain if r.file in CLEAN] == []


def test_mypy_without_plugin_checks_constructors(plain: list[Report]) -> None:
    _check(plain, "constructors.py")


def test_plugin_checks_each_failing_and_passing_case(plugin: list[Report]) -> None:
    for name in [*CLEAN, "constructors.py", "make_insert.py", "key_of.py"]:
        _check(plugin, name)
    for r in plugin:
        if r.code == "typedj-attr":  # the report points at the offending string (or keyword's value)
            text = (SNIPPETS / r.file).read_text().splitlines()[r.line - 1]
            assert text[r.column - 1] in "\"'" or text[: r.column - 1].endswith("="), r


def test_self_insert1_in_make_needs_the_plugin(plain: list[Report]) -> None:
    assert [(r.line, r.code) for r in plain if r.file == "make_insert.py"] == [
        (18, "call-overload"), (19, "call-overload"), (26, "call-overload")]


def test_key_of_is_a_plain_dict_without_the_plugin(plain: list[Report],
                                                    pyright: list[tuple[str, int, str]]) -> None:
    """``tj.KeyOf[T]`` without the plugin: ``dict[str, Any]`` to mypy --strict and pyright --strict."""
    assert [r for r in plain if r.file == "key_of.py"] == []
    assert _lines(pyright, "key_of.py") == set()


def test_pyright_insert1_through_instances_and_any_table(pyright: list[tuple[str, int, str]]) -> None:
    assert _lines(pyright, "make_insert.py") == set(expected("make_insert.py"))


def test_plugin_free_idiom_in_all_three_checkers(plain: list[Report], plugin: list[Report],
                                                 pyright: list[tuple[str, int, str]]) -> None:
    """Linked columns and class-level columns: the same mistakes, the same lines, no plugin needed."""
    _check(plain, "columns.py")
    _check(plugin, "columns.py")
    assert _lines(pyright, "columns.py") == set(expected("columns.py"))


_PACKAGE = {
    "__init__.py": "",
    "subjects.py": '''
        import typedj as tj
        from typedj import Key, Manual

        schema = tj.Schema("cross")


        @schema
        class Subject(Manual):
            subject_id: Key[int]
            species: str
        ''',
    "sessions.py": '''
        from datetime import date

        from typedj import Key, Link, Manual, Ref

        from .subjects import Subject, schema


        @schema
        class Session(Manual):
            subject: Key[Ref[Subject]]
            session_id: Key[int]
            rig: Ref["Rig"] = Link(rename={"rig_id": "rig"})
            session_date: date


        @schema
        class Rig(Manual):
            rig_id: Key[str]
            room: str
        ''',
    "queries.py": '''
        from .sessions import Session
        from .subjects import Subject

        joined = (Subject * Session).proj("species", when="session_date")
        ''',
    "use.py": '''
        from .queries import joined
        from .sessions import Rig, Session
        from .subjects import Subject

        g = joined & {"sesion_id": 1}  # E: typedj-attr did you mean "session_id"?
        h = joined.fetch1()["when"]

        a = Session & {"subject_id": 1, "rig": "A"}
        b = Session & {"rig_id": "A"}  # E: typedj-attr did you mean "rig"?
        c = (Subject * Session).fetch1("species", "session_date")
        d = Session.proj(room_of="rigg")  # E: typedj-attr did you mean "rig"?
        e = Session * Rig.proj(rig="rig_id")
        ''',
}


def test_cross_module_forward_reference_and_cache(tmp_path: Path, configs: dict[str, Path]) -> None:
    package = tmp_path / "pipe"
    package.mkdir()
    for name, text in _PACKAGE.items():
        (package / name).write_text(textwrap.dedent(text).lstrip())
    cache = configs["plugin_cache"]  # shared for typedj and numpy; the "pipe" modules are new to it
    paths = [package / n for n in _PACKAGE]

    def check(reports: list[Report]) -> None:
        lines = (package / "use.py").read_text().splitlines()
        want = {n: m["code"] for n, t in enumerate(lines, 1) if (m := _EXPECT.search(t))}
        assert {r.line: r.code for r in reports} == want, reports

    first, _ = run_mypy(paths, configs["plugin"], cache)
    check(first)
    with (package / "use.py").open("a") as f:
        f.write('f = Session.fetch(order_by="sesion_id")  # E: typedj-attr\n')
    second, log = run_mypy(paths, configs["plugin"], cache, "--verbose")
    check(second)
    assert "Metadata fresh for pipe.sessions" in log  # the tables come from the cache ...
    assert "Metadata fresh for pipe.queries" in log  # ... and so does a query's heading
    assert not re.search(r"Parsing .*sessions\.py", log)
    assert re.search(r"\(pipe\.use\) as inherently stale", log)  # ... the changed module is checked again


def _pyright(paths: list[Path], folder: Path, **settings: object) -> list[tuple[str, int, str]]:
    exe = shutil.which("pyright")
    if exe is None:
        pytest.skip("the pyright command is not installed (pip install pyright)")
    config = folder / "pyrightconfig.json"
    config.write_text(json.dumps({"typeCheckingMode": "strict", "extraPaths": [str(ROOT)],
                                  "pythonVersion": "3.11", "reportUnusedVariable": False, **settings}))
    done = subprocess.run([exe, "--outputjson", "-p", str(config), *map(str, paths)],
                          capture_output=True, text=True, timeout=600, check=False)
    data = json.loads(done.stdout)
    return [(Path(d["file"]).name, d["range"]["start"]["line"] + 1, d["message"])
            for d in data["generalDiagnostics"] if d["severity"] == "error"]


def test_pyright_strict_no_false_positives(pyright: list[tuple[str, int, str]]) -> None:
    assert [e for e in pyright if e[0] in CLEAN] == []


def test_pyright_strict_checks_constructors(pyright: list[tuple[str, int, str]]) -> None:
    assert _lines(pyright, "constructors.py") == set(expected("constructors.py"))


DOC_PAGES = ["tutorial.md", "types.md", "typechecking.md", "queries.md", "populate.md", "blobs.md",
             "stores.md", "export.md", "diagrams.md", "codegen.md", "embedded.md", "configuration.md",
             "provenance.md", "web.md"]

_LAB = textwrap.dedent('''\
    import typedj as tj
    from typedj import Computed, Key, Manual, Ref

    schema = tj.Schema("lab")


    @schema
    class Session(Manual):
        subject_id: Key[int]
        session: Key[int]
        paper: str


    @schema
    class Spikes(Computed):
        session: Key[Ref[Session]]
        n_spikes: int

        def make(self, key: tj.KeyOf["Spikes"]) -> None:
            self.insert1({**key, "n_spikes": 0})
    ''')


PREAMBLES = {
    "populate.md": textwrap.dedent('''\
        import numpy as np

        import typedj as tj
        from typedj import Blob, Computed, Key, Link, Manual, Part

        schema = tj.Schema("ephys")


        @schema
        class Trace(Manual):
            trace_id: Key[int]
            trace: Blob[np.ndarray]


        @schema
        class Cell(Manual):
            cell_id: Key[int]
            good: bool


        def sort_spikes(data: np.ndarray) -> list[np.ndarray]:
            return [data]
        '''),
    "blobs.md": "import typedj as tj\n",
    "stores.md": 'import typedj as tj\n\nschema = tj.Schema("lab")\n',
    "export.md": textwrap.dedent('''\
        import typedj as tj

        lab_schema = tj.Schema("lab")
        analysis_schema = tj.Schema("analysis")
        new_server = tj.connect("mysql://root@db.new.org:3306")
        '''),
    "diagrams.md": _LAB + 'other = tj.Schema("analysis")\nlab_module = tj.virtual_module("lab", "lab")\n',
    "codegen.md": "import typedj as tj\nfrom typedj import Attr, Key, Manual\n",
    "configuration.md": _LAB,
    "provenance.md": _LAB,
    "web.md": 'import typedj as tj\n\nlab = tj.virtual_module("lab", "lab")\n',
}
"""What a page's examples take as given (its pipeline's upstream tables), stated once here."""

MODULES = {"pipeline": _LAB + textwrap.dedent('''\


    @schema
    class Activity(Computed):
        spikes: Key[Ref[Spikes]]
        rate: float

        def make(self, key: tj.KeyOf["Activity"]) -> None:
            self.insert1({**key, "rate": 0.0})
    ''')}
"""Modules the pages import (``from pipeline import Session``), written next to them."""


UNTYPED_LIBRARIES = ("distributed", "zarr")
"""Examples that use these show their API, not typedj's: strict checkers refuse any use (or
the library is not installed with the tests)."""


def _doc_modules(folder: Path) -> list[Path]:
    """Each page's python blocks, in order, as one module (``docs_<page>.py``); a block in a
    list item is dedented."""
    paths = []
    for page in DOC_PAGES:
        text = (ROOT / "docs" / page).read_text()
        found = re.findall(r"^ *```python\n(.*?)^ *```", text, re.S | re.M)
        blocks = [body for body in map(textwrap.dedent, found)
                  if not any(re.search(rf"^(from {lib} import|import {lib}\b)", body, re.M)
                             for lib in UNTYPED_LIBRARIES)]
        path = folder / f"docs_{Path(page).stem}.py"
        path.write_text(PREAMBLES.get(page, "") + "\n".join(blocks))
        paths.append(path)
    for name, text in MODULES.items():
        (folder / f"{name}.py").write_text(text)
    return paths


def test_docs_snippets_type_check(tmp_path: Path, configs: dict[str, Path]) -> None:
    paths = _doc_modules(tmp_path)
    plain, output = run_mypy(paths, configs["plain"], configs["plain_cache"])
    assert plain == [], output
    plugin, _ = run_mypy(paths, configs["plugin"], configs["plugin_cache"])
    marked = {(p.name, n, m["code"]) for p in paths
              for n, t in enumerate(p.read_text().splitlines(), 1) if (m := _EXPECT.search(t))}
    assert marked, "the type-checking page shows the plugin's errors"
    assert {(r.file, r.line, r.code) for r in plugin} == marked, plugin
    errors = _pyright(paths, tmp_path, reportUnusedImport=False, reportUnusedExpression=False)
    assert errors == []


def test_examples_type_check(configs: dict[str, Path], tmp_path: Path) -> None:
    """The examples: mypy --strict with and without the plugin; pyright (standard mode:
    strict mode also asks the example's own untyped locals, such as ``cells = []``, for types)."""
    paths = sorted((ROOT / "examples").glob("*.py"))
    if not paths:
        pytest.skip("no examples")
    for config in ("plain", "plugin"):
        reports, output = run_mypy(paths, configs[config], configs[f"{config}_cache"])
        assert reports == [], output
    assert _pyright(paths, tmp_path, typeCheckingMode="standard") == []


def test_a_failing_hook_falls_back_to_mypy(
    configs: dict[str, Path], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """A bug in the plugin must not crash mypy in someone's CI: the hook gives way."""
    from typedj.mypy_plugin.checks import Checker

    def broken(self: Checker, ctx: object) -> object:
        raise RuntimeError("a bug")

    monkeypatch.setattr(Checker, "fetch1", broken)
    monkeypatch.delenv("TYPEDJ_PLUGIN_DEBUG")
    reports, output = run_mypy([SNIPPETS / "usage.py"], configs["plugin"], tmp_path / "cache")
    assert reports == [], output
    monkeypatch.setenv("TYPEDJ_PLUGIN_DEBUG", "1")
    with pytest.raises(AssertionError, match="mypy crashed"):
        run_mypy([SNIPPETS / "usage.py"], configs["plugin"], tmp_path / "cache2")


_DAEMON_PACKAGE = {
    "__init__.py": "",
    "tables.py": '''
        import typedj as tj
        from typedj import Key, Manual, Ref

        schema = tj.Schema("daemon")


        @schema
        class Subject(Manual):
            subject_id: Key[int]
            species: str


        @schema
        class Session(Manual):
            subject: Key[Ref[Subject]]
            session_id: Key[int]
        ''',
    "use.py": '''
        from .tables import Session, Subject

        q = Subject & {"species": "mouse"}
        r = Session & "subject_id = 1"
        s = Session.proj(first="subject_id")
        ''',
}


def test_dmypy_answers_as_a_cold_run_after_a_table_is_edited(tmp_path: Path,
                                                              configs: dict[str, Path]) -> None:
    """The plugin tells the daemon which tables each checked call read (``Session``'s
    heading comes from ``Subject`` too), so an edit rechecks the modules that use them."""
    package = tmp_path / "dpipe"
    package.mkdir()
    for name, text in _DAEMON_PACKAGE.items():
        (package / name).write_text(textwrap.dedent(text).lstrip())
    status = tmp_path / "dmypy.json"
    base = [sys.executable, "-m", "mypy.dmypy", "--status-file", str(status)]
    flags = ["--", "--config-file", str(configs["plugin"]), "--cache-dir", str(tmp_path / "dcache"),
             str(package)]

    def daemon() -> set[tuple[str, int, str]]:
        done = subprocess.run([*base, "run", "--timeout", "300", *flags], capture_output=True, text=True,
                              timeout=600, check=False, cwd=tmp_path)
        assert "INTERNAL ERROR" not in done.stdout + done.stderr, done.stdout + done.stderr
        return {(Path(m["path"]).name, int(m["line"]), m["code"])
                for m in map(_REPORT.match, done.stdout.splitlines()) if m}

    def cold() -> set[tuple[str, int, str]]:
        reports, _ = run_mypy([package], configs["plugin"], tmp_path / "cold_cache")
        return {(r.file, r.line, r.code) for r in reports}

    try:
        assert daemon() == cold() == set()
        tables = package / "tables.py"
        original = tables.read_text()
        tables.write_text(original.replace("    subject_id: Key[int]\n    species: str",
                                           "    subject_no: Key[int]\n    kind: str"))
        edited = daemon()
        assert edited == cold() == {("use.py", n, "typedj-attr") for n in (3, 4, 5)}
        tables.write_text(original)
        assert daemon() == cold() == set()
    finally:
        subprocess.run([*base, "stop"], capture_output=True, timeout=120, check=False)
