"""What populate does: plan which keys to make, then run them here or in other processes.

Making keys in this process, with the signal handling and batched reservations, is
``serial``; in other processes through any Executor, ``parallel``.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Mapping, Sequence
from concurrent.futures import Executor
from typing import TYPE_CHECKING, Any

from ..errors import TypedjError
from . import provenance
from .autopopulate import PopulateResult, todo
from .jobs import DEFAULT_PRIORITY
from .legacy_jobs import LegacyJobs
from .parallel import parallel
from .serial import progress_bar, run_keys

if TYPE_CHECKING:
    from .jobs import Jobs

log = logging.getLogger("typedj")

ORDERS = ("original", "reverse", "random")


def populate(
    cls: Any,
    restrictions: Sequence[Any],
    *,
    reserve_jobs: bool,
    max_calls: int | None,
    suppress_errors: bool,
    processes: int,
    display_progress: bool,
    priority: int | None,
    order: str,
    executor: Executor | None,
    keep_completed: bool,
    reservation_timeout: float | None,
    max_seconds: float | None = None,
    require_clean: bool = False,
    make_kwargs: Mapping[str, Any] | None = None,
    refresh: bool = True,
) -> PopulateResult:
    """``AutoPopulate.populate``: check, plan the keys, then make them here or in a pool."""
    deadline = None if max_seconds is None else time.time() + max_seconds
    _check(cls, require_clean=require_clean, order=order, processes=processes)
    jobs: Jobs | None = cls.jobs if reserve_jobs else None
    keys, key_names = plan(cls, restrictions, jobs, priority=priority, order=order,
                           max_calls=max_calls, reservation_timeout=reservation_timeout,
                           refresh=refresh)
    log.info("%s: %d key(s) to make", cls.__name__, len(keys))
    if not keys:
        return PopulateResult()
    if executor is None and processes == 1:
        with progress_bar(display_progress, len(keys), cls.__name__) as bar:
            result = run_keys(
                cls, keys, key_names=key_names, jobs=jobs, suppress_errors=suppress_errors,
                keep_completed=keep_completed, on_key=bar.update if bar is not None else None,
                deadline=deadline, make_kwargs=make_kwargs,
            )
        if result.failed and not suppress_errors:
            exc = result.failed[0].exception
            if exc is not None:
                raise exc
        return result
    return parallel(cls, keys, key_names, reserve_jobs, suppress_errors, keep_completed,
                    processes, executor, display_progress, deadline, make_kwargs or {})


def _check(cls: Any, *, require_clean: bool, order: str, processes: int) -> None:
    """Refuse to start what cannot run: uncommitted code when asked, an open transaction,
    bad arguments."""
    if require_clean:
        code = provenance.code_version(cls)
        if code.dirty:
            where = "has uncommitted changes" if code.version else "has no version (no commit, no dist)"
            raise provenance.UncommittedCodeError(
                f"{cls.__name__}: populate(require_clean=True) refuses to compute: the code of module "
                f"{cls.__module__} {where}; commit it, or populate without require_clean",
                table=cls._def.name,
            )
    if cls._schema.connection.in_transaction:
        raise TypedjError(
            f"{cls.__name__}.populate cannot run inside a transaction: each make() is its own",
            table=cls._def.name,
        )
    if order not in ORDERS:
        raise ValueError(f"order is one of {ORDERS}, not {order!r}")
    if processes < 1:
        raise ValueError(f"processes must be at least 1, got {processes}")


def plan(
    cls: Any,
    restrictions: Sequence[Any],
    jobs: Jobs | None,
    *,
    priority: int | None,
    order: str,
    max_calls: int | None,
    reservation_timeout: float | None,
    refresh: bool,
) -> tuple[list[dict[str, Any]], Sequence[str]]:
    """The keys to make, in order, and their attribute names.

    With jobs, dead workers' reservations are recovered and the jobs table refreshed
    first; the keys are then the pending jobs due now, by priority.
    """
    pending = todo(cls, restrictions)
    if isinstance(jobs, LegacyJobs):  # datajoint 0.14's ~jobs: a key without a row is available
        jobs.recover(reservation_timeout)
        keys = jobs.available(pending)
        key_names: Sequence[str] = pending.primary_key
    elif jobs is not None:
        jobs.recover(reservation_timeout)
        if refresh:
            jobs.refresh(pending, priority=DEFAULT_PRIORITY if priority is None else priority)
        d = cls._schema.connection.dialect
        queue = jobs.pending & f"`scheduled_time` <= {d.now()}"  # restriction text: DataJoint's quoting
        if restrictions:
            queue = queue & pending
        if priority is not None:
            queue = queue & f"`priority` <= {int(priority)}"
        keys = queue.keys(order_by=["priority", "scheduled_time", *jobs.key_names])
        key_names = jobs.key_names
    else:
        keys = pending.keys(order_by="KEY")
        key_names = pending.primary_key
    if order == "reverse":
        keys.reverse()
    elif order == "random":
        random.shuffle(keys)
    if max_calls is not None:
        keys = keys[: max(max_calls, 0)]
    return keys, key_names
