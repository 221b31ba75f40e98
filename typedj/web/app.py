"""The Starlette application: pages, actions, sign-in; one request, one person's connection."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

from jinja2 import Environment, PackageLoader, select_autoescape
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

import typedj as tj

from . import browse, entry, forms, jobs, preview
from .pages import Handler, ReadOnly
from .session import COOKIE, Session, Sessions, csrf_ok


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
        Route("/", web.page(browse.navigator)),
        Route("/diagram.svg", web.page(browse.diagram_svg)),
        Route("/table", web.page(browse.table_page)),
        Route("/row", web.page(browse.row_page)),
        Route("/blob", web.page(browse.blob)),
        Route("/export", web.page(browse.export_page)),
        Route("/new", web.page(entry.new), methods=["GET", "POST"]),
        Route("/upload", web.page(entry.upload), methods=["GET", "POST"]),
        Route("/edit", web.page(entry.edit), methods=["GET", "POST"]),
        Route("/delete", web.page(entry.delete), methods=["GET", "POST"]),
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
