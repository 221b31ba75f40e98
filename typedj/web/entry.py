"""Entering data: a new row (with its parts), a correction, a deletion, a CSV upload."""

from __future__ import annotations

import csv
import io
from typing import Any
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import Response

import typedj as tj

from . import forms
from .pages import render, require_write, row_of, table_name
from .query import encode_key
from .session import Session


def new(request: Request, session: Session) -> Response:
    """A row, and rows of its parts, inserted in one transaction."""
    pipeline = session.pipeline
    table = table_name(request, session)
    require_write(session, table)
    cls = pipeline.cls(table)
    fields = forms.form_fields(pipeline, table)
    parts = forms.part_forms(pipeline, table) if pipeline.master(table) is None else []
    for f in fields:  # links from a parent's row page prefill the reference
        prefill = request.query_params.get(f.name)
        if prefill is not None:
            f.value = prefill
    errors: dict[str, str] = {}
    general: list[str] = []
    done = ""
    if request.method == "POST":
        form, files = request.state.form, request.state.files
        row, errors = forms.read_row(fields, form, files)
        entered, part_errors = forms.read_parts(parts, form, files)
        errors.update(part_errors)
        if not errors:
            errors, general, done = _insert(session, cls, row, entered, fields)
            if done:
                fields = forms.form_fields(pipeline, table)
                parts = forms.part_forms(pipeline, table) if parts else []
    for f in [*fields, *(f for p in parts for r in p.rows for f in r)]:
        f.error = errors.get(f.name, "")
    status = 422 if errors or general else 200
    return render(
        request,
        session,
        "form.html",
        status,
        pipeline=pipeline,
        table=table,
        fields=fields,
        parts=parts,
        general=general,
        done=done,
        action="/new?" + urlencode({"t": table}),
        title="New row",
    )


def _insert(
    session: Session,
    cls: Any,
    row: dict[str, Any],
    entered: list[tuple[forms.PartRows, list[dict[str, Any]], list[list[forms.Field]]]],
    fields: list[forms.Field],
) -> tuple[dict[str, str], list[str], str]:
    """Insert the row and its parts' rows in one transaction: (errors by field, other
    errors, the message saying what was inserted)."""
    pipeline = session.pipeline
    errors: dict[str, str] = {}
    general: list[str] = []
    stage: tuple[forms.PartRows, list[list[forms.Field]]] | None = None
    counts: list[str] = []
    try:
        with session.connection.transaction():
            cls.insert1(row)
            master_key = {k: row[k] for k in cls.heading.primary_key if k in row}
            for part, part_rows, given in entered:
                stage = (part, given)
                if part_rows:
                    pipeline.cls(part.table).insert([{**master_key, **r} for r in part_rows])
                    counts.append(f"{len(part_rows)} {pipeline.label(part.table)}")
    except tj.ValidationError as exc:
        if stage is None:
            return (*forms.problems_by_field(fields, exc.problems), "")
        part, given = stage
        for problem in exc.problems:
            found, other = forms.problems_by_field(given[problem.row], [problem])
            errors.update(found)
            general += [f"{pipeline.label(part.table)} row {problem.row + 1}: {o}" for o in other]
        return errors, general, ""
    except tj.IntegrityError as exc:
        return errors, [str(exc)], ""
    return errors, general, "Inserted 1 row" + (f" with {', '.join(counts)}." if counts else ".")


def edit(request: Request, session: Session) -> Response:
    pipeline = session.pipeline
    table, cls, row = row_of(request, session)
    require_write(session, table)
    fields = forms.form_fields(pipeline, table, secondary_only=True)
    forms.fill(fields, row)
    errors: dict[str, str] = {}
    general: list[str] = []
    done = ""
    key = {k: row[k] for k in cls.heading.primary_key}
    if request.method == "POST":
        changed, errors = forms.read_row(fields, request.state.form, request.state.files)
        for f in fields:
            if not request.state.form.get(f.name, "") and f.widget != "file":
                for a in f.attributes:
                    if cls.heading[a].nullable:
                        changed[a] = None
        if not errors:
            try:
                cls.update1({**key, **changed})
            except tj.ValidationError as exc:
                errors, general = forms.problems_by_field(fields, exc.problems)
            except tj.IntegrityError as exc:
                general = [str(exc)]
            else:
                done = "Saved."
    for f in fields:
        f.error = errors.get(f.name, "")
    return render(
        request,
        session,
        "form.html",
        422 if errors or general else 200,
        pipeline=pipeline,
        table=table,
        fields=fields,
        general=general,
        done=done,
        key=key,
        action="/edit?" + urlencode({"t": table, "k": encode_key(key)}),
        title="Correct row (update1)",
    )


def delete(request: Request, session: Session) -> Response:
    pipeline = session.pipeline
    table, cls, row = row_of(request, session)
    key = {k: row[k] for k in cls.heading.primary_key}
    require_write(session, table)
    query = cls & key
    if request.method == "POST":
        if request.state.form.get("confirm") != "delete":
            raise ValueError("type delete in the confirmation box to delete")
        counts = query.delete()
        return render(request, session, "deleted.html", pipeline=pipeline, table=table, counts=counts)
    counts = query.delete(dry_run=True)
    return render(
        request,
        session,
        "delete.html",
        pipeline=pipeline,
        table=table,
        key=key,
        counts=counts,
        action="/delete?" + urlencode({"t": table, "k": encode_key(key)}),
    )


def upload(request: Request, session: Session) -> Response:
    pipeline = session.pipeline
    table = table_name(request, session)
    require_write(session, table)
    cls = pipeline.cls(table)
    columns = [a.name for a in cls.heading if not a.is_hidden]
    rows: list[dict[str, str]] = []
    header: list[str] = []
    problems: dict[tuple[int, str], str] = {}
    general: list[str] = []
    inserted = 0
    if request.method == "POST":
        data = request.state.files.get("file", ("", b""))[1]
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError:
            general = ["the file is not UTF-8 text"]
            text = ""
        reader = csv.DictReader(io.StringIO(text))
        header = list(reader.fieldnames or [])
        unknown = [h for h in header if h not in cls.heading]
        if unknown:
            general.append(f"columns not in {table}: {', '.join(unknown)}; it has {', '.join(columns)}")
        rows = [dict(r) for r in reader]
        if not rows and not general:
            general.append("the file holds no rows")
        if not general:
            given = [{k: v for k, v in r.items() if k in cls.heading and v not in ("", None)} for r in rows]
            found = []
            try:
                cls.insert(given)
                inserted = len(given)
            except tj.ValidationError as exc:
                found = exc.problems
            except tj.IntegrityError as exc:
                general.append(str(exc))
            found += forms.reference_problems(pipeline, table, given, {(p.row, p.attribute) for p in found})
            for p in found:
                if p.attribute:
                    problems[(p.row, p.attribute)] = p.message
                else:
                    general.append(str(p))
            if found:
                general = [g for g in general if "refused" not in g]
    status = 422 if problems or general else 200
    return render(
        request,
        session,
        "upload.html",
        status,
        pipeline=pipeline,
        table=table,
        columns=columns,
        header=header,
        rows=rows,
        problems=problems,
        general=general,
        inserted=inserted,
        action="/upload?" + urlencode({"t": table}),
    )
