"""One set of heading rules (``typedj.query.algebra``) for the runtime and the mypy plugin.

The same tables and the same derived queries (joins, left joins, unions, projections with
renames and computations, aggregations, ``U``) are built at runtime, on a real schema, and
type-checked with the plugin: every query's attributes (in order), primary key, and which
attributes may be NULL agree. The plugin's heading is read from the revealed row type of
``query.fetch1()``; its key from ``query.proj().fetch1()``.
"""

from __future__ import annotations

import importlib.util
import re
import sys
from pathlib import Path
from typing import Any

import pytest

import typedj as tj
from typedj.query import algebra

from .test_typing import mypy_config, run_mypy

LAB = '''\
from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING, Any

import typedj as tj
from typedj import U, Attr, Key, Manual, Ref


def declare(schema: tj.Schema) -> dict[str, Any]:
    @schema
    class Subject(Manual):
        subject_id: Key[int]
        sex: str = Attr(max_length=1, default="U")
        weight: float | None = None

    @schema
    class Session(Manual):
        subject: Key[Ref[Subject]]
        session_id: Key[int]
        session_date: date

    @schema
    class Scan(Manual):
        session: Key[Ref[Session]]
        scan_id: Key[int]
        quality: float

    @schema
    class Note(Manual):
        subject: Key[Ref[Subject]]
        note_id: Key[int]
        text: str = Attr(max_length=100)

    @schema
    class Rig(Manual):
        rig_id: Key[int]
        room: str = Attr(max_length=10)

    if TYPE_CHECKING:
{reveals}
    return dict(Subject=Subject, Session=Session, Scan=Scan, Note=Note, Rig=Rig, U=U)
'''

CASES = [
    "Session * Scan",  # the right determines the left: its key
    "Scan * Session",  # the left determines the right: its key
    "Session * Note",  # neither: the union of the keys
    "Session * Rig",  # nothing shared
    "Scan.extend(Session)",  # a left join: the right's attributes may be NULL
    "Session.join(Subject, left=True)",
    "Subject.proj('sex') + Subject.proj('weight')",  # one side's secondary: NULL in the other's rows
    "Session.proj()",
    "Session.proj('session_date')",
    "Session.proj(day='session_date')",  # a rename replaces its source
    "Session.proj('session_date', day='session_date')",  # unless the source is named too
    "Subject.proj(sid='subject_id')",  # a renamed key attribute stays in the key
    "Subject.proj('-sex')",  # only drops: keep the others
    "Subject.proj(..., '-weight')",
    "Subject.proj(heavy='weight > 20')",  # computed
    "Session.aggr(Scan, n='count(*)')",
    "Session.aggr(Scan, ..., n='count(*)', best='max(quality)')",
    "Subject.aggr(Session, 'sex', last='max(session_date)')",
    "(Session * Scan).proj('quality', d='session_date')",
    "Session * U('session_date')",  # promoted into the key
    "U('sex') & Subject",
    "U('sex').aggr(Subject, n='count(*)')",
]


def _lab_source() -> str:
    reveals = [f"        reveal_type(({case}).fetch1())\n        reveal_type(({case}).proj().fetch1())"
               for case in CASES]
    return LAB.format(reveals="\n".join(reveals))


_REVEALED = re.compile(r"^(?P<path>[^:]+):(?P<line>\d+):\d+: note: Revealed type is \"(?P<type>.*)\"$")


def _items(text: str) -> list[tuple[str, str]]:
    """``TypedDict({'a': T, 'b': U | None})`` -> [(a, T), (b, U | None)], brackets respected."""
    body = text[text.index("{") + 1 : text.rindex("}")]
    items, depth, start = [], 0, 0
    for i, ch in enumerate(body + ","):
        depth += (ch in "[(" and 1) or (ch in "])" and -1) or 0
        if ch == "," and depth == 0:
            name, _, typ = body[start:i].partition(":")
            items.append((name.strip().strip("'"), typ.strip()))
            start = i + 1
    return items


def _optional(typ: str) -> bool:
    return typ.endswith("| None") or (typ.startswith("Union[") and typ.endswith(", None]"))


@pytest.fixture(scope="module")
def static(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[list[str], list[str], set[str]]]:
    """Each case as the plugin sees it: (attribute names, key names, optional attributes)."""
    folder = tmp_path_factory.mktemp("algebra")
    path = folder / "algebra_lab.py"
    path.write_text(_lab_source(), encoding="utf-8")
    reports, output = run_mypy([path], mypy_config(folder, plugin=True), folder / "cache")
    assert reports == [], output
    revealed = [m["type"] for m in map(_REVEALED.match, output.splitlines()) if m]
    assert len(revealed) == 2 * len(CASES), output
    out = {}
    for i, case in enumerate(CASES):
        row, key = _items(revealed[2 * i]), _items(revealed[2 * i + 1])
        out[case] = ([n for n, _ in row], [n for n, _ in key], {n for n, t in row if _optional(t)})
    return out


@pytest.fixture
def lab(schema: tj.Schema, tmp_path: Path) -> dict[str, Any]:
    path = tmp_path / "algebra_lab_runtime.py"
    path.write_text(_lab_source(), encoding="utf-8")
    spec = importlib.util.spec_from_file_location("algebra_lab_runtime", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    try:
        spec.loader.exec_module(module)
        tables: dict[str, Any] = module.declare(schema)
    finally:
        del sys.modules[spec.name]
    return tables


def test_runtime_and_plugin_derive_the_same_headings(
    lab: dict[str, Any], static: dict[str, tuple[list[str], list[str], set[str]]]
) -> None:
    for case in CASES:
        heading = eval(case, dict(lab)).heading
        names, key, optional = static[case]
        assert heading.names == names, case
        assert heading.primary_key == key, case
        checked = [a for a in heading if a.type_name != "expression"]  # the plugin types SQL as Any
        assert {a.name for a in checked if a.nullable} == optional & {a.name for a in checked}, case


def test_the_cases_cover_every_rule() -> None:
    """Each rule of the key is exercised: the left's key, the right's, their union."""
    class A:
        def __init__(self, name: str, in_key: bool) -> None:
            self.name, self.in_key = name, in_key

    session = [A("subject_id", True), A("session_id", True), A("session_date", False)]
    scan = [A("subject_id", True), A("session_id", True), A("scan_id", True), A("quality", False)]
    note = [A("subject_id", True), A("note_id", True)]
    assert algebra.join_key(session, scan) == {"subject_id", "session_id", "scan_id"}
    assert algebra.join_key(scan, session) == {"subject_id", "session_id", "scan_id"}
    assert algebra.join_key(session, note) == {"subject_id", "session_id", "note_id"}
    assert algebra.join_key(scan, session, outer=True) == {"subject_id", "session_id", "scan_id"}
    joined = algebra.join(scan, session, outer=True)
    assert [(a.name, in_key, null) for a, in_key, null in joined][-1] == ("session_date", False, True)
