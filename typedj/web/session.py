"""Who is signed in: server-side sessions named by signed cookies, each with its own connection.

The cookie holds only a random session id, signed (itsdangerous) so it cannot be forged or
altered; the password stays in the server's memory, inside the connection. Every change
needs the session's CSRF token.
"""

from __future__ import annotations

import hmac
import os
import secrets
import threading
import time
from dataclasses import dataclass, field, replace
from typing import Any

from itsdangerous import BadSignature, URLSafeTimedSerializer

import typedj as tj

from ..backend.registry import backend_for
from .model import Pipeline

COOKIE = "typedj_session"
MAX_AGE = 12 * 3600


@dataclass
class Session:
    """One signed-in person: their connection, their view of the pipeline, their CSRF token."""

    user: str
    connection: tj.Connection
    pipeline: Pipeline
    lock: threading.RLock
    """Held while a request uses the connection (sessions of one account share it)."""
    csrf: str = field(default_factory=lambda: secrets.token_urlsafe(32))
    started: float = field(default_factory=time.monotonic)


class Sessions:
    """Session ids to sessions, and the cookie signer."""

    def __init__(self, url: tj.DatabaseURL, schemas: list[str] | None, secret: str | None = None) -> None:
        self.url = url
        self.schemas = schemas
        self.signer = URLSafeTimedSerializer(secret or secrets.token_urlsafe(32), salt="typedj-web")
        self._sessions: dict[str, Session] = {}
        self._locks: dict[int, threading.RLock] = {}
        self._lock = threading.Lock()

    @property
    def server(self) -> str:
        """Where people sign in, without the configured account."""
        return f"{self.url.host}:{self.url.port}" if self.needs_login else self.url.path

    @property
    def needs_login(self) -> bool:
        """Without server accounts (SQLite) the file's permissions decide, and nobody signs in."""
        return backend_for(self.url.scheme).dialect.supports_accounts

    def login(self, user: str, password: str) -> tuple[str, Session]:
        """Open ``user``'s own connection; raises ``AccessError`` when the server refuses."""
        if self.needs_login:
            url = replace(self.url, user=user, password=password)
        else:
            url, user = self.url, os.path.basename(self.url.path)
        conn = tj.connect(url)
        try:
            conn.query("SELECT 1").fetchall()
        except tj.TypedjError:
            conn.close()
            raise
        except Exception as exc:  # opening the connection is not translated by the backend
            conn.close()
            detail = exc.args[1] if len(exc.args) > 1 else exc
            raise tj.AccessError(f"{self.url.host}:{self.url.port} refused {user!r}: {detail}") from exc
        with self._lock:
            lock = self._locks.setdefault(id(conn), threading.RLock())
        session = Session(user=user, connection=conn, pipeline=Pipeline(conn, self.schemas), lock=lock)
        sid = secrets.token_urlsafe(32)
        with self._lock:
            now = time.monotonic()
            for old in [k for k, v in self._sessions.items() if now - v.started > MAX_AGE]:
                del self._sessions[old]
            self._sessions[sid] = session
        return self.signer.dumps(sid), session

    def find(self, cookie: str | None) -> Session | None:
        """The session a cookie names, if its signature and age are good."""
        if not cookie:
            return None
        try:
            sid = self.signer.loads(cookie, max_age=MAX_AGE)
        except BadSignature:
            return None
        if not isinstance(sid, str):
            return None
        return self._sessions.get(sid)

    def logout(self, cookie: str | None) -> None:
        if not cookie:
            return
        try:
            sid = self.signer.loads(cookie)
        except BadSignature:
            return
        with self._lock:
            session = self._sessions.pop(sid, None)
        if session is not None and self.needs_login:
            with session.lock:
                session.connection.close()  # reopened on next use if another session shares it

    def login_token(self) -> str:
        """A signed token for the sign-in form (the only form shown before a session exists)."""
        return self.signer.dumps("login")

    def check_login_token(self, token: str) -> bool:
        try:
            return bool(self.signer.loads(token, max_age=3600) == "login")
        except BadSignature:
            return False


def csrf_ok(session: Session, token: Any) -> bool:
    return isinstance(token, str) and hmac.compare_digest(token, session.csrf)
