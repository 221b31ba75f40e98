"""The jobs table of a datajoint 0.14 schema: one ``~jobs`` per schema, shared with 0.14 workers.

0.14 keys a job by the target's table name and the MD5 of its key's values (``key_hash``)
and keeps only jobs in progress or failed: a row is ``reserved``, ``error`` or
``ignore``, and a key without a row is available. A worker reserves a key by inserting
its row (the insert that succeeds owns the job) and completes it by deleting the row.
typedj workers do the same, so typedj and 0.14 workers share the queue.

What 0.14's layout cannot hold is not kept: there is no ``pending`` state (``refresh``
adds nothing; a key is available when it has no row), no priorities or scheduled
times, no ``success`` rows (``keep_completed`` keeps nothing), and no reservation time
other than the row's timestamp.
"""

from __future__ import annotations

import hashlib
import os
import platform
from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any

from ..backend.connection import retrying
from ..codecs.blob import pack
from ..heading import Heading, TableDef
from ..legacy import JOBS_TABLE, jobs_table
from ..query.expression import UNKNOWN_LINEAGE, Query, TableNode
from .jobs import DEFAULT_RESERVATION_TIMEOUT, Jobs, log, truncate_message

STATUSES = ("reserved", "error", "ignore")


def key_hash(key: Mapping[str, Any]) -> str:
    """0.14's job key hash: the MD5 of the key's values (as text), ordered by attribute name."""
    h = hashlib.md5(usedforsecurity=False)
    for _, value in sorted(key.items()):
        h.update(str(value).encode())
    return h.hexdigest()


def _typed(table: TableDef) -> TableDef:
    """``~jobs`` with its ``key`` and ``error_stack`` read as blobs, as 0.14 reads them."""
    attrs = tuple(replace(a, type_name="<blob>") if a.name in {"key", "error_stack"} else a
                  for a in table.heading)
    return replace(table, heading=Heading(attrs))


class LegacyJobs(Jobs):
    """``Table.jobs`` of a table in a datajoint 0.14 schema: its rows of the schema's ``~jobs``.

    A job handle (what ``key_params`` returns) is ``[key_hash, key]``.
    """

    def __init__(self, target: Any):
        self.target = target
        self.target_def: TableDef = target._def
        self.schema = self.target_def.schema
        self.connection = target._schema.connection
        self.definition = _typed(jobs_table(self.schema))
        self.table_name = JOBS_TABLE
        self.target_name = self.target_def.name
        self.key_names = list(self.target_def.heading.primary_key)
        heading = self.definition.heading
        node = TableNode(self.schema, JOBS_TABLE,
                         heading.with_lineage({a.name: UNKNOWN_LINEAGE for a in heading}), self.connection)
        self._all: Query[dict[str, Any]] = Query(node)
        d = self.connection.dialect
        self._sql_table = d.table(self.schema, JOBS_TABLE)
        self._mine = f"{d.quote('table_name')} = {d.placeholder}"
        self._declared = False
        self._user = None
        self._session_id: tuple[int, int] | None = None

    def __repr__(self) -> str:
        return f"LegacyJobs({self.schema}.{JOBS_TABLE}, {self.target_name})"

    def declare(self) -> None:
        """Create ``~jobs`` as 0.14 declares it, unless it exists."""
        if self._declared:
            return
        conn = self.connection
        schema = conn.schemas.get(self.schema)
        if schema is None or JOBS_TABLE not in schema.tables:
            for sql in conn.dialect.create_table(jobs_table(self.schema)):
                conn.query(sql)
            if schema is not None:
                schema.tables[JOBS_TABLE] = self.definition
        self._declared = True

    def drop(self) -> None:
        """Delete this table's jobs (``~jobs`` is shared by the schema's tables; it stays)."""
        self.delete()

    @property
    def query(self) -> Query[dict[str, Any]]:
        """This table's job rows."""
        self.declare()
        return self._all & {"table_name": self.target_name}

    @property
    def pending(self) -> Query[dict[str, Any]]:
        """Always empty: in 0.14's layout an available key has no row."""
        return self.query & "FALSE"

    @property
    def completed(self) -> Query[dict[str, Any]]:
        """Always empty: 0.14's layout keeps no completed jobs."""
        return self.query & "FALSE"

    def progress(self) -> dict[str, int]:
        """Rows per status, and ``total``."""
        counts = dict.fromkeys(STATUSES, 0)
        q = self.connection.dialect.quote
        rows = self.connection.query(
            f"SELECT {q('status')}, COUNT(*) FROM {self._table()} WHERE {self._mine} GROUP BY {q('status')}",
            [self.target_name],
        ).fetchall()
        for status, n in rows:
            counts[str(status)] = int(n)
        counts["total"] = sum(counts.values())
        return counts

    def refresh(self, todo: Query[Any], *, priority: int = 0, delay: float = 0) -> int:
        """Nothing to add: 0.14's layout has no pending rows."""
        return 0

    def available(self, todo: Query[Any]) -> list[dict[str, Any]]:
        """The keys of ``todo`` that no worker holds, has failed or ignores, in key order."""
        keys = todo.keys(order_by="KEY")
        q = self.connection.dialect.quote
        taken = {str(r[0]) for r in self.connection.query(
            f"SELECT {q('key_hash')} FROM {self._table()} WHERE {self._mine}", [self.target_name]
        ).fetchall()}
        return [k for k in keys if key_hash(k) not in taken]

    def recover(self, timeout: float | None = None) -> int:
        """Free the reservations of dead workers (their rows are deleted, as 0.14 completes)."""
        conn = self.connection
        d = conn.dialect
        q = d.quote
        reserved = conn.query(
            f"SELECT DISTINCT {q('connection_id')} FROM {self._table()} "
            f"WHERE {self._mine} AND {q('status')} = 'reserved'", [self.target_name],
        ).fetchall()
        live = conn.catalog.live_sessions() if reserved else set()
        count = 0
        base = f"DELETE FROM {self._table()} WHERE {self._mine} AND {q('status')} = 'reserved'"
        if live is not None:
            dead = [int(r[0]) for r in reserved if int(r[0]) and int(r[0]) not in live]
            if dead:
                marks = ", ".join([d.placeholder] * len(dead))
                count += int(conn.query(f"{base} AND {q('connection_id')} IN ({marks})",
                                        [self.target_name, *dead]).rowcount)
        if timeout is None and live is None:
            timeout = DEFAULT_RESERVATION_TIMEOUT
        if timeout is not None:
            count += int(conn.query(f"{base} AND {q('timestamp')} < {d.seconds_ago()}",
                                    [self.target_name, timeout]).rowcount)
        if count:
            log.warning("%s: %d reservation(s) of dead workers freed", self.target_name, count)
        return count

    # -- one job's life ----------------------------------------------------------

    def key_params(self, key: Mapping[str, Any]) -> list[Any]:
        """The job handle of ``key``: ``[key_hash, key]``."""
        job = {n: key[n] for n in self.key_names}
        return [key_hash(job), job]

    def _session(self) -> int:
        if self._session_id is None or self._session_id[0] != os.getpid():
            d = self.connection.dialect
            value = self.connection.query(f"SELECT {d.session_id()}").fetchone()[0]
            self._session_id = (os.getpid(), int(value or 0))
        return self._session_id[1]

    def _row(self, status: str, params: Sequence[Any]) -> tuple[list[str], list[Any]]:
        columns = ["table_name", "key_hash", "status", "key", "host", "pid", "connection_id", "user"]
        values = [self.target_name, params[0], status, pack(dict(params[1])), platform.node()[:255],
                  os.getpid(), self._session(), self._session_user()[:255]]
        return columns, values

    def reserve(self, params: Sequence[Any], version: str = "") -> bool:
        """Reserve the job by inserting its row; True only if this worker's insert made it."""
        columns, values = self._row("reserved", params)
        sql = self.connection.dialect.insert(self.schema, JOBS_TABLE, columns, skip_duplicates=True)
        self.declare()
        return int(self.connection.query(sql, values).rowcount) == 1

    def reserve_many(self, keys: Sequence[Mapping[str, Any]], version: str = "") -> list[int]:
        """Reserve each key as 0.14 does, one insert each; the positions of those now owned."""
        return [i for i, k in enumerate(keys) if self.reserve(self.key_params(k), version)]

    def pending_among(self, keys: Sequence[Mapping[str, Any]]) -> list[int]:
        """All of them: 0.14 keeps no pending rows (a key without a row is free to reserve)."""
        return list(range(len(keys)))

    def complete_many(self, jobs: Sequence[Sequence[Any]]) -> int:
        """Delete the reservations of jobs whose make has committed: one statement for a batch."""
        if not jobs:
            return 0
        d = self.connection.dialect
        sql = (f"DELETE FROM {self._table()} WHERE {self._mine} AND {d.quote('status')} = 'reserved' "
               f"AND {d.quote('key_hash')} IN ({d.params(len(jobs))})")
        args = [self.target_name, *(j[0] for j in jobs)]
        return int(retrying(lambda: self.connection.query(sql, args)).rowcount)

    def complete(self, params: Sequence[Any], *, duration: float | None = None, keep: bool = False) -> None:
        """The job succeeded: delete its row (0.14 keeps no completed jobs)."""
        q = self.connection.dialect.quote
        p = self.connection.dialect.placeholder
        self.connection.query(f"DELETE FROM {self._table()} WHERE {self._mine} AND {q('key_hash')} = {p}",
                              [self.target_name, params[0]])

    def error(
        self, params: Sequence[Any], message: str, stack: str, *, duration: float | None = None
    ) -> None:
        """Replace the reservation with an error row (message truncated as 0.14 truncates it)."""
        d = self.connection.dialect
        columns, values = self._row("error", params)
        columns += ["error_message", "error_stack"]
        values += [truncate_message(message), pack(stack)]
        self.connection.query(d.insert(self.schema, JOBS_TABLE, columns, replace=True), values)

    def release(self, params: Sequence[Any]) -> bool:
        """Give back a job this process reserved (after an interruption); True if it did."""
        d = self.connection.dialect
        q, p = d.quote, d.placeholder
        sql = (f"DELETE FROM {self._table()} WHERE {self._mine} AND {q('key_hash')} = {p} "
               f"AND {q('status')} = 'reserved' AND {q('host')} = {p} AND {q('pid')} = {p}")
        args = [self.target_name, params[0], platform.node()[:255], os.getpid()]
        return int(self.connection.query(sql, args).rowcount) == 1

    # -- managing errors and keys ----------------------------------------------------

    def retry(self, *restrictions: Any) -> int:
        """Make failed jobs available again (0.14: their rows are deleted); how many."""
        where, params = self._where(restrictions, "error")
        return int(self.connection.query(f"DELETE FROM {self._table()} WHERE {where}", params).rowcount)

    def ignore(self, *keys: Mapping[str, Any]) -> int:
        """Mark keys to be skipped by every worker, typedj's and 0.14's."""
        d = self.connection.dialect
        q, p = d.quote, d.placeholder
        changed = 0
        for key in keys:
            params = self.key_params(key)
            n = int(self.connection.query(
                f"UPDATE {self._table()} SET {q('status')} = 'ignore' WHERE {self._mine} "
                f"AND {q('key_hash')} = {p} AND {q('status')} <> 'reserved'", [self.target_name, params[0]],
            ).rowcount)
            if n == 0:
                columns, values = self._row("ignore", params)
                n = int(self.connection.query(
                    d.insert(self.schema, JOBS_TABLE, columns, skip_duplicates=True), values).rowcount)
            changed += max(n, 0)
        return changed

    def delete(self, *restrictions: Any, status: str | None = None) -> int:
        """Delete this table's job rows (those matching ``restrictions`` and ``status``); how many."""
        if status is not None and status not in STATUSES:
            raise ValueError(f"status is one of {STATUSES}, not {status!r}")
        where, params = self._where(restrictions, status)
        return int(self.connection.query(f"DELETE FROM {self._table()} WHERE {where}", params).rowcount)
