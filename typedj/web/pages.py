"""What every page handler shares: rendering, the table and row a request names, write checks."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import HTMLResponse, Response

import typedj as tj

from .model import EDITABLE_TIERS, Pipeline
from .query import decode_key
from .session import Session

Handler = Callable[[Request, Session], Response]


class ReadOnly(tj.TypedjError):
    """The signed-in account may not change this table."""


def render(request: Request, session: Session, name: str, status: int = 200, **context: Any) -> HTMLResponse:
    """The template ``name`` as a page, through the app that received ``request``."""
    response: HTMLResponse = request.state.web.render(request, name, status, session=session, **context)
    return response


def table_name(request: Request, session: Session) -> str:
    table = request.query_params.get("t", "")
    if table not in session.pipeline.graph:
        raise tj.MissingTableError(f"no table {table!r} among the tables shown here", table=table)
    return table


def require_write(session: Session, table: str) -> None:
    pipeline = session.pipeline
    tier = pipeline.tier(table)
    master = pipeline.master(table)
    if tier not in EDITABLE_TIERS and not (master and pipeline.tier(master) in EDITABLE_TIERS):
        raise ReadOnly(f"{table} is a {tier} table: its rows are made by populate, not entered by hand")
    if not pipeline.may_write(table):
        raise ReadOnly(
            f"Your database account {session.user!r} may not change {table}: it holds no "
            "INSERT privilege on it. Ask the database administrator for one."
        )


def can_enter(pipeline: Pipeline, table: str) -> bool:
    master = pipeline.master(table)
    editable = pipeline.tier(table) in EDITABLE_TIERS or bool(
        master and pipeline.tier(master) in EDITABLE_TIERS
    )
    return editable and pipeline.may_write(table)


def row_of(request: Request, session: Session) -> tuple[str, Any, dict[str, Any]]:
    table = table_name(request, session)
    cls = session.pipeline.cls(table)
    key = decode_key(cls.heading, request.query_params.get("k", ""))
    found = (cls & key).to_dicts()
    if not found:
        raise tj.MissingTableError(f"{table} has no row {key}", table=table)
    return table, cls, {**key, **found[0]}


