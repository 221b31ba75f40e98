"""The Starlette application: pages, actions, sign-in; one request, one person's connection."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from jinja2 import Environment, PackageLoader, select_autoescape
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import FileResponse, HTMLResponse, RedirectResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

import typedj as tj

from . import forms, jobs, preview
from .model import EDITABLE_TIERS, Pipeline
from .query import (
    COUNT_CAP,
    PAGE_SIZE,
    code_text,
    count,
    decode_key,
    encode_key,
    export,
    page,
    read_view,
    restricted,
)
from .session import COOKIE, Session, Sessions, csrf_ok

Handler = Callable[[Request, Session], Response]


class ReadOnly(tj.TypedjError):
    """The signed-in account may not change this table."""


def create_app(
    database_url: str | tj.DatabaseURL | None = None,
    *,
    schemas: list[str] | None = None,
    secret: str | None = None,
    https: bool = False,
) -> Starlette:
    """The web app for ``database_url`` (default: the configured one), showing ``schemas``
    (default: every schema the signed-in account can see).

    ``secret`` signs session cookies (default: a random one, so sessions end with the
    process); ``https`` marks the cookies Secure.
    """
    url = database_url or tj.config.database_url
    if url is None:
        raise tj.ConfigError("typedj web needs a database: give --database-url or set TYPEDJ_DATABASE_URL")
    parsed = tj.DatabaseURL.parse(url) if isinstance(url, str) else url
    sessions = Sessions(parsed, schemas, secret)
    env = Environment(
        loader=PackageLoader("typedj.web", "templates"), autoescape=select_autoescape(default=True)
    )
    env.globals["q"] = lambda **kw: urlencode({k: v for k, v in kw.items() if v not in (None, "")})
    env.globals["summary"] = preview.summary
    web = _Web(sessions, env, https)
    routes = [
        Route("/login", web.login_page, methods=["GET"]),
        Route("/login", web.login, methods=["POST"]),
        Route("/logout", web.logout, methods=["POST"]),
        Route("/", web.page(_navigator)),
        Route("/diagram.svg", web.page(_diagram_svg)),
        Route("/table", web.page(_table)),
        Route("/row", web.page(_row)),
        Route("/blob", web.page(_blob)),
        Route("/export", web.page(_export)),
        Route("/new", web.page(_new), methods=["GET", "POST"]),
        Route("/upload", web.page(_upload), methods=["GET", "POST"]),
        Route("/edit", web.page(_edit), methods=["GET", "POST"]),
        Route("/delete", web.page(_delete), methods=["GET", "POST"]),
        Route("/jobs", web.page(jobs.page)),
        Route("/jobs/status", web.page(jobs.fragment)),
        Route("/jobs/retry", web.page(jobs.retry), methods=["POST"]),
        Route("/jobs/clear", web.page(jobs.clear), methods=["POST"]),
        Mount("/static", StaticFiles(packages=[("typedj.web", "static")]), name="static"),
    ]
    app = Starlette(routes=routes)
    app.state.web = web
    return app


class _Web:
    def __init__(self, sessions: Sessions, env: Environment, https: bool) -> None:
        self.sessions = sessions
        self.env = env
        self.https = https

    def render(self, request: Request, name: str, status: int = 200, **context: Any) -> HTMLResponse:
        context.setdefault("session", None)
        context.setdefault("needs_login", self.sessions.needs_login)
        html = self.env.get_template(name).render(request=request, **context)
        return HTMLResponse(html, status_code=status, headers=_SECURITY_HEADERS)

    def _set_cookie(self, response: Response, cookie: str) -> None:
        response.set_cookie(
            COOKIE, cookie, httponly=True, samesite="strict", secure=self.https, max_age=12 * 3600, path="/"
        )

    # -- signing in --------------------------------------------------------------------

    def login_page(self, request: Request) -> Response:
        return self.render(
            request, "login.html", token=self.sessions.login_token(), server=self.sessions.server, error=""
        )

    async def login(self, request: Request) -> Response:
        form = await request.form()
        if not self.sessions.check_login_token(str(form.get("token", ""))):
            return self.render(
                request,
                "message.html",
                403,
                title="Refused",
                message="The sign-in form has expired or did not come from this site.",
            )
        user, password = str(form.get("user", "")), str(form.get("password", ""))
        try:
            cookie, _ = self.sessions.login(user, password)
        except tj.TypedjError as exc:
            return self.render(
                request,
                "login.html",
                401,
                token=self.sessions.login_token(),
                server=self.sessions.server,
                error=f"Sign-in refused: {_no_secret(exc, password)}",
            )
        response = RedirectResponse("/", status_code=303)
        self._set_cookie(response, cookie)
        return response

    async def logout(self, request: Request) -> Response:
        session = self.sessions.find(request.cookies.get(COOKIE))
        form = await request.form()
        if session is None or not csrf_ok(session, form.get("csrf")):
            return self.render(
                request,
                "message.html",
                403,
                title="Refused",
                message="This change carries no valid form token (CSRF); nothing was done.",
            )
        self.sessions.logout(request.cookies.get(COOKIE))
        response = RedirectResponse("/login" if self.sessions.needs_login else "/", status_code=303)
        response.delete_cookie(COOKIE, path="/")
        return response

    # -- pages -----------------------------------------------------------------------

    def page(self, handler: Handler) -> Callable[[Request], Any]:
        async def endpoint(request: Request) -> Response:
            cookie = request.cookies.get(COOKIE)
            session = self.sessions.find(cookie)
            new_cookie = None
            if session is None:
                if self.sessions.needs_login:
                    if request.method != "GET":
                        return self.render(
                            request,
                            "message.html",
                            403,
                            title="Refused",
                            message="You are not signed in; nothing was done.",
                        )
                    return RedirectResponse("/login", status_code=303)
                new_cookie, session = self.sessions.login("", "")
            request.state.form = None
            request.state.files = {}
            if request.method == "POST":
                form = await request.form()
                if not csrf_ok(session, form.get("csrf")):
                    return self.render(
                        request,
                        "message.html",
                        403,
                        session=session,
                        title="Refused",
                        message="This change carries no valid form token (CSRF); nothing was done.",
                    )
                files: dict[str, tuple[str, bytes]] = {}
                for name, value in form.multi_items():
                    if isinstance(value, UploadFile):
                        files[name] = (value.filename or name, await value.read())
                request.state.form = form
                request.state.files = files
            request.state.web = self
            response: Response = await run_in_threadpool(self._run, handler, request, session)
            if new_cookie:
                self._set_cookie(response, new_cookie)
            return response

        return endpoint

    def _run(self, handler: Handler, request: Request, session: Session) -> Response:
        uploads = forms.UPLOADS.set([])
        try:
            return self._handle(handler, request, session)
        finally:
            forms.uploads_done()
            forms.UPLOADS.reset(uploads)

    def _handle(self, handler: Handler, request: Request, session: Session) -> Response:
        with session.lock:
            try:
                return handler(request, session)
            except ReadOnly as exc:
                return self.render(
                    request, "message.html", 403, session=session, title="Not allowed", message=str(exc)
                )
            except tj.AccessError as exc:
                return self.render(
                    request,
                    "message.html",
                    403,
                    session=session,
                    title="Not allowed",
                    message=f"The database refused this for account {session.user!r}: {exc}",
                )
            except (tj.TypedjError, ValueError) as exc:
                return self.render(
                    request, "message.html", 400, session=session, title="Cannot do that", message=str(exc)
                )


_SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; "
    "script-src 'self'; frame-ancestors 'none'; form-action 'self'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
}


def _no_secret(exc: BaseException, password: str) -> str:
    text = str(exc)
    return text.replace(password, "***") if password else text


def web_of(request: Request) -> _Web:
    web: _Web = request.state.web
    return web


def render(request: Request, session: Session, name: str, status: int = 200, **context: Any) -> HTMLResponse:
    return web_of(request).render(request, name, status, session=session, **context)


def _table_name(request: Request, session: Session) -> str:
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


# -- navigator ------------------------------------------------------------------------


def _navigator(request: Request, session: Session) -> Response:
    pipeline = session.pipeline
    tables = [t for t in pipeline.tables() if pipeline.tier(t) != "Part"]
    counts = {t: count(pipeline.cls(t)) for t in pipeline.tables()}
    return render(request, session, "navigator.html", pipeline=pipeline, tables=tables, counts=counts)


def _diagram_svg(request: Request, session: Session) -> Response:
    dot = session.pipeline.diagram.to_dot()
    for name in session.pipeline.graph:
        dot.node(name, href="/table?" + urlencode({"t": name}), target="_top")
    svg = dot.pipe(format="svg")
    return Response(svg, media_type="image/svg+xml", headers={"Content-Security-Policy": "script-src 'none'"})


# -- browse ---------------------------------------------------------------------------


def _table(request: Request, session: Session) -> Response:
    pipeline = session.pipeline
    table = _table_name(request, session)
    cls = pipeline.cls(table)
    params = dict(request.query_params)
    view = read_view(pipeline, table, params)
    rows: list[dict[str, Any]] = []
    following = None
    if not view.errors:
        rows, following = page(pipeline, view)
    everything = request.query_params.get("count") == "all"
    total, more = (
        count(restricted(pipeline, view), None if everything else COUNT_CAP)
        if not view.errors
        else (0, False)
    )
    heading = cls.heading
    base = {k: v for k, v in params.items() if k not in {"after", "page"}}
    next_link = None
    if following == "offset":
        next_link = urlencode({**base, "page": view.page + 1})
    elif following:
        next_link = urlencode({**base, "after": following, "page": view.page + 1})
    return render(
        request,
        session,
        "table.html",
        pipeline=pipeline,
        table=table,
        cls=cls,
        heading=heading,
        definition=cls.describe(),
        comment=(cls.__doc__ or "").strip(),
        rows=rows,
        view=view,
        total=total,
        more=more,
        count_all=urlencode({**params, "count": "all"}),
        columns=[a for a in heading if not a.is_hidden],
        code=code_text(pipeline, view),
        next_link=next_link,
        first_link=urlencode(base),
        export_csv=urlencode({**base, "format": "csv"}),
        export_parquet=urlencode({**base, "format": "parquet"}),
        page_size=PAGE_SIZE,
        editable=can_enter(pipeline, table),
        parents=pipeline.parents(table),
        children=pipeline.children(table),
        parts=pipeline.parts(table),
        master=pipeline.master(table),
        tier=pipeline.tier(table),
        row_key=lambda r: encode_key({k: r[k] for k in heading.primary_key}),
        sort_link=lambda a, d: urlencode({**base, "sort": a, "desc": "1" if d else ""}),
    )


def _row_of(request: Request, session: Session) -> tuple[str, Any, dict[str, Any]]:
    table = _table_name(request, session)
    cls = session.pipeline.cls(table)
    key = decode_key(cls.heading, request.query_params.get("k", ""))
    found = (cls & key).to_dicts()
    if not found:
        raise tj.MissingTableError(f"{table} has no row {key}", table=table)
    return table, cls, {**key, **found[0]}


def _row(request: Request, session: Session) -> Response:
    pipeline = session.pipeline
    table, cls, row = _row_of(request, session)
    heading = cls.heading
    key = {k: row[k] for k in heading.primary_key}
    parents = []
    for ref in pipeline.parents(table):
        if all(row.get(a) is not None for a in ref.attr_map):
            parent_key = {p: row[c] for c, p in ref.attr_map.items()}
            parents.append((ref.table, encode_key(parent_key), parent_key))
    children = []
    for ref in pipeline.children(table):
        restriction = {c: row[p] for c, p in ref.attr_map.items()}
        count = len(pipeline.cls(ref.table) & restriction)
        link = urlencode({"t": ref.table, **{f"eq.{c}": str(v) for c, v in restriction.items()}})
        new = ""
        if can_enter(pipeline, ref.table):
            mine = [r.table == table and r.attr_map == ref.attr_map for r in pipeline.parents(ref.table)]
            index = mine.index(True)
            new = urlencode({"t": ref.table, f"ref.{index}": encode_key(restriction)})
        children.append((ref.table, count, link, new))
    pictures = {a.name for a in heading if a.is_blob or a.kind == "bytes"}
    return render(
        request,
        session,
        "row.html",
        pipeline=pipeline,
        table=table,
        row=row,
        key=encode_key(key),
        columns=[a for a in heading if not a.is_hidden],
        parents=parents,
        children=children,
        pictures=pictures,
        has_picture={n: preview.picture(row[n]) is not None for n in pictures},
        editable=can_enter(pipeline, table),
    )


def _blob(request: Request, session: Session) -> Response:
    table, cls, row = _row_of(request, session)
    name = request.query_params.get("a", "")
    if name not in cls.heading:
        raise tj.UnknownAttributeError(f"{table} has no attribute {name!r}", attribute=name)
    value = row[name]
    pic = preview.picture(value)
    if request.query_params.get("download") != "1" and pic is not None:
        return Response(pic[1], media_type=pic[0], headers={"Content-Security-Policy": "script-src 'none'"})
    if isinstance(value, str | Path) and Path(value).is_file():
        return FileResponse(
            value, filename=Path(value).name, headers={"Content-Security-Policy": "script-src 'none'"}
        )
    if isinstance(value, bytes):
        return Response(
            value,
            media_type="application/octet-stream",
            headers={"Content-Disposition": f'attachment; filename="{name}.bin"'},
        )
    import numpy as np

    if isinstance(value, np.ndarray):
        buffer = io.BytesIO()
        np.save(buffer, value, allow_pickle=False)
        return Response(
            buffer.getvalue(),
            media_type="application/octet-stream",
            headers={"Content-Disposition": f'attachment; filename="{name}.npy"'},
        )
    raise tj.FetchError(f"{table}.{name} holds nothing to download")


def _export(request: Request, session: Session) -> Response:
    pipeline = session.pipeline
    table = _table_name(request, session)
    view = read_view(pipeline, table, dict(request.query_params))
    if view.errors:
        raise ValueError("fix the filters first: " + "; ".join(view.errors.values()))
    fmt = "parquet" if request.query_params.get("format") == "parquet" else "csv"
    data = export(pipeline, view, fmt)
    filename = "".join(c if c.isalnum() else "_" for c in table) + "." + fmt
    return Response(
        data,
        media_type="text/csv" if fmt == "csv" else "application/vnd.apache.parquet",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


# -- entering data ----------------------------------------------------------------------


def _new(request: Request, session: Session) -> Response:
    """A row, and rows of its parts, inserted in one transaction."""
    pipeline = session.pipeline
    table = _table_name(request, session)
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
                    errors, general = forms.problems_by_field(fields, exc.problems)
                else:
                    part, given = stage
                    for problem in exc.problems:
                        found, other = forms.problems_by_field(given[problem.row], [problem])
                        errors.update(found)
                        general += [f"{pipeline.label(part.table)} row {problem.row + 1}: {o}" for o in other]
            except tj.IntegrityError as exc:
                general = [str(exc)]
            else:
                done = "Inserted 1 row" + (f" with {', '.join(counts)}." if counts else ".")
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


def _edit(request: Request, session: Session) -> Response:
    pipeline = session.pipeline
    table, cls, row = _row_of(request, session)
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


def _delete(request: Request, session: Session) -> Response:
    pipeline = session.pipeline
    table, cls, row = _row_of(request, session)
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


def _upload(request: Request, session: Session) -> Response:
    pipeline = session.pipeline
    table = _table_name(request, session)
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
