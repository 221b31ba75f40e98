"""Entry forms generated from a table's typed heading, and submitted forms read back as rows.

The browser's text goes to ``insert``/``update1`` as it is (pydantic converts it the way it
converts any value), so the messages are the ones ``insert`` gives in Python; only JSON,
``.npy`` files and references are decoded here first.
"""

from __future__ import annotations

import base64
import io
import json
import shutil
import tempfile
from contextvars import ContextVar
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

import typedj as tj

from .model import Pipeline, Reference
from .query import encode_key

REFERENCE_CHOICES = 2000
UPLOADS: ContextVar[list[Path]] = ContextVar("typedj_web_uploads")
"""Folders holding this request's uploaded attachments, removed when it ends."""
_INPUTS = {
    "int": "number",
    "float": "number",
    "decimal": "number",
    "date": "date",
    "datetime": "datetime-local",
    "time": "time",
    "uuid": "text",
    "str": "text",
}


@dataclass
class Field:
    """One input of a form: an attribute, or a reference covering several attributes."""

    name: str
    label: str
    widget: str  # input, textarea, select, file
    input_type: str = "text"
    required: bool = False
    value: str = ""
    maxlength: int | None = None
    step: str | None = None
    options: list[tuple[str, str]] = field(default_factory=list)
    comment: str = ""
    type_name: str = ""
    kind: str = ""
    in_key: bool = False
    attributes: list[str] = field(default_factory=list)
    error: str = ""
    target: str = ""
    """The referenced table, for a reference."""


def _default_text(attr: tj.Attribute) -> str:
    default = attr.default
    if default is None or not attr.has_default or str(default).upper().startswith("CURRENT_TIMESTAMP"):
        return ""
    if attr.kind == "bool":
        return "true" if default in {True, "1"} else "false"
    if attr.kind == "json":
        return json.dumps(default)
    return str(default)


def _max_length(attr: tj.Attribute) -> int | None:
    return attr.type.max_length


def attribute_field(attr: tj.Attribute) -> Field:
    kind = attr.kind
    f = Field(
        name=attr.name,
        label=attr.name,
        widget="input",
        required=not attr.has_default,
        value=_default_text(attr),
        comment=attr.comment,
        type_name=attr.type_name,
        kind=kind,
        in_key=attr.in_key,
        attributes=[attr.name],
    )
    if kind == "enum":
        f.widget = "select"
        f.options = [(v, v) for v in attr.type.members]
    elif kind == "bool":
        f.widget = "select"
        f.options = [("true", "true"), ("false", "false")]
    elif kind in {"json"} or (kind == "str" and _max_length(attr) is None):
        f.widget = "textarea"
    elif kind in {"blob", "external", "attach", "bytes"}:
        f.widget = "file"
        f.input_type = ".npy" if kind in {"blob", "external"} else ""
    else:
        f.input_type = _INPUTS.get(kind, "text")
        f.maxlength = _max_length(attr)
        if kind == "int":
            f.step = "1"
        elif kind in {"float", "decimal"}:
            f.step = "any"
        elif kind in {"datetime", "time"}:
            f.step = "0.001"
    if f.widget == "select" and not f.required:
        f.options.insert(0, ("", "(default)" if attr.default is not None else "(none)"))
    return f


def reference_field(pipeline: Pipeline, ref: Reference, heading: tj.Heading, index: int) -> Field:
    """A select of the parent's keys (named by the child's attributes)."""
    parent = pipeline.cls(ref.table)
    keys = parent.keys(order_by="KEY", limit=REFERENCE_CHOICES)
    local = list(ref.attr_map)
    nullable = any(heading[a].nullable for a in local)
    options = [("", "(none)" if nullable else "choose...")]
    for key in keys:
        mine = {child: key[par] for child, par in ref.attr_map.items()}
        options.append((encode_key(mine), ", ".join(f"{k}={v}" for k, v in mine.items())))
    return Field(
        name=f"ref.{index}",
        label=", ".join(local) + f" → {pipeline.label(ref.table)}",
        widget="reference",
        required=not nullable,
        options=options,
        in_key=any(heading[a].in_key for a in local),
        attributes=local,
        comment=f"references {ref.table}",
        target=ref.table,
    )


def form_fields(pipeline: Pipeline, table: str, *, secondary_only: bool = False) -> list[Field]:
    """Key attributes first, each reference as one select, then the rest."""
    cls = pipeline.cls(table)
    heading = cls.heading
    fields: list[Field] = []
    covered: set[str] = set()
    refs = pipeline.parents(table)
    for i, ref in enumerate(refs):
        if secondary_only and any(heading[a].in_key for a in ref.attr_map):
            continue
        fields.append(reference_field(pipeline, ref, heading, i))
        covered |= set(ref.attr_map)
    for attr in heading:
        if attr.name in covered or attr.is_hidden or (secondary_only and attr.in_key):
            continue
        if attr.auto_increment:
            continue
        fields.append(attribute_field(attr))
    fields.sort(key=lambda f: not f.in_key)
    return fields


def fill(fields: list[Field], row: dict[str, Any]) -> None:
    """Show an existing row's values (for update1)."""
    for f in fields:
        if f.widget == "reference":
            if all(row.get(a) is not None for a in f.attributes):
                f.value = encode_key({a: row[a] for a in f.attributes})
        elif f.widget != "file" and f.attributes[0] in row:
            value = row[f.attributes[0]]
            if value is None:
                f.value = ""
            elif isinstance(value, bool):
                f.value = "true" if value else "false"
            elif f.widget == "textarea" and not isinstance(value, str):
                f.value = json.dumps(value)
            else:
                f.value = str(value)


def read_row(
    fields: list[Field], form: Any, files: dict[str, tuple[str, bytes]]
) -> tuple[dict[str, Any], dict[str, str]]:
    """The row a submitted form describes (empty inputs take their defaults), and decoding errors."""
    row: dict[str, Any] = {}
    errors: dict[str, str] = {}
    for f in fields:
        if f.widget == "file":
            upload = files.get(f.name)
            if upload is not None and upload[1]:
                filename, data = upload
                try:
                    row[f.attributes[0]] = _file_value(f, filename, data)
                except ValueError as exc:
                    errors[f.name] = str(exc)
            continue
        text = form.get(f.name, "")
        f.value = text
        if not text:
            continue
        if f.widget == "reference":
            try:
                raw = json.loads(base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)))
                if not isinstance(raw, dict) or set(raw) != set(f.attributes):
                    raise ValueError
            except ValueError:
                errors[f.name] = "choose one of the listed rows"
                continue
            row.update(raw)
        elif f.kind == "json":
            try:
                row[f.attributes[0]] = json.loads(text)
            except ValueError as exc:
                errors[f.name] = f"expected JSON: {exc}"
        elif f.input_type == "datetime-local":
            row[f.attributes[0]] = text.replace("T", " ")
        else:
            row[f.attributes[0]] = text
    return row, errors


def _file_value(f: Field, filename: str, data: bytes) -> Any:
    """Uploaded bytes as the attribute takes them: raw, an attachment's file, or a .npy array."""
    kind = f.kind
    if kind == "bytes":
        return data
    if kind == "attach":
        name = Path(filename).name or f.name
        if name in {".", ".."}:
            raise ValueError("the file needs a name")
        folder = Path(tempfile.mkdtemp(prefix="typedj-web-"))
        UPLOADS.get([]).append(folder)
        path = folder / name
        path.write_bytes(data)
        return path
    try:
        return np.load(io.BytesIO(data), allow_pickle=False)
    except (ValueError, OSError) as exc:
        raise ValueError("expected a NumPy .npy file") from exc


def problems_by_field(fields: list[Field], problems: list[tj.Problem]) -> tuple[dict[str, str], list[str]]:
    """Validation problems against the inputs that show them, and those of no input."""
    owner = {a: f.name for f in fields for a in f.attributes}
    by_field: dict[str, str] = {}
    general: list[str] = []
    for p in problems:
        name = owner.get(p.attribute or "")
        if name is None:
            general.append(str(p))
        else:
            by_field[name] = (by_field.get(name, "") + " " + p.message).strip()
    return by_field, general


PART_ROWS = 3


@dataclass
class PartRows:
    """Rows of one part table entered on its master's form (its master key comes from the master)."""

    table: str
    index: int
    fields: list[Field]
    rows: list[list[Field]]


def _row_fields(fields: list[Field], index: int, row: int) -> list[Field]:
    return [replace(f, name=f"part.{index}.{row}.{f.name}", options=list(f.options)) for f in fields]


def part_forms(pipeline: Pipeline, table: str) -> list[PartRows]:
    """For each part of ``table``, empty rows of its own attributes and references."""
    out = []
    for index, part in enumerate(pipeline.parts(table)):
        fields = [f for f in form_fields(pipeline, part) if f.target != table]
        for f in fields:
            f.value = ""  # an untouched row stays empty, and is skipped
            if f.widget in {"select", "reference"} and not any(v == "" for v, _ in f.options):
                f.options.insert(0, ("", ""))
        out.append(PartRows(part, index, fields, [_row_fields(fields, index, r) for r in range(PART_ROWS)]))
    return out


def read_parts(
    parts: list[PartRows], form: Any, files: dict[str, tuple[str, bytes]]
) -> tuple[list[tuple[PartRows, list[dict[str, Any]], list[list[Field]]]], dict[str, str]]:
    """The part rows given on a master's form (rows left empty are skipped), and decoding errors."""
    errors: dict[str, str] = {}
    out = []
    for part in parts:
        prefix = f"part.{part.index}."
        indices = sorted(
            {
                int(k.split(".")[2])
                for k in [*form.keys(), *files]
                if k.startswith(prefix) and k.split(".")[2].isdigit()
            }
        )
        part.rows = [_row_fields(part.fields, part.index, r) for r in indices] or part.rows
        rows, given = [], []
        for fields in part.rows:
            row, row_errors = read_row(fields, form, files)
            errors.update(row_errors)
            if row or row_errors:
                rows.append(row)
                given.append(fields)
        out.append((part, rows, given))
    return out, errors


def reference_problems(
    pipeline: Pipeline, table: str, rows: list[dict[str, Any]], known: set[tuple[int, str | None]]
) -> list[tj.Problem]:
    """Rows naming a parent row that does not exist, or repeating a key already in the table.

    ``insert`` stops at the first such row (the server refuses the statement); checked here
    per row, they join the validation problems so one upload shows every problem at once.
    """
    from .query import convert

    cls = pipeline.cls(table)
    heading = cls.heading
    checks = [(ref.table, ref.attr_map) for ref in pipeline.parents(table)]
    checks.append((table, {k: k for k in heading.primary_key}))
    problems = []
    for target_name, attr_map in checks:
        target = pipeline.cls(target_name)
        keys: dict[int, dict[str, Any]] = {}
        for i, row in enumerate(rows):
            if not all(a in row for a in attr_map) or any((i, a) in known for a in attr_map):
                continue
            try:
                keys[i] = {p: convert(heading[c], str(row[c])) for c, p in attr_map.items()}
            except ValueError:
                continue
        if not keys:
            continue
        present = {tuple(sorted(k.items())) for k in (target & list(keys.values())).keys()}
        exists_is_bad = target_name == table
        for i, key in keys.items():
            if (tuple(sorted(key.items())) in present) == exists_is_bad:
                name = next(iter(attr_map))
                shown = ", ".join(f"{k}={v}" for k, v in key.items())
                message = (
                    f"{shown} is already in {pipeline.label(table)}"
                    if exists_is_bad
                    else f"no {pipeline.label(target_name)} row with {shown}"
                )
                problems.append(tj.Problem(row=i, attribute=name, message=message))
    return problems


def uploads_done() -> None:
    """Remove the request's uploaded files (an insert has copied what it keeps)."""
    for folder in UPLOADS.get([]):
        shutil.rmtree(folder, ignore_errors=True)
