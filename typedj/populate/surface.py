"""What Imported and Computed tables add to a table class: ``populate()``, ``jobs``,
``progress()``, ``provenance()``; the work itself is in ``worker``, ``serial`` and
``parallel``, making one key in ``autopopulate``."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, ClassVar

from ..definition import definition
from ..legacy import LAYOUT
from ..query.condition import AndList
from ..query.expression import Query
from . import provenance
from .autopopulate import PopulateResult, Progress, default_key_source, key_source, todo
from .jobs import Jobs
from .legacy_jobs import LegacyJobs
from .worker import populate

if TYPE_CHECKING:
    from concurrent.futures import Executor


class _KeySourceDefault:
    def __get__(self, obj: object, owner: type) -> Query[dict[str, Any]]:
        return default_key_source(owner)


class _JobsAccess:
    def __get__(self, obj: object, owner: type) -> Jobs:
        jobs = owner.__dict__.get("_jobs_table")
        if jobs is None or jobs.target_def is not owner.__dict__.get("_def"):
            legacy = getattr(getattr(owner, "_schema", None), "layout", None) == LAYOUT
            jobs = LegacyJobs(owner) if legacy else Jobs(owner)
            type.__setattr__(owner, "_jobs_table", jobs)
        return jobs


class AutoPopulate:
    """Imported and Computed tables: rows are made by ``make(self, key)`` through ``populate()``."""

    key_source: ClassVar[Any] = _KeySourceDefault()
    """The keys to make: by default the join of the primary-key parents; override with any query."""

    jobs = _JobsAccess()
    """The jobs table ``~~name`` shared by every worker (created on first use)."""

    @classmethod
    def populate(
        cls,
        *restrictions: Any,
        reserve_jobs: bool = False,
        max_calls: int | None = None,
        suppress_errors: bool = False,
        processes: int = 1,
        display_progress: bool = False,
        priority: int | None = None,
        order: str = "original",
        executor: Executor | None = None,
        keep_completed: bool = False,
        reservation_timeout: float | None = None,
        max_seconds: float | None = None,
        require_clean: bool = False,
        make_kwargs: Mapping[str, Any] | None = None,
        refresh: bool = True,
    ) -> PopulateResult:
        """Call ``make(key)`` for every key of ``key_source & restrictions`` not made yet.

        Each key is one transaction. ``reserve_jobs`` coordinates any number of workers
        through the jobs table; ``processes`` or ``executor`` (any
        ``concurrent.futures.Executor``: a process pool, dask.distributed's) run keys in
        parallel. ``suppress_errors`` records failures and goes on; otherwise the first
        failure is raised. ``priority`` is given to new jobs, and only jobs at most that
        number run. ``order`` is ``"original"`` (key order), ``"reverse"`` or ``"random"``.
        ``reservation_timeout`` (seconds) also frees reservations that old where the
        server cannot say whether their worker is alive. ``max_seconds`` bounds the run: no
        new key is started once that many seconds have passed (keys under way finish), for
        workers that a scheduler gives a time slot. ``require_clean`` refuses to compute
        from uncommitted code (``UncommittedCodeError``): each made key records the code
        version that made it (``provenance()``). ``make_kwargs`` are passed to every
        ``make(key, **make_kwargs)`` call (in worker processes too; a three-part make
        takes none). ``refresh=False`` (with ``reserve_jobs``) skips adding jobs for new
        keys of the key source: only jobs already in the jobs table are reserved.
        """
        return populate(
            cls, restrictions, reserve_jobs=reserve_jobs, max_calls=max_calls,
            suppress_errors=suppress_errors, processes=processes, display_progress=display_progress,
            priority=priority, order=order, executor=executor, keep_completed=keep_completed,
            reservation_timeout=reservation_timeout, max_seconds=max_seconds, require_clean=require_clean,
            make_kwargs=dict(make_kwargs or {}), refresh=refresh,
        )

    @classmethod
    def provenance(cls, *restrictions: Any) -> list[dict[str, Any]]:
        """What made each key of the table (restricted): the key, the code version (git
        commit or distribution version) and whether it was dirty, typedj's version, host,
        process, database user, start time and duration, one dict per key made by
        ``populate`` (keys made before provenance was recorded have none)."""
        table: Any = cls
        query: Query[Any] = Query(table._node)
        if restrictions:
            query = query & AndList(restrictions)
        return provenance.read(cls, query.keys(order_by="KEY"))

    @classmethod
    def describe(cls) -> str:
        """The definition in DataJoint's syntax, then what made the rows: a ``# provenance``
        comment line per code version (DataJoint's parser skips comment lines)."""
        table: Any = cls
        return "\n".join([definition(table._def), *provenance.summary(cls)])

    @classmethod
    def progress(cls, *restrictions: Any, display: bool = False) -> Progress:
        """``(remaining, total)`` keys of the key source (restricted)."""
        source = key_source(cls)
        if restrictions:
            source = source & AndList(restrictions)
        total = len(source.proj())
        remaining = len(todo(cls, restrictions))
        if display:
            done = total - remaining
            share = 100 * done / total if total else 100.0
            print(f"{cls.__name__}: {done}/{total} made ({share:.1f}%), {remaining} remaining")
        return Progress(remaining, total)
