"""typedj's errors and warnings: a small hierarchy that carries the table and attribute names.

Warnings are ``warnings`` categories, so users filter or escalate them the standard way
(``-W error::typedj.DriftWarning``, ``filterwarnings`` in pytest); ``warn`` attributes each
to the user's line that led to it.
"""

from __future__ import annotations

import os
import sys
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any


class TypedjError(Exception):
    """Base of every error typedj raises.

    Errors that come from the server also carry ``code`` (the server's error number, or
    SQLite's result code name), ``server_message`` (its text) and ``sql`` (the statement,
    without its parameters); the driver's exception is chained as ``__cause__``.
    """

    def __init__(
        self,
        message: str,
        *,
        table: str | None = None,
        attribute: str | None = None,
        sql: str | None = None,
        server_message: str | None = None,
        code: int | str | None = None,
    ):
        super().__init__(message)
        self.table = table
        self.attribute = attribute
        self.sql = sql
        self.server_message = server_message
        self.code = code


class DeclarationError(TypedjError):
    """A table class cannot be turned into a table, or disagrees with the existing one."""


class NotDeclaredError(DeclarationError, AttributeError):
    """A table class used before ``@schema`` declared it (never decorated, or waiting for a
    referenced class); an ``AttributeError`` too, so ``hasattr`` and ``getattr`` with a
    default keep working."""


class ConfigError(TypedjError):
    """The configuration is missing or malformed."""


class ConnectionLostError(TypedjError):
    """The server connection dropped inside a transaction (the server rolled the work
    back), or while a result was read, or again right after typedj reconnected."""


class UnreachableError(TypedjError, ConnectionError):
    """The database could not be reached: no server at the address, or a file that cannot be opened.

    A ``ConnectionError`` too, so code that retries on network failures treats it as one.
    """


class TypedjWarning(UserWarning):
    """Base of every warning typedj issues: ``warnings.simplefilter("error", tj.TypedjWarning)``
    (or ``pytest -W error::typedj.TypedjWarning``) escalates them all to exceptions."""


class DeclarationPendingWarning(TypedjWarning):
    """A decorated class waits for a referenced class that is not declared yet.

    Its table is created as soon as that class is declared; until then queries on it
    raise ``DeclarationError``. Filter this warning for deliberate forward references.
    """


class DriftWarning(TypedjWarning):
    """A class differs from its existing table and, with ``allow_drift=True`` (or inside
    ``drift.tolerated()``), was bound to the table as it is; ``schema.diff()`` shows how.
    Escalate it where a pipeline must run only on tables that match their classes."""


class EmbeddedFallbackWarning(TypedjWarning):
    """No database is configured, so typedj uses the embedded SQLite file ``typedj.db`` in
    the working directory. Escalate it where a server is expected (a lab's workers)."""


class ConfigWarning(TypedjWarning):
    """A setting (an environment variable or a pyproject.toml entry) is malformed and was
    ignored, keeping the value in force; importing typedj never fails on a setting."""


class IncompleteDatasetWarning(TypedjWarning):
    """An exported dataset lacks an optional part: the typedj source of a schema (a type
    code generation cannot spell) or the diagram (graphviz is missing)."""


_PACKAGE = os.path.dirname(os.path.abspath(__file__)) + os.sep


def warn(message: str, category: type[TypedjWarning]) -> None:
    """Issue ``message`` as ``category``, attributed to the nearest caller outside typedj,
    so filters by module and escalated warnings point at the user's code."""
    frame = sys._getframe(1)
    level = 2
    while frame.f_back is not None and frame.f_code.co_filename.startswith(_PACKAGE):
        frame = frame.f_back
        level += 1
    warnings.warn(message, category, stacklevel=level)


class DeadlockError(TypedjError):
    """The server rolled the transaction back to break a deadlock or a lock wait.

    Nothing of the transaction remains, so running it again is safe; ``populate`` does.
    """


class MissingTableError(TypedjError):
    """A table or schema that should exist does not."""


class UnknownAttributeError(TypedjError, KeyError):
    """An attribute name that the table or query does not have."""

    def __str__(self) -> str:
        return str(self.args[0])


class AccessError(TypedjError):
    """The server refused the login (wrong user or password) or an operation for lack of
    privileges; ``login`` tells which."""

    def __init__(self, message: str, *, login: bool = False, **where: Any):
        super().__init__(message, **where)
        self.login = login


class IntegrityError(TypedjError):
    """A foreign key or other constraint refused a change."""


class DuplicateError(IntegrityError):
    """A row with the same primary key (or unique index value) already exists."""


class ServerError(TypedjError):
    """The server refused a statement for a reason without a finer type here (see
    ``code``, ``server_message`` and ``sql``)."""


class QueryError(TypedjError):
    """A query cannot be formed: incompatible operands, bad arguments, or SQL the server
    cannot parse or run (then ``sql`` and ``server_message`` say which and why)."""


class QueryInterruptedError(TypedjError):
    """The server stopped a running statement (``KILL QUERY``, a statement time limit, an
    interrupted SQLite call); the connection stays usable."""


class FetchError(TypedjError):
    """A fetch found a different number of rows than required, or undecodable data."""


@dataclass(frozen=True)
class Problem:
    """One reason one row was refused."""

    row: int
    attribute: str | None
    message: str
    value: object = None

    def __str__(self) -> str:
        where = f"row {self.row}"
        if self.attribute:
            where += f", attribute {self.attribute!r}"
        return f"{where}: {self.message}"


class ValidationError(TypedjError, ValueError):
    """Rows refused before anything was written; ``problems`` lists every reason."""

    def __init__(self, table: str, problems: Sequence[Problem]):
        self.problems = list(problems)
        shown = "\n  ".join(str(p) for p in self.problems[:50])
        more = f"\n  ... and {len(self.problems) - 50} more" if len(self.problems) > 50 else ""
        count = len({p.row for p in self.problems})
        super().__init__(
            f"{table}: {count} row(s) refused, nothing was written:\n  {shown}{more}",
            table=table,
            attribute=self.problems[0].attribute if self.problems else None,
        )


class StoreError(TypedjError):
    """An object store is misconfigured or unreachable, or an object is missing or corrupt."""


class MissingObjectError(StoreError):
    """A referenced object is not in its store."""


class CorruptObjectError(StoreError):
    """An object's content does not match the checksum recorded with its reference."""


class MissingDependencyError(ConfigError):
    """An optional package that a feature needs is not installed; the message names the extra."""


class ConflictError(IntegrityError):
    """An imported row has the key of an existing row but different content; nothing was written."""

    def __init__(self, message: str, *, table: str, key: dict[str, object]):
        super().__init__(message, table=table)
        self.key = key


class DatasetError(TypedjError):
    """A dataset cannot be exported, read or imported as asked (see the message)."""


class VerificationError(DatasetError):
    """A dataset's files do not match its manifest; ``problems`` names each file."""

    def __init__(self, path: str, problems: Sequence[str]):
        self.problems = list(problems)
        shown = "\n  ".join(self.problems[:50])
        more = f"\n  ... and {len(self.problems) - 50} more" if len(self.problems) > 50 else ""
        super().__init__(f"{path}: {len(self.problems)} problem(s) against the manifest:\n  {shown}{more}")
