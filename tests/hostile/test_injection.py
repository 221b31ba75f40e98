"""Injection strings in every place a name or a value enters typedj: values are bound or
quoted and read back exactly; names are checked against the heading; nothing else runs
(a canary table survives every case)."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

import pytest

import typedj as tj
from typedj import Attr, External, Filepath, Key, Manual

from .. import test_stores_rig as rig
from ..test_stores_rig import file_store

store_config = rig.store_config

PAYLOADS = [
    "x'; DROP TABLE canary; --",
    'x"; DROP TABLE canary; --',
    "x`; DROP TABLE canary; --",
    "x\\'; DROP TABLE canary; -- \\",
    "') OR 1=1 -- ",
    "%s %(x)s ? :1 {0}",
    "a\x00b",
    "\n#\r\n; ",
    "😀 ünï",
]


@pytest.fixture
def canary(schema: tj.Schema) -> type[Manual]:
    @schema
    class Canary(Manual):
        canary_id: Key[int]

    Canary.insert1({"canary_id": 1})
    return Canary


def _alive(canary: type[Manual]) -> None:
    assert canary.fetch("canary_id") == [1]


def test_values_and_restrictions_are_bound(schema: tj.Schema, canary: type[Manual]) -> None:
    @schema
    class Note(Manual):
        note_id: Key[int]
        text: str = Attr(max_length=64)
        doc: dict[str, Any] | None = None

    # where the server stores no NUL in text, validation refuses it (tests/hostile/test_values.py)
    payloads = [p for p in PAYLOADS if "\0" not in p or schema.connection.dialect.supports_nul_in_text]
    Note.insert([{"note_id": i, "text": p, "doc": {p: [p]}} for i, p in enumerate(payloads)])
    for i, p in enumerate(payloads):
        row = (Note & {"text": p}).fetch1()
        assert (row.note_id, row.text, row.doc) == (i, p, {p: [p]})
        assert len(Note & [{"text": p}, {"text": "none"}]) == 1
        assert len(Note - {"text": p}) == len(payloads) - 1
    (Note & {"text": payloads[0]}).delete()
    assert len(Note) == len(payloads) - 1
    _alive(canary)


def test_names_are_checked_against_the_heading(schema: tj.Schema, canary: type[Manual]) -> None:
    @schema
    class Note(Manual):
        note_id: Key[int]
        text: str = Attr(max_length=64)

    Note.insert1({"note_id": 1, "text": "t"})
    for p in PAYLOADS:
        with pytest.raises(tj.UnknownAttributeError):
            (Note & {p: 1}).fetch()
        with pytest.raises(tj.ValidationError) as info:
            Note.insert1({"note_id": 2, "text": "t", p: 1})
        assert "unknown attribute" in str(info.value)
        with pytest.raises(tj.QueryError, match="not a valid attribute name"):
            Note.proj(**{p: "text"})  # a rename's new name
        with pytest.raises(tj.TypedjError):
            Note.fetch(p)
    assert len(Note) == 1
    _alive(canary)


def test_comments_enums_and_defaults_are_quoted(schema: tj.Schema, canary: type[Manual]) -> None:
    evil = "it's `x`; DROP TABLE canary; -- \\ \" %s"

    @schema
    class Tagged(Manual):
        """Table comment: it's `x`; DROP TABLE canary; -- \\ " %s"""

        tag_id: Key[int]
        kind: Literal["a'b", 'c"d', "e`f", "g\\h", "%s"] = "a'b"
        label: str = Attr(max_length=64, default=evil, comment=evil)

    Tagged.insert([{"tag_id": 1}, {"tag_id": 2, "kind": "g\\h"}, {"tag_id": 3, "kind": "%s"}])
    rows = {r.tag_id: r for r in Tagged.fetch()}
    assert (rows[1].kind, rows[1].label) == ("a'b", evil)
    assert rows[2].kind == "g\\h" and rows[3].kind == "%s"
    heading = schema.connection.catalog.load_catalog(schema.name)["tagged"]
    assert heading.heading["label"].comment == evil and heading.heading["label"].default == evil
    assert heading.comment == "Table comment: it's `x`; DROP TABLE canary; -- \\ \" %s"
    with pytest.raises(tj.ValidationError):
        Tagged.insert1({"tag_id": 4, "kind": "a'b'); DROP TABLE canary; --"})
    _alive(canary)


def test_store_names_and_paths(
    store_config: dict[str, Any], tmp_path: Path, schema: tj.Schema, canary: type[Manual]
) -> None:
    root = file_store(store_config, tmp_path / "store")
    (root / "it's; DROP TABLE canary").mkdir()
    (root / "it's; DROP TABLE canary" / "a.bin").write_bytes(b"data")

    @schema
    class Linked(Manual):
        link_id: Key[int]
        file: Filepath = External("raw")

    Linked.insert1({"link_id": 1, "file": "it's; DROP TABLE canary/a.bin"})
    assert Linked.fetch1("file").read_bytes() == b"data"
    for bad in ["../outside.bin", "a/../../x", "/etc/hostname", "a\x00b"]:
        with pytest.raises(tj.ValidationError) as info:
            Linked.insert1({"link_id": 2, "file": bad})
        assert info.value.attribute == "file"
    with pytest.raises(tj.StoreError, match="not configured"):

        @schema
        class Elsewhere(Manual):
            link_id: Key[int]
            file: Filepath = External("x'; DROP TABLE canary; --")

        Elsewhere.insert1({"link_id": 1, "file": "a.bin"})
    assert len(Linked) == 1
    _alive(canary)
