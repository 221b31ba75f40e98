"""The jobs table of an auto-populated table: the one queue every worker shares.

``~~x`` beside ``_x`` or ``__x``, declared exactly as datajoint-python declares it, so
typedj and datajoint-python workers reserve from the same rows. Every change of state
is one statement; a worker owns a job only when its reserving UPDATE changed one row.
"""

from __future__ import annotations

import datetime
import logging
import os
import platform
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from .. import codecs
from ..backend.connection import retrying
from ..errors import DuplicateError, QueryError, TypedjError
from ..heading import Attribute, Heading, IndexDef, TableDef
from ..query.condition import AndList
from ..query.expression import UNKNOWN_LINEAGE, Query, TableNode
from ..types import CURRENT_TIMESTAMP

if TYPE_CHECKING:
    from ..backend.connection import Connection

log = logging.getLogger("typedj")

STATUSES = ("pending", "reserved", "success", "error", "ignore")
ERROR_MESSAGE_LENGTH = 2047
DEFAULT_PRIORITY = 5
DEFAULT_RESERVATION_TIMEOUT = 24 * 3600.0
"""Seconds after which a reservation counts as dead where the server cannot say."""
_TRUNCATED = "...truncated"
_BATCH = 5000


def jobs_table_name(table: str) -> str:
    """``__spike_sort`` -> ``~~spike_sort``."""
    return "~~" + table.lstrip("_")


def _key_attribute(attr: Attribute) -> Attribute:
    """A job key column: the target column's type, declared as datajoint-python re-reads it."""
    if attr.core:
        type_name, core = attr.type_name, True
    else:
        type_name, core = attr.sql_type, attr.type.core_spelled
    return Attribute(name=attr.name, type_name=type_name, sql_type=attr.sql_type, in_key=True, core=core,
                     python_type=attr.python_type)


def _column(name: str, type_name: str, sql_type: str, **options: Any) -> Attribute:
    return Attribute(name=name, type_name=type_name, sql_type=sql_type, **options)


_MESSAGE_TYPE = f"varchar({ERROR_MESSAGE_LENGTH})"
_STATUS_TYPE = "enum(" + ", ".join(f"'{s}'" for s in STATUSES) + ")"

_COLUMNS = (
    _column("status", _STATUS_TYPE, _STATUS_TYPE.replace(", ", ",")),
    _column("priority", "int8", "tinyint"),
    _column("created_time", "datetime(3)", "datetime(3)", default=CURRENT_TIMESTAMP),
    _column("scheduled_time", "datetime(3)", "datetime(3)", default=CURRENT_TIMESTAMP),
    _column("reserved_time", "datetime(3)", "datetime(3)", nullable=True, default=None),
    _column("completed_time", "datetime(3)", "datetime(3)", nullable=True, default=None),
    _column("duration", "float64", "double", nullable=True, default=None),
    _column("error_message", _MESSAGE_TYPE, _MESSAGE_TYPE, default=""),
    _column("error_stack", "<blob>", "longblob", nullable=True, default=None),
    _column("user", "varchar(255)", "varchar(255)", default=""),
    _column("host", "varchar(255)", "varchar(255)", default=""),
    _column("pid", "int32", "int", default=0),
    _column("connection_id", "int64", "bigint", default=0),
    _column("version", "varchar(64)", "varchar(64)", default=""),
)


def job_key(target: TableDef) -> list[Attribute]:
    """The target's primary-key attributes that come from its primary-key parents."""
    inherited = {a for fk in target.foreign_keys if fk.in_key for a in fk.attr_map}
    return [target.heading[n] for n in target.heading.primary_key if n in inherited]


def jobs_definition(target: TableDef, full_name: str) -> TableDef:
    """The ``~~x`` table of ``target``, column for column as datajoint-python declares it;
    ``full_name`` is the target's name as the server quotes it (the table comment has it)."""
    key = job_key(target)
    if not key:
        raise TypedjError(
            f"{target.name} has no foreign keys in its primary key, so it has no jobs table; "
            "populate it without reserve_jobs",
            table=target.name,
        )
    return TableDef(
        schema=target.schema,
        name=jobs_table_name(target.name),
        heading=Heading.of([*(_key_attribute(a) for a in key), *_COLUMNS]),
        comment=f"Job queue for {full_name}",
        indexes=(IndexDef(("status", "priority", "scheduled_time")),),
    )


def truncate_message(message: str) -> str:
    if len(message) <= ERROR_MESSAGE_LENGTH:
        return message
    return message[: ERROR_MESSAGE_LENGTH - len(_TRUNCATED)] + _TRUNCATED


class Jobs:
    """The jobs table of one Imported or Computed table (``Table.jobs``).

    Queries: ``pending``, ``reserved``, ``errors``, ``ignored``, ``completed`` (and the
    object itself is the query of every job). Changes: ``refresh`` adds pending jobs,
    ``recover`` returns reservations of dead workers to pending, ``retry`` re-queues
    errors, ``ignore`` marks keys to skip, ``delete`` removes rows.
    """

    def __init__(self, target: Any):
        self.target = target
        target_def: TableDef = target._def
        self.target_def = target_def
        self.connection: Connection = target._schema.connection
        d = self.connection.dialect
        full_name = f"{d.quote(target_def.schema)}.{d.quote(target_def.name)}"
        self.definition = jobs_definition(target_def, full_name)
        self.schema = target_def.schema
        self.table_name = self.definition.name
        heading = self.definition.heading
        self.key_names = heading.primary_key
        self._node = TableNode(
            self.schema, self.table_name,
            heading.with_lineage({a.name: UNKNOWN_LINEAGE for a in heading}), self.connection,
        )
        d = self.connection.dialect
        self._sql_table: str = d.table(self.schema, self.table_name)
        self._where_key = " AND ".join(f"{d.quote(n)} = {d.placeholder}" for n in self.key_names)
        ctx = codecs.Context(self.schema, self.table_name, self.connection)
        self._encoders = [codecs.encoder(heading[n], ctx) for n in self.key_names]
        self._stack_encoder = codecs.encoder(heading["error_stack"], ctx)
        self._declared = False
        self._user: tuple[int, str] | None = None

    def __repr__(self) -> str:
        return f"Jobs({self.schema}.{self.table_name})"

    # -- the table ---------------------------------------------------------------

    def declare(self) -> None:
        """Create the table (and its ``~lineage`` rows) unless it exists."""
        if self._declared:
            return
        conn = self.connection
        schema = conn.schemas.get(self.schema)
        if schema is not None and self.table_name not in schema.tables:
            schema.reload()  # another worker may have made it; creating needs a write lock on SQLite
        if schema is None or self.table_name not in schema.tables:
            try:
                self._create()
            except DuplicateError:  # PostgreSQL: another worker's CREATE ... IF NOT EXISTS won the race
                self._create()
            lineage = {n: f"{self.schema}.{self.table_name}.{n}" for n in self.key_names}
            if schema is not None and schema.has_lineage:
                d = conn.dialect

                lineage_table = d.table(self.schema, "~lineage")

                def write() -> None:  # workers starting together all declare: InnoDB may pick a victim
                    with conn.transaction():
                        where = f"WHERE table_name = {d.placeholder}"
                        conn.query(f"DELETE FROM {lineage_table} {where}", (self.table_name,))
                        conn.executemany(
                            d.insert(self.schema, "~lineage", ["table_name", "attribute_name", "lineage"]),
                            [(self.table_name, n, origin) for n, origin in lineage.items()],
                        )

                retrying(write)
                schema.lineage[self.table_name] = lineage
            if schema is not None:
                schema.tables[self.table_name] = self.definition
        self._declared = True

    def _create(self) -> None:
        for sql in self.connection.dialect.create_table(self.definition):
            self.connection.query(sql)

    def drop(self) -> None:
        """Drop the jobs table (it is created again when next needed)."""
        conn = self.connection
        conn.query(conn.dialect.drop_table(self.schema, self.table_name))
        schema = conn.schemas.get(self.schema)
        if schema is not None:
            schema.tables.pop(self.table_name, None)
        self._declared = False

    # -- queries -----------------------------------------------------------------

    @property
    def query(self) -> Query[dict[str, Any]]:
        """Every job row; restrict it like any query."""
        self.declare()
        return Query(self._node)

    def _status(self, status: str) -> Query[dict[str, Any]]:
        return self.query & {"status": status}

    @property
    def pending(self) -> Query[dict[str, Any]]:
        """The jobs waiting for a worker."""
        return self._status("pending")

    @property
    def reserved(self) -> Query[dict[str, Any]]:
        """The jobs a worker is running now."""
        return self._status("reserved")

    @property
    def errors(self) -> Query[dict[str, Any]]:
        """Failed jobs with ``error_message`` and ``error_stack`` (the traceback)."""
        return self._status("error")

    @property
    def ignored(self) -> Query[dict[str, Any]]:
        """The jobs marked to be skipped."""
        return self._status("ignore")

    @property
    def completed(self) -> Query[dict[str, Any]]:
        """The jobs kept as completed (when completed jobs are kept)."""
        return self._status("success")

    def progress(self) -> dict[str, int]:
        """Rows per status, and ``total``."""
        counts = dict.fromkeys(STATUSES, 0)
        rows = self.connection.query(
            f"SELECT {self.connection.dialect.quote('status')}, COUNT(*) FROM {self._table()} "
            f"GROUP BY {self.connection.dialect.quote('status')}"
        ).fetchall()
        for status, n in rows:
            counts[str(status)] = int(n)
        counts["total"] = sum(counts.values())
        return counts

    def _table(self) -> str:
        self.declare()
        return self._sql_table

    # -- adding and recovering -----------------------------------------------------

    def refresh(self, todo: Query[Any], *, priority: int = DEFAULT_PRIORITY, delay: float = 0) -> int:
        """Add a pending job for every key of ``todo`` that has none; one batch statement.

        ``todo`` is the key source (restricted) minus the rows already made. Returns the
        number of jobs added. Other workers may add the same keys at the same time:
        duplicates are skipped.
        """
        if not -128 <= priority <= 127:
            raise ValueError(f"priority must be an int8 (-128..127), got {priority}")
        missing = [n for n in self.key_names if n not in todo.primary_key]
        if missing or len(todo.primary_key) != len(self.key_names):
            raise QueryError(
                f"{self.target.__name__}: with reserve_jobs the key source's primary key "
                f"{todo.primary_key} must be the jobs table's key {self.key_names}",
                table=self.table_name,
            )
        from ..query.fetch import statement

        conn = self.connection
        new = todo.proj() - self.query
        sql, params, _ = statement(new, self.key_names)
        def add() -> int:
            with conn.transaction():  # one write: on SQLite no job completes between reading and adding
                return self._add(sql, params, priority, delay)

        return retrying(add)

    def _add(self, sql: str, params: Sequence[Any], priority: int, delay: float) -> int:
        conn = self.connection
        keys = conn.query(sql, params).fetchall()
        if not keys:
            return 0
        columns = [*self.key_names, "status", "priority"]
        extra: tuple[Any, ...] = ("pending", priority)
        if delay:
            now = conn.query(f"SELECT {conn.dialect.now()}").fetchone()[0]
            if isinstance(now, str):  # SQLite keeps times as ISO text
                now = datetime.datetime.fromisoformat(now)
            columns.append("scheduled_time")
            extra += (now + datetime.timedelta(seconds=delay),)
        insert = conn.dialect.insert(self.schema, self.table_name, columns, skip_duplicates=True)
        added = 0
        for start in range(0, len(keys), _BATCH):
            rows = [(*k, *extra) for k in keys[start : start + _BATCH]]
            added += max(0, conn.executemany(insert, rows).rowcount)
        return added

    def recover(self, timeout: float | None = None) -> int:
        """Return the reservations of dead workers to pending; the number returned.

        A reservation is dead when its session is gone from the server. Reservations older
        than ``timeout`` seconds are taken as dead too; where the server cannot tell which
        sessions live (no privilege to see every session), ``timeout`` defaults to 24 hours.
        """
        conn = self.connection
        d = conn.dialect
        table = self._table()
        count = 0
        # Reservations first, sessions second: a session missing from the later list was
        # dead when its reservation was read (a worker that connected in between is not).
        reserved = conn.query(
            f"SELECT DISTINCT {d.quote('connection_id')} FROM {table} WHERE {d.quote('status')} = 'reserved'"
        ).fetchall()
        live = conn.catalog.live_sessions() if reserved else set()
        if live is not None:
            dead = [int(r[0]) for r in reserved if int(r[0]) and int(r[0]) not in live]
            if dead:
                marks = ", ".join([d.placeholder] * len(dead))
                count += self._release_where(f"{d.quote('connection_id')} IN ({marks})", dead)
        if timeout is None and live is None:
            timeout = DEFAULT_RESERVATION_TIMEOUT
        if timeout is not None:
            count += self._release_where(f"{d.quote('reserved_time')} < {d.seconds_ago()}", [timeout])
        if count:
            log.warning("%s: %d reservation(s) of dead workers returned to pending", self.table_name, count)
        return count

    def _release_where(self, condition: str, params: Sequence[Any]) -> int:
        d = self.connection.dialect
        sql = (
            f"UPDATE {self._table()} SET {d.quote('status')} = 'pending', {d.quote('reserved_time')} = NULL, "
            f"{d.quote('host')} = '', {d.quote('pid')} = 0, {d.quote('connection_id')} = 0, "
            f"{d.quote('user')} = '' WHERE {d.quote('status')} = 'reserved' AND {condition}"
        )
        return int(retrying(lambda: self.connection.query(sql, list(params))).rowcount)

    # -- one job's life ----------------------------------------------------------

    def key_params(self, key: Mapping[str, Any]) -> list[Any]:
        """The key's values as the server stores them, in key order."""
        out = []
        for name, encode in zip(self.key_names, self._encoders, strict=True):
            value = key[name]
            out.append(encode([value])[0] if encode is not None else value)
        return out

    def _session_user(self) -> str:
        if self._user is None or self._user[0] != os.getpid():
            self._user = (os.getpid(), self.connection.catalog.session_user())
        return str(self._user[1])

    def reserve(self, params: Sequence[Any], version: str = "") -> bool:
        """Take a pending job whose time has come; True only if this worker now owns it."""
        d = self.connection.dialect
        q = d.quote
        p = d.placeholder
        sql = (
            f"UPDATE {self._table()} SET {q('status')} = 'reserved', {q('host')} = {p}, {q('pid')} = {p}, "
            f"{q('connection_id')} = {d.session_id()}, {q('user')} = {p}, {q('version')} = {p}, "
            f"{q('reserved_time')} = {d.now()} WHERE {self._where_key} AND {q('status')} = 'pending' "
            f"AND {q('scheduled_time')} <= {d.now()}"
        )
        args = [platform.node(), os.getpid(), self._session_user(), version, *params]
        return retrying(lambda: int(self.connection.query(sql, args).rowcount) == 1)

    def reserve_many(self, keys: Sequence[Mapping[str, Any]], version: str = "") -> list[int]:
        """Reserve the pending jobs of ``keys`` in one statement; the positions of those now owned.

        One UPDATE takes every key of the batch still pending; it holds its row locks only
        while it runs (no round trip to the client in between), so many workers contending
        for the same keys do not queue behind each other. Each row changes state
        atomically, so two workers never own one key. When the UPDATE took all of the keys
        or none, that is the answer; when it took some, a SELECT asks which: the batch's
        rows reserved by this session, host and process at this UPDATE's time (its rows
        share one ``reserved_time``; an older reservation of this session has an earlier
        one). Where the dialect spells ``reserve_returning`` (PostgreSQL), the UPDATE passes
        over rows other sessions hold locked and names the rows it took itself.
        """
        if not keys:
            return []
        conn = self.connection
        d = conn.dialect
        q, p = d.quote, d.placeholder
        names = self.key_names
        width = len(names)
        lhs = q(names[0]) if width == 1 else "(" + ", ".join(q(n) for n in names) + ")"
        row = p if width == 1 else "(" + ", ".join([p] * width) + ")"
        sets = (f"{q('status')} = 'reserved', {q('host')} = {p}, {q('pid')} = {p}, "
                f"{q('connection_id')} = {d.session_id()}, {q('user')} = {p}, {q('version')} = {p}, "
                f"{q('reserved_time')} = {d.now()}")
        where = (f"{q('status')} = 'pending' AND {q('scheduled_time')} <= {d.now()} "
                 f"AND {d.in_rows(lhs, row, len(keys))}")
        host, pid = platform.node(), os.getpid()
        params = [tuple(self.key_params(k)) for k in keys]
        args = [host, pid, self._session_user(), version, *(v for k in params for v in k)]
        returning = d.reserve_returning(self._table(), sets, where, names)
        if returning is not None:  # the server names the rows it reserved
            rows = retrying(lambda: conn.query(returning, args).fetchall())
            ours = {tuple(r) for r in rows}
            return [i for i, k in enumerate(params) if k in ours]
        sql = f"UPDATE {self._table()} SET {sets} WHERE {where}"
        taken = retrying(lambda: int(conn.query(sql, args).rowcount))
        if taken >= len(keys):
            return list(range(len(keys)))
        if taken <= 0:
            return []
        wanted = [{n: k[n] for n in names} for k in keys]
        mine = (
            self.query
            & {"status": "reserved", "host": host, "pid": pid}
            & f"`connection_id` = {d.session_id()}"  # restriction text: DataJoint's quoting
            & wanted
        )
        rows = mine.proj("reserved_time").to_dicts()
        latest = max(r["reserved_time"] for r in rows)
        owned = {tuple(r[n] for n in names) for r in rows if r["reserved_time"] == latest}
        if len(owned) != taken:  # an older reservation of this session in the same millisecond
            log.warning("%s: reserved %d jobs, %d match this reservation", self.table_name, taken, len(owned))
        return [i for i, k in enumerate(wanted) if tuple(k[n] for n in names) in owned]

    def pending_among(self, keys: Sequence[Mapping[str, Any]]) -> list[int]:
        """Positions of ``keys`` whose jobs are pending now (a plain read: a hint, not a claim)."""
        if not keys:
            return []
        names = self.key_names
        d = self.connection.dialect
        wanted = [{n: k[n] for n in names} for k in keys]
        found = self.pending & f"`scheduled_time` <= {d.now()}" & wanted
        free = {tuple(r[n] for n in names) for r in found.keys()}
        return [i for i, k in enumerate(wanted) if tuple(k[n] for n in names) in free]

    def complete(self, params: Sequence[Any], *, duration: float | None = None, keep: bool = False) -> None:
        """The job succeeded: delete its row, or with ``keep`` mark it ``success``."""
        d = self.connection.dialect
        if keep:
            sql = (
                f"UPDATE {self._table()} SET {d.quote('status')} = 'success', "
                f"{d.quote('completed_time')} = {d.now()}, {d.quote('duration')} = {d.placeholder} "
                f"WHERE {self._where_key}"
            )
            self.connection.query(sql, [duration, *params])
        else:
            self.connection.query(f"DELETE FROM {self._table()} WHERE {self._where_key}", list(params))

    def complete_many(self, jobs: Sequence[Sequence[Any]]) -> int:
        """Delete the reserved rows of jobs whose make has committed: one statement for a batch."""
        if not jobs:
            return 0
        d = self.connection.dialect
        q, p = d.quote, d.placeholder
        width = len(self.key_names)
        lhs = q(self.key_names[0]) if width == 1 else "(" + ", ".join(q(n) for n in self.key_names) + ")"
        row = p if width == 1 else "(" + ", ".join([p] * width) + ")"
        sql = (
            f"DELETE FROM {self._table()} WHERE {q('status')} = 'reserved' "
            f"AND {d.in_rows(lhs, row, len(jobs))}"
        )
        return int(retrying(lambda: self.connection.query(sql, [v for job in jobs for v in job])).rowcount)

    def error(
        self, params: Sequence[Any], message: str, stack: str, *, duration: float | None = None
    ) -> None:
        """Record a failure: the message (truncated to 2047 characters) and the traceback."""
        d = self.connection.dialect
        q = d.quote
        p = d.placeholder
        blob = self._stack_encoder([stack])[0] if self._stack_encoder else stack
        sql = (
            f"UPDATE {self._table()} SET {q('status')} = 'error', {q('completed_time')} = {d.now()}, "
            f"{q('duration')} = {p}, {q('error_message')} = {p}, {q('error_stack')} = {p} "
            f"WHERE {self._where_key}"
        )
        message = truncate_message(message)
        if int(self.connection.query(sql, [duration, message, blob, *params]).rowcount) == 0:
            columns = [*self.key_names, "status", "priority", "error_message", "error_stack"]
            self.connection.query(
                d.insert(self.schema, self.table_name, columns, skip_duplicates=True),
                [*params, "error", DEFAULT_PRIORITY, message, blob],
            )

    def release(self, params: Sequence[Any]) -> bool:
        """Give back a job this process reserved (after an interruption); True if it did."""
        d = self.connection.dialect
        p = d.placeholder
        condition = f"{self._where_key} AND {d.quote('host')} = {p} AND {d.quote('pid')} = {p}"
        return self._release_where(condition, [*params, platform.node(), os.getpid()]) == 1

    # -- managing errors and keys ----------------------------------------------------

    def _update(self, sets: str, restrictions: Sequence[Any], status: str | None) -> int:
        where, params = self._where(restrictions, status)
        sql = f"UPDATE {self._table()} SET {sets} WHERE {where}"
        return int(self.connection.query(sql, params).rowcount)

    def _where(self, restrictions: Sequence[Any], status: str | None) -> tuple[str, list[Any]]:
        from ..query.compiler import Compiler

        query = self.query
        if status is not None:
            query = query & {"status": status}
        if restrictions:
            query = query & AndList(restrictions)
        c = Compiler(self.connection.dialect)
        select = query._node.compile(c)
        if len(select.items) != 1 or select.closed:
            raise QueryError(f"{self.table_name}: restrict jobs by conditions on the jobs table's attributes")
        return " AND ".join(select.where) or "TRUE", select.params()

    def retry(self, *restrictions: Any) -> int:
        """Put failed jobs (those matching ``restrictions``) back in the queue; how many."""
        d = self.connection.dialect
        q = d.quote
        sets = (
            f"{q('status')} = 'pending', {q('error_message')} = '', {q('error_stack')} = NULL, "
            f"{q('reserved_time')} = NULL, {q('completed_time')} = NULL, {q('duration')} = NULL, "
            f"{q('scheduled_time')} = {d.now()}"
        )
        return self._update(sets, restrictions, "error")

    def ignore(self, *keys: Mapping[str, Any]) -> int:
        """Mark keys to be skipped by every worker (adding rows for keys without one)."""
        d = self.connection.dialect
        q = d.quote
        changed = 0
        sql = (
            f"UPDATE {self._table()} SET {q('status')} = 'ignore' "
            f"WHERE {self._where_key} AND {q('status')} <> 'reserved'"
        )
        insert = d.insert(self.schema, self.table_name, [*self.key_names, "status", "priority"],
                          skip_duplicates=True)
        for key in keys:
            params = self.key_params(key)
            n = int(self.connection.query(sql, params).rowcount)
            if n == 0:
                n = int(self.connection.query(insert, [*params, "ignore", DEFAULT_PRIORITY]).rowcount)
            changed += max(n, 0)
        return changed

    def delete(self, *restrictions: Any, status: str | None = None) -> int:
        """Delete job rows (those matching ``restrictions`` and ``status``); how many."""
        if status is not None and status not in STATUSES:
            raise ValueError(f"status is one of {STATUSES}, not {status!r}")
        where, params = self._where(restrictions, status)
        return int(self.connection.query(f"DELETE FROM {self._table()} WHERE {where}", params).rowcount)
