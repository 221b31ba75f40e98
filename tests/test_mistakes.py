"""The mistakes corpus: what mypy (without and with the plugin) and pyright --strict catch.

``tests/mistakes/`` holds 40 realistic mistakes in the string idiom (``strings.py``), the
same in the plugin-free idiom (``columns.py``) and, where it has the operation, in
SQLModel (``sqlmodel_corpus.py``). Each mistake line ``# Mnn`` has a correct twin
``# OKnn``: a checker catches a mistake when it reports the mistake's line; a report on
a twin is a false alarm. The counts must match the table in docs/typechecking.md.
"""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

import pytest

from .test_typing import ROOT, _pyright, run_mypy

CORPUS = Path(__file__).resolve().parent / "mistakes"
_MARK = re.compile(r"#\s*(M|OK)(\d\d)\s*$")
FILES = ["strings.py", "columns.py", "sqlmodel_corpus.py"]


def marks(name: str) -> dict[int, tuple[str, str]]:
    """Line number -> ("M" or "OK", mistake number)."""
    found = {}
    for number, text in enumerate((CORPUS / name).read_text().splitlines(), 1):
        m = _MARK.search(text)
        if m:
            found[number] = (m[1], m[2])
    return found


def tally(name: str, lines: set[int]) -> tuple[set[str], set[str]]:
    """(mistakes caught, twins falsely reported) for the lines a checker reported.

    A mistake whose twin is reported too is not counted as caught: the checker objects to
    the construct, not to the mistake.
    """
    reported: dict[str, set[str]] = {"M": set(), "OK": set()}
    for line, (kind, number) in marks(name).items():
        if line in lines:
            reported[kind].add(number)
    return reported["M"] - reported["OK"], reported["OK"]


@pytest.fixture(scope="module")
def results(tmp_path_factory: pytest.TempPathFactory) -> dict[tuple[str, str], tuple[set[str], set[str]]]:
    """One run of each checker over the whole corpus."""
    from .test_typing import mypy_config

    folder = tmp_path_factory.mktemp("mistakes")
    files = [f for f in FILES if f != "sqlmodel_corpus.py" or importlib.util.find_spec("sqlmodel")]
    paths = [CORPUS / f for f in files]
    out: dict[tuple[str, str], tuple[set[str], set[str]]] = {}
    for checker, plugin in [("mypy", False), ("mypy+plugin", True)]:
        config = mypy_config(folder, plugin=plugin)
        reports, _ = run_mypy(paths, config, folder / f"cache_{plugin}")
        for f in files:
            out[(checker, f)] = tally(f, {r.line for r in reports if r.file == f})
    errors = _pyright(paths, folder, reportUnusedVariable=False)
    for f in files:
        out[("pyright", f)] = tally(f, {line for file, line, _ in errors if file == f})
    return out


def test_corpus_is_forty_mistakes_with_twins() -> None:
    for name in FILES:
        found = marks(name)
        mistakes = sorted(n for k, n in found.values() if k == "M")
        twins = sorted(n for k, n in found.values() if k == "OK")
        assert mistakes == twins and len(set(mistakes)) == len(mistakes)
    assert len(marks("strings.py")) == len(marks("columns.py")) == 80


def test_targets(results: dict[tuple[str, str], tuple[set[str], set[str]]]) -> None:
    for (checker, name), (_, false) in results.items():
        if name != "sqlmodel_corpus.py":
            assert false == set(), (checker, name, sorted(false))  # no false alarms
    assert len(results[("mypy+plugin", "strings.py")][0]) >= 37
    if ("pyright", "sqlmodel_corpus.py") in results:
        sqlmodel = results[("pyright", "sqlmodel_corpus.py")][0]
        ours = results[("pyright", "columns.py")][0]
        shared = {n for k, n in marks("sqlmodel_corpus.py").values()}
        assert len(ours & shared) >= len(sqlmodel), (sorted(ours & shared), sorted(sqlmodel))


def test_docs_table_matches(results: dict[tuple[str, str], tuple[set[str], set[str]]]) -> None:
    text = (ROOT / "docs" / "typechecking.md").read_text()
    for (checker, name), (caught, _) in results.items():
        label = f"| {checker} | {name} |"
        row = next((line for line in text.splitlines() if line.startswith(label)), None)
        assert row is not None, label
        assert row.split("|")[3].strip().startswith(f"{len(caught)}/"), (row, len(caught))
