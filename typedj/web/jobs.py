"""Computations: per auto-populated table, what is made, waiting, running and failed.

Reads each table's jobs table (``~~name``) only where it exists, so looking never creates
one; retry and clear go through ``Table.jobs`` like in Python.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from typedj.populate.jobs import jobs_table_name

from .pages import render, table_name
from .query import decode_key, encode_key
from .session import Session

AUTO_TIERS = {"Computed", "Imported"}
SHOWN_ERRORS = 50


def _auto_tables(session: Session) -> list[str]:
    pipeline = session.pipeline
    return [
        t for t in pipeline.tables() if pipeline.tier(t) in AUTO_TIERS and t.split(".")[0] in pipeline.schemas
    ]


def _jobs_table(session: Session, table: str) -> str | None:
    schema, name = table.split(".", 1)
    module_schema = session.pipeline.module(schema).schema
    jobs_name = jobs_table_name(name)
    if jobs_name not in module_schema.tables:
        module_schema.reload()
    return jobs_name if jobs_name in module_schema.tables else None


def report(session: Session) -> list[dict[str, Any]]:
    """Counts and recent errors of every auto-populated table."""
    pipeline = session.pipeline
    out = []
    for table in _auto_tables(session):
        cls = pipeline.cls(table)
        entry: dict[str, Any] = {
            "table": table,
            "label": pipeline.label(table),
            "done": len(cls),
            "remaining": None,
            "reserved": 0,
            "error": 0,
            "pending": 0,
            "errors": [],
            "problem": "",
            "may_change": False,
        }
        try:
            remaining, _total = cls.progress()
            entry["remaining"] = remaining
        except Exception as exc:  # a table without a default key source still lists its jobs
            entry["problem"] = str(exc)
        jobs_name = _jobs_table(session, table)
        if jobs_name is not None:
            jobs = cls.jobs
            counts = jobs.progress()
            entry.update(reserved=counts["reserved"], error=counts["error"], pending=counts["pending"])
            key_names = jobs.key_names
            entry["may_change"] = pipeline.may_write(f"{table.split('.')[0]}.{jobs_name}")
            for row in jobs.errors.to_dicts(order_by="completed_time DESC", limit=SHOWN_ERRORS):
                stack = row.get("error_stack")
                entry["errors"].append(
                    {
                        "key": {k: row[k] for k in key_names},
                        "token": encode_key({k: row[k] for k in key_names}),
                        "message": row["error_message"],
                        "stack": stack if isinstance(stack, str) else ("" if stack is None else repr(stack)),
                        "when": row.get("completed_time"),
                    }
                )
        out.append(entry)
    return out


def page(request: Request, session: Session) -> Response:
    return render(request, session, "jobs.html", entries=report(session))


def fragment(request: Request, session: Session) -> Response:
    return render(request, session, "jobs_table.html", entries=report(session))


def _change(request: Request, session: Session, action: str) -> Response:
    table = table_name(request, session)
    if session.pipeline.tier(table) not in AUTO_TIERS:
        raise ValueError(f"{table} is not auto-populated")
    cls = session.pipeline.cls(table)
    jobs = cls.jobs
    token = str(request.state.form.get("k", ""))
    restrictions = [decode_key(jobs.query.heading.select(jobs.key_names), token)] if token else []
    if action == "retry":
        jobs.retry(*restrictions)
    else:
        jobs.delete(*restrictions, status="error")
    return RedirectResponse("/jobs", status_code=303)


def retry(request: Request, session: Session) -> Response:
    return _change(request, session, "retry")


def clear(request: Request, session: Session) -> Response:
    return _change(request, session, "clear")
