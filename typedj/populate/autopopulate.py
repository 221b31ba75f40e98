"""The make() contract: each key's rows are written in one transaction, or not at all.

What a populate run is made of: the key source and the keys still to make, the result,
and ``Maker``, which runs one key: the plain ``make(key)`` inside a
transaction, or the three-part form (``make_fetch`` and ``make_compute`` outside it,
``make_insert`` inside it after the inputs are fetched again and found unchanged).
``surface.AutoPopulate`` gives Imported and Computed tables ``populate()`` over these.
"""

from __future__ import annotations

import inspect
import time
import traceback
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar, NamedTuple

from ..backend.connection import retrying
from ..binding import load_schema
from ..config import config
from ..errors import ConnectionLostError, DeadlockError, DuplicateError, QueryError, TypedjError
from ..query.condition import AndList
from ..query.expression import Query, as_node
from ..types import KeyOf
from . import provenance

if TYPE_CHECKING:

    from .jobs import Jobs

DEADLOCK_ATTEMPTS = 5
"""A make the server rolled back to break a deadlock is run again, up to this often."""


class InputsChangedError(TypedjError):
    """Three-part make: the data ``make_fetch`` returned changed while ``make_compute`` ran."""


class PopulateError(TypedjError):
    """Jobs failed in worker processes; ``result`` holds what succeeded and what failed."""

    def __init__(self, message: str, result: PopulateResult, *, table: str | None = None):
        super().__init__(message, table=table)
        self.result = result


@dataclass(frozen=True)
class Failure:
    """One key whose make() raised: ``error`` is ``"Type: message"``, with the traceback."""

    key: dict[str, Any]
    error: str
    traceback: str
    exception: BaseException | None = field(default=None, compare=False, repr=False)


@dataclass
class PopulateResult:
    """What a populate() call did: keys made, failures, and keys skipped.

    A key is skipped when it was made meanwhile or another worker holds its job.
    """

    succeeded: list[dict[str, Any]] = field(default_factory=list)
    failed: list[Failure] = field(default_factory=list)
    skipped: int = 0

    @property
    def success_count(self) -> int:
        """How many keys were made."""
        return len(self.succeeded)

    @property
    def error_list(self) -> list[tuple[dict[str, Any], str]]:
        """``(key, error message)`` pairs, as datajoint-python returns them."""
        return [(f.key, f.error) for f in self.failed]

    def __getitem__(self, name: str) -> Any:
        """``result["success_count"]`` and ``result["error_list"]``, as datajoint-python's dict."""
        if name not in ("success_count", "error_list"):
            raise KeyError(name)
        return getattr(self, name)

    def merge(self, other: PopulateResult) -> None:
        """The result of two runs together (for workers that report separately)."""
        self.succeeded += other.succeeded
        self.failed += other.failed
        self.skipped += other.skipped

    def portable(self) -> PopulateResult:
        """A copy without exception objects, which may not survive pickling."""
        failed = [Failure(f.key, f.error, f.traceback) for f in self.failed]
        return PopulateResult(list(self.succeeded), failed, self.skipped)


class Progress(NamedTuple):
    """``(remaining, total)`` keys of the key source."""

    remaining: int
    total: int


# -- the key source -------------------------------------------------------------------


def default_key_source(cls: Any) -> Query[dict[str, Any]]:
    """The join of the primary-key parents, each projected to its key (renamed as referenced)."""
    conn = cls._schema.connection
    parents = [fk for fk in cls._def.foreign_keys if fk.in_key]
    if not parents:
        raise TypedjError(
            f"{cls.__name__} has no foreign key in its primary key, so it has no default "
            "key_source; define key_source = <a query of the keys to make>",
            table=cls._def.name,
        )
    query: Query[dict[str, Any]] | None = None
    for fk in parents:
        schema = load_schema(conn, fk.parent_schema)
        renames = {local: parent for local, parent in fk.attr_map.items() if local != parent}
        part = Query(schema.node(fk.parent_table)).proj(**renames)
        query = part if query is None else query * part
    assert query is not None
    return query


def key_source(cls: Any) -> Query[Any]:
    """The table's ``key_source``: a query or table class, a property, or a method returning one."""
    value = getattr(cls, "key_source", None)
    if isinstance(value, property) and value.fget is not None:
        value = value.fget(object.__new__(cls))
    elif inspect.isfunction(value):
        value = value(object.__new__(cls))
    elif callable(value) and not isinstance(value, type):
        value = value()
    if isinstance(value, Query):
        return value
    if isinstance(value, type) and hasattr(value, "_query"):
        return Query(as_node(value))
    raise TypedjError(f"{cls.__name__}.key_source must be a query or a table class, not {value!r}",
                      table=cls.__name__)


def todo(cls: Any, restrictions: Sequence[Any]) -> Query[Any]:
    """Keys of the key source (restricted) whose rows are not made yet."""
    source = key_source(cls)
    missing = [n for n in source.primary_key if n not in cls._def.heading]
    if missing:
        raise QueryError(
            f"{cls.__name__}.key_source has primary key attribute(s) {missing} that "
            f"{cls.__name__} does not have",
            table=cls._def.name, attribute=missing[0],
        )
    if restrictions:
        source = source & AndList(restrictions)
    return source.proj() - Query(cls._node).proj()


# -- one key --------------------------------------------------------------------------


class MakeKey(KeyOf[Any]):
    """The key make() receives: a plain dict that, like a row, restricts any query by the
    attributes it shares with it (``Subject & key`` where ``key`` also names a method).

    A plain mapping with attributes the query lacks is refused; a key is a row of the
    table being made, so its extra attributes are simply not compared.
    """

    _table: ClassVar[Any]

    def __init__(self, values: Mapping[str, Any]):
        super().__init__(values)
        self.__dict__.update(values)

    @classmethod
    def _query(cls) -> Query[Any]:
        return Query(cls._table._node)

    @classmethod
    def of(cls, table: Any) -> type[MakeKey]:
        key_type = table.__dict__.get("_make_key")
        if key_type is None or key_type._table is not table:
            key_type = type(f"{table.__name__}Key", (MakeKey,), {"_table": table})
            type.__setattr__(table, "_make_key", key_type)
        return key_type  # type: ignore[no-any-return]


def _as_tuple(value: Any) -> tuple[Any, ...]:
    return value if isinstance(value, tuple) else (value,)


def same(a: Any, b: Any) -> bool:
    """Deep equality for fetched data: arrays by shape, dtype and values (NaN equals NaN)."""
    import numpy as np

    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        if not (isinstance(a, np.ndarray) and isinstance(b, np.ndarray)):
            return False
        if a.shape != b.shape or a.dtype != b.dtype:
            return False
        if a.dtype.kind in "fc":
            return bool(np.array_equal(a, b, equal_nan=True))
        if a.dtype.kind == "O":
            return all(same(x, y) for x, y in zip(a.ravel(), b.ravel(), strict=True))
        return bool(np.array_equal(a, b))
    if type(a) is not type(b):
        return False
    if isinstance(a, Mapping):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    if isinstance(a, list | tuple):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    if hasattr(type(a), "_query") and hasattr(a, "__dict__"):
        return same(a.__dict__, b.__dict__)
    if hasattr(a, "equals") and callable(a.equals):
        return bool(a.equals(b))
    if isinstance(a, float) and a != a:
        return bool(b != b)
    try:
        return bool(a == b)
    except (TypeError, ValueError):
        return repr(a) == repr(b)


class Maker:
    """Runs make() for keys of one table in this process, with or without jobs."""

    def __init__(
        self, cls: Any, key_names: Sequence[str], *, jobs: Jobs | None, keep_completed: bool = False,
        make_kwargs: Mapping[str, Any] | None = None,
    ):
        from .. import codecs

        self.cls = cls
        self.conn = cls._schema.connection
        self.jobs = jobs
        self.keep_completed = keep_completed
        self.defer_completion = False
        """Leave a made key's job row reserved for the caller to delete with its batch
        (``Jobs.complete_many``): one statement per batch instead of one per key. Safe
        because a reserved job whose rows exist is found made when it is reserved again
        (after ``recover``, should this worker die first), and completed without make."""
        self.instance = object.__new__(cls)
        self.key_type = MakeKey.of(cls)
        self.recorder = provenance.Recorder(cls) if config.provenance else None
        own_make = getattr(cls, "make", None)
        self.three_part = own_make is None and all(
            callable(getattr(cls, m, None)) for m in ("make_fetch", "make_compute", "make_insert")
        )
        self.make_kwargs = dict(make_kwargs or {})
        if self.three_part and self.make_kwargs:
            raise TypedjError(
                f"{cls.__name__}: make_kwargs are passed to make(key, **make_kwargs); a three-part "
                "make (make_fetch, make_compute, make_insert) takes none",
                table=cls._def.name,
            )
        if own_make is None and not self.three_part:
            raise TypedjError(
                f"{cls.__name__} defines no make(self, key) (nor make_fetch, make_compute and "
                "make_insert), so populate has nothing to call",
                table=cls._def.name,
            )
        d = self.conn.dialect
        heading = cls._def.heading
        self.key_names = list(key_names)
        where = " AND ".join(f"{d.quote(n)} = {d.placeholder}" for n in self.key_names) or "TRUE"
        self._exists = f"SELECT 1 FROM {d.table(cls._def.schema, cls._def.name)} WHERE {where} LIMIT 1"
        ctx = codecs.Context(cls._def.schema, cls._def.name, self.conn)
        self._encoders = [codecs.encoder(heading[n], ctx) for n in self.key_names]

    def done(self, key: Mapping[str, Any]) -> bool:
        """Whether the table already has rows for ``key``."""
        params = [
            enc([key[n]])[0] if enc is not None else key[n]
            for n, enc in zip(self.key_names, self._encoders, strict=True)
        ]
        row = self.conn.query(self._exists, params).fetchone()
        return row is not None

    def made(self, keys: Sequence[Mapping[str, Any]]) -> set[tuple[Any, ...]]:
        """Which of ``keys`` the table already has rows for (one query), as key tuples."""
        if not keys:
            return set()
        names = self.key_names
        query = Query(self.cls._node).proj() & [{n: k[n] for n in names} for k in keys]
        return {tuple(r[n] for n in names) for r in query.keys()}

    @contextmanager
    def _inserting(self) -> Iterator[None]:
        cls = self.cls
        cls._allow_insert = cls.__dict__.get("_allow_insert", 0) + 1
        try:
            yield
        finally:
            cls._allow_insert = max(cls.__dict__.get("_allow_insert", 1) - 1, 0)

    def make(
        self, key: Mapping[str, Any], job: Sequence[Any] | None = None, *, checked: bool = False
    ) -> Failure | bool:
        """Make one key: True if made, False if already made, a Failure if make() raised.

        Without jobs the key is not looked up first (the key source excluded made keys a
        moment ago): a key made meanwhile shows as a duplicate on insert, and is skipped.

        ``checked``: the caller has just found the key not made (``made`` over a batch).
        ``job`` is the key's parameters in the jobs table when this worker reserved it:
        the job row is completed in the same transaction as the rows, or marked as an
        error after the rollback. An interruption (Ctrl-C, SIGTERM) closes the session,
        so the server rolls back whatever the statement in flight was doing.
        """
        start = time.monotonic()
        jobs = self.jobs if job is not None else None
        obj = self.instance
        new_key = self.key_type
        try:
            computed: tuple[Any, ...] = ()
            fetched: tuple[Any, ...] = ()
            if (self.three_part or jobs is not None) and not checked and self.done(key):
                # With jobs: a worker may have made the key between another's reading of the
                # key source and its adding the job; the reservation alone cannot tell.
                return self.already(job)
            if self.three_part:
                fetched = _as_tuple(obj.make_fetch(new_key(key)))
                computed = _as_tuple(obj.make_compute(new_key(key), *fetched))
            retrying(lambda: self._transaction(key, job, fetched, computed, start), DEADLOCK_ATTEMPTS,
                     on=(DeadlockError, ConnectionLostError))
            return True
        except Exception as exc:
            if isinstance(exc, DuplicateError) and self.done(key):
                return self.already(job)  # made meanwhile by a worker that does not reserve jobs
            failure = Failure(dict(key), f"{type(exc).__name__}: {exc}", traceback.format_exc(), exc)
            if jobs is not None and job is not None:
                jobs.error(job, failure.error, failure.traceback, duration=time.monotonic() - start)
            return failure

    def _transaction(
        self,
        key: Mapping[str, Any],
        job: Sequence[Any] | None,
        fetched: tuple[Any, ...],
        computed: tuple[Any, ...],
        start: float,
    ) -> None:
        """One attempt: make's inserts and the job's completion in one transaction."""
        obj = self.instance
        new_key = self.key_type
        with self.conn.transaction():
            try:
                with self._inserting():
                    if self.three_part:
                        again = _as_tuple(obj.make_fetch(new_key(key)))
                        if not same(fetched, again):
                            raise InputsChangedError(
                                f"{self.cls.__name__}: make_fetch({dict(key)}) returned different "
                                "data inside the transaction than before make_compute ran: "
                                "upstream rows changed meanwhile; nothing was inserted. "
                                "Populate again to compute from the new data.",
                                table=self.cls._def.name,
                            )
                        obj.make_insert(new_key(key), *computed)
                    elif inspect.isgenerator(result := obj.make(new_key(key), **self.make_kwargs)):
                        result.close()
                        raise TypedjError(
                            f"{self.cls.__name__}.make is a generator; define make_fetch, "
                            "make_compute and make_insert for the three-part make",
                            table=self.cls._def.name,
                        )
                if self.recorder is not None:
                    duration = time.monotonic() - start
                    self.recorder.record(key, time.time() - duration, duration)
                if self.jobs is not None and job is not None and not self.defer_completion:
                    self.jobs.complete(job, duration=time.monotonic() - start, keep=self.keep_completed)
            except (KeyboardInterrupt, SystemExit):
                self.conn.close()
                raise

    def already(self, job: Sequence[Any] | None) -> bool:
        """The key turned out made already: complete its job (if reserved) without calling make."""
        if self.jobs is not None and job is not None:
            self.jobs.complete(job, keep=self.keep_completed)
        return False
