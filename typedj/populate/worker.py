"""Running populate: keys in this process, or in parallel through any Executor.

Parallel work is plain ``concurrent.futures``: the keys are cut into chunks, and each
chunk is a task that any executor (a local process pool, dask.distributed's) runs in
some worker process. With ``reserve_jobs`` the workers coordinate only through the
jobs table; without it the chunks are disjoint.

Signals: during populate, the first Ctrl-C (SIGINT) or SIGTERM interrupts the current
make(); its transaction is rolled back (the session is closed, so the server rolls it
back even mid-statement) and its reservation released; later signals during that
cleanup are ignored.
"""

from __future__ import annotations

import importlib
import logging
import math
import multiprocessing
import os
import random
import shutil
import signal
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import Executor, Future, ProcessPoolExecutor, as_completed
from concurrent.futures.process import BrokenProcessPool
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..config import DatabaseURL, config
from ..errors import TypedjError
from . import provenance
from .autopopulate import Failure, Maker, PopulateError, PopulateResult, todo
from .jobs import DEFAULT_PRIORITY
from .legacy_jobs import LegacyJobs

if TYPE_CHECKING:
    from .jobs import Jobs

log = logging.getLogger("typedj")

ORDERS = ("original", "reverse", "random")


class Terminated(SystemExit):
    """SIGTERM arrived: the current job was rolled back; exit status 143."""

    def __init__(self) -> None:
        super().__init__(128 + signal.SIGTERM)


@contextmanager
def interruptible() -> Iterator[None]:
    """Turn the first SIGINT/SIGTERM into KeyboardInterrupt/Terminated; ignore the rest."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    fired = False

    def handler(signum: int, frame: Any) -> None:
        nonlocal fired
        if fired:
            log.warning("populate: signal %d ignored while the interrupted job is cleaned up", signum)
            return
        fired = True
        if signum == signal.SIGINT:
            raise KeyboardInterrupt
        raise Terminated

    previous = {s: signal.signal(s, handler) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for s, h in previous.items():
            signal.signal(s, h)


# -- in this process ------------------------------------------------------------------


def run_keys(
    cls: Any,
    keys: Sequence[dict[str, Any]],
    *,
    key_names: Sequence[str],
    jobs: Jobs | None,
    suppress_errors: bool,
    keep_completed: bool = False,
    version: str = "",
    on_key: Callable[[], None] | None = None,
    deadline: float | None = None,
    on_start: Callable[[int], None] | None = None,
    make_kwargs: Mapping[str, Any] | None = None,
) -> PopulateResult:
    """Make ``keys`` one after another; with ``jobs``, only those this worker reserves.

    With jobs, keys are reserved a batch at a time (``Batches``): one UPDATE reserves
    the batch (``Jobs.reserve_many``), one query finds which of its
    keys are made already, and one DELETE completes the made keys' jobs after the batch
    (``Jobs.complete_many``; with ``keep_completed`` each job is completed in its make's
    transaction instead). A worker dying before that DELETE leaves made keys reserved:
    ``recover`` frees them and the next reservation finds them made. Keys reserved but
    not reached (a failure, the deadline, an interruption) are released.
    Stops at the first failure unless ``suppress_errors``. ``on_start(i)`` is told the
    position in ``keys`` of each key before its work begins.
    """
    maker = Maker(cls, key_names, jobs=jobs, keep_completed=keep_completed, make_kwargs=make_kwargs)
    if jobs is not None and not version:  # the jobs table records who reserved a key with which code
        code = maker.recorder.code if maker.recorder is not None else provenance.code_version(cls)
        version = code.label
    maker.defer_completion = not keep_completed
    result = PopulateResult()
    held: list[list[Any]] = []  # reserved jobs not yet made, the current one first
    finished: list[list[Any]] = []  # made, their job rows still to delete

    def record(key: dict[str, Any], outcome: Any) -> bool:
        """Count the outcome; False when the run must stop."""
        if on_key:
            on_key()
        if outcome is True:
            result.succeeded.append(dict(key))
        elif outcome is False:
            result.skipped += 1
        else:
            result.failed.append(outcome)
            log.error("%s: make(%s) failed: %s", cls.__name__, dict(key), outcome.error)
            return suppress_errors
        return True

    with interruptible():
        try:
            if jobs is None:
                for position, key in enumerate(keys):
                    if on_start is not None:
                        on_start(position)
                    if past(deadline) or not record(key, maker.make(key)):
                        break
                return result
            batches = Batches()
            position = 0
            going = True
            while going and position < len(keys) and not past(deadline):
                if batches.missed:  # others hold the keys ahead: walk past them, one read per 512
                    window = keys[position : position + Batches.LOOKAHEAD]
                    free = jobs.pending_among(window)
                    passed = free[0] if free else len(window)
                    position += passed
                    for _ in range(passed):
                        result.skipped += 1
                        if on_key:
                            on_key()
                    if not free:
                        continue
                first = position
                batch = keys[position : position + batches.size]
                position += len(batch)
                # held before reserving: a signal may land as the UPDATE returns (SQLite
                # runs the handler only after its busy wait); releasing a key not ours is a no-op
                held = [jobs.key_params(k) for k in batch]
                mine = jobs.reserve_many(batch, version)
                held = [held[i] for i in mine]
                owned = [batch[i] for i in mine]
                batches.missed = not owned
                for _ in range(len(batch) - len(owned)):
                    result.skipped += 1
                    if on_key:
                        on_key()
                made = maker.made(owned)
                for index, key in zip(mine, owned, strict=True):
                    if on_start is not None:
                        on_start(first + index)
                    started = time.monotonic()
                    if tuple(key[n] for n in key_names) in made:
                        outcome: Any = maker.already(held[0])
                    else:
                        outcome = maker.make(key, held[0], checked=True)
                    job = held.pop(0)
                    if outcome is True and maker.defer_completion:
                        finished.append(job)
                    batches.record(time.monotonic() - started)
                    if not record(key, outcome) or past(deadline):
                        going = False
                        break
                jobs.complete_many(finished)
                finished = []
            for job in held:  # a failure or the deadline ended the run: give the rest of the batch back
                jobs.release(job)
            held = []
        except (KeyboardInterrupt, SystemExit):
            maker.conn.close()
            if jobs is not None:
                _finish(cls, jobs, finished)
                for job in held:
                    _release(cls, jobs, job)
            raise
    return result


class Batches:
    """How many keys to reserve at once: about ``SECONDS`` of make() time, 1 to ``LARGEST``.

    Large batches save statements when make() is quick; small ones keep a slow make's keys
    free for other workers (a dead worker's batch waits for ``recover``). Starts at one key.
    """

    SECONDS = 0.5
    LARGEST = 64
    LOOKAHEAD = 512
    """After a batch found nothing to reserve, the keys ahead are first read (no locks)
    this many at a time, so a worker among many walks past the keys others hold with one
    statement per 512 instead of one reservation attempt per batch."""

    def __init__(self) -> None:
        self.size = 1
        self.missed = False
        self._mean: float | None = None

    def record(self, seconds: float) -> None:
        self._mean = seconds if self._mean is None else 0.8 * self._mean + 0.2 * seconds
        self.size = max(1, min(self.LARGEST, int(self.SECONDS / max(self._mean, 1e-6))))


def _finish(cls: Any, jobs: Jobs, finished: list[list[Any]]) -> None:
    try:
        jobs.complete_many(finished)
    except Exception as exc:  # the rows are made: a later reservation finds that and completes them
        log.warning("%s: interrupted; %d made job(s) are completed by the next populate (%s)",
                    cls.__name__, len(finished), exc)


def _release(cls: Any, jobs: Jobs, held: list[Any]) -> None:
    try:
        if jobs.release(held):
            log.warning("%s: interrupted; the job %s is pending again", cls.__name__, held)
    except Exception as exc:  # the interruption matters more; recover() frees the job later
        log.warning("%s: interrupted; could not release the job %s (%s): it is freed once this "
                    "session is gone", cls.__name__, held, exc)


# -- what populate does -----------------------------------------------------------------


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
    deadline = None if max_seconds is None else time.time() + max_seconds
    if require_clean:
        code = provenance.code_version(cls)
        if code.dirty:
            where = "has uncommitted changes" if code.version else "has no version (no commit, no dist)"
            raise provenance.UncommittedCodeError(
                f"{cls.__name__}: populate(require_clean=True) refuses to compute: the code of module "
                f"{cls.__module__} {where}; commit it, or populate without require_clean",
                table=cls._def.name,
            )
    conn = cls._schema.connection
    if conn.in_transaction:
        raise TypedjError(
            f"{cls.__name__}.populate cannot run inside a transaction: each make() is its own",
            table=cls._def.name,
        )
    if order not in ORDERS:
        raise ValueError(f"order is one of {ORDERS}, not {order!r}")
    if processes < 1:
        raise ValueError(f"processes must be at least 1, got {processes}")
    jobs: Jobs | None = cls.jobs if reserve_jobs else None
    pending = todo(cls, restrictions)
    if isinstance(jobs, LegacyJobs):  # datajoint 0.14's ~jobs: a key without a row is available
        jobs.recover(reservation_timeout)
        keys = jobs.available(pending)
        key_names = pending.primary_key
    elif jobs is not None:
        jobs.recover(reservation_timeout)
        if refresh:
            jobs.refresh(pending, priority=DEFAULT_PRIORITY if priority is None else priority)
        d = conn.dialect
        queue = jobs.pending & f"{d.quote('scheduled_time')} <= {d.now()}"
        if restrictions:
            queue = queue & pending
        if priority is not None:
            queue = queue & f"{d.quote('priority')} <= {int(priority)}"
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
    log.info("%s: %d key(s) to make", cls.__name__, len(keys))
    if not keys:
        return PopulateResult()
    if executor is None and processes == 1:
        with _progress(display_progress, len(keys), cls.__name__) as bar:
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
    return _parallel(cls, keys, key_names, reserve_jobs, suppress_errors, keep_completed,
                     processes, executor, display_progress, deadline, make_kwargs or {})


def past(deadline: float | None) -> bool:
    """Whether the wall clock passed ``deadline`` (seconds since the epoch; None: never)."""
    return deadline is not None and time.time() >= deadline


@contextmanager
def _progress(show: bool, total: int, name: str) -> Iterator[Any]:
    """A progress bar, or ``None``; meanwhile log lines print above the bar, not through it."""
    if not show:
        yield None
        return
    from tqdm import tqdm
    from tqdm.contrib.logging import logging_redirect_tqdm

    loggers = [logging.root, *([log] if log.handlers else [])]
    with tqdm(total=total, desc=name) as bar, logging_redirect_tqdm(loggers=loggers):
        yield bar


# -- in other processes -------------------------------------------------------------------


@dataclass(frozen=True)
class Task:
    """A chunk of keys for a worker process: everything in it pickles."""

    module: str
    qualname: str
    token: str
    url: DatabaseURL | None
    search_path: tuple[str, ...]
    keys: tuple[dict[str, Any], ...]
    key_names: tuple[str, ...]
    reserve: bool
    suppress_errors: bool
    keep_completed: bool
    make_kwargs: tuple[tuple[str, Any], ...] = ()
    deadline: float | None = None
    chunk: int = 0
    progress: str | None = None
    """A folder where the worker notes the key it starts, so a killed worker's key is known."""


_local: dict[str, Any] = {}
"""Table classes by token, for forked workers, which inherit this dict (and the class)."""


def run_task(task: Task) -> PopulateResult:
    """The worker side: find the table class, make the chunk, return a picklable result."""
    cls = resolve(task)
    jobs = cls.jobs if task.reserve else None
    on_start = None
    if task.progress is not None:
        note = os.path.join(task.progress, str(os.getpid()))

        def on_start(position: int) -> None:
            with open(note, "a") as f:
                f.write(f"{task.chunk} {position}\n")

    try:
        result = run_keys(
            cls, list(task.keys), key_names=task.key_names, jobs=jobs, deadline=task.deadline,
            suppress_errors=task.suppress_errors, keep_completed=task.keep_completed, on_start=on_start,
            make_kwargs=dict(task.make_kwargs),
        )
    except (KeyboardInterrupt, SystemExit) as exc:
        in_pool = multiprocessing.parent_process() is not None
        if in_pool and threading.current_thread() is threading.main_thread():
            # A pool worker told to stop has rolled back and released its job; returning to
            # the pool's loop would leave it waiting for work that never comes.
            os._exit(exc.code if isinstance(exc, SystemExit) and isinstance(exc.code, int) else 130)
        raise
    return result.portable()


def resolve(task: Task) -> Any:
    """The task's table class: inherited through fork, or imported by module and name."""
    cls = _local.get(task.token)
    if cls is not None:
        return cls
    if "<locals>" in task.qualname or task.module == "__main__":
        raise TypedjError(
            f"worker process {os.getpid()} cannot import {task.module}:{task.qualname}; for "
            "executors other than a forked process pool, define the table in an importable module"
        )
    for folder in reversed(task.search_path):
        if folder not in sys.path:
            sys.path.insert(0, folder)
    if task.url is not None:
        config.database_url = task.url
    obj: Any = importlib.import_module(task.module)
    for part in task.qualname.split("."):
        obj = getattr(obj, part)
    return obj


def _search_path(cls: Any) -> tuple[str, ...]:
    """The folder a worker adds to ``sys.path`` to import the class's module."""
    module = sys.modules.get(cls.__module__)
    file = getattr(module, "__file__", None)
    if not file:
        return ()
    path = Path(file).resolve()
    depth = len(cls.__module__.split(".")) + (1 if path.name == "__init__.py" else 0)
    return (str(path.parents[depth - 1]),)


def _width(executor: Executor) -> int:
    """How many tasks the executor runs at once (a guess where it does not say)."""
    workers = getattr(executor, "_max_workers", None)
    if isinstance(workers, int) and workers > 0:
        return workers
    client = getattr(executor, "_client", None)
    if client is not None and hasattr(client, "nthreads"):
        threads: dict[str, int] = client.nthreads()
        return max(1, sum(threads.values()))
    return os.cpu_count() or 1


def _chunks(keys: Sequence[dict[str, Any]], parts: int) -> list[tuple[dict[str, Any], ...]]:
    size = max(1, math.ceil(len(keys) / parts))
    return [tuple(keys[i : i + size]) for i in range(0, len(keys), size)]


def _parallel(
    cls: Any,
    keys: Sequence[dict[str, Any]],
    key_names: Sequence[str],
    reserve: bool,
    suppress_errors: bool,
    keep_completed: bool,
    processes: int,
    executor: Executor | None,
    display_progress: bool,
    deadline: float | None,
    make_kwargs: Mapping[str, Any],
) -> PopulateResult:
    own = executor is None
    pools = _Pools(executor, processes)
    width = processes if processes > 1 or own else _width(pools.current)
    token = uuid.uuid4().hex
    _local[token] = cls
    conn = cls._schema.connection
    progress = tempfile.mkdtemp(prefix="typedj-populate-") if own else None
    base = Task(
        module=cls.__module__, qualname=cls.__qualname__, token=token, url=conn.url,
        search_path=_search_path(cls), keys=(), key_names=tuple(key_names), reserve=reserve,
        suppress_errors=suppress_errors, keep_completed=keep_completed, progress=progress,
        deadline=deadline, make_kwargs=tuple(make_kwargs.items()),
    )
    futures: dict[Future[PopulateResult], int] = {}
    result = PopulateResult()
    try:
        with _progress(display_progress, len(keys), cls.__name__) as bar:
            try:
                with interruptible():
                    _collect(cls, pools, base, keys, width, futures, result, bar, suppress_errors)
            except (KeyboardInterrupt, SystemExit):
                for other in futures:
                    other.cancel()
                if own:
                    _terminate(pools.current)
                raise
    finally:
        pools.shutdown()
        _local.pop(token, None)
        if progress is not None:
            shutil.rmtree(progress, ignore_errors=True)
    if result.failed and not suppress_errors:
        first = result.failed[0]
        raise PopulateError(
            f"{cls.__name__}: make({first.key}) failed in a worker: {first.error}\n{first.traceback}",
            result, table=cls._def.name,
        )
    return result


_STOP_GRACE = 30.0
"""Seconds the workers of a broken pool get to roll back and exit before they are killed."""


class _Pools:
    """The executor populate runs on; its own process pool is replaced when a worker dies."""

    def __init__(self, executor: Executor | None, processes: int):
        self.own = executor is None
        self.processes = processes
        self.current: Executor = executor or self._new()
        self.broken: list[Executor] = []

    def _new(self) -> Executor:
        forks = "fork" in multiprocessing.get_all_start_methods()
        context = multiprocessing.get_context("fork" if forks else None)
        return ProcessPoolExecutor(self.processes, mp_context=context)

    def replace(self) -> dict[int, int | None]:
        """Shut the broken pool down and start another; the exit status of each of the
        broken pool's processes, by pid."""
        processes = dict(getattr(self.current, "_processes", None) or {})
        deadline = time.monotonic() + _STOP_GRACE
        for p in processes.values():
            p.join(max(0.0, deadline - time.monotonic()))  # the others roll back and exit
            if p.exitcode is None:
                p.kill()
                p.join()
        self.current.shutdown(wait=True, cancel_futures=True)
        self.broken.append(self.current)
        self.current = self._new()
        return {pid: p.exitcode for pid, p in processes.items()}

    def shutdown(self) -> None:
        if self.own:
            for pool in [*self.broken, self.current]:
                pool.shutdown(wait=True, cancel_futures=True)


def _collect(
    cls: Any,
    pools: _Pools,
    base: Task,
    keys: Sequence[dict[str, Any]],
    width: int,
    futures: dict[Future[PopulateResult], int],
    result: PopulateResult,
    bar: Any,
    suppress_errors: bool,
) -> None:
    """Submit one task per chunk and merge the results as they come.

    When a worker of our own pool dies (killed, out of memory), the pool is broken for
    every task in it: the key the dead worker was making is reported as failed (and its
    job marked as an error), and the rest of the unfinished chunks run on a new pool.
    """
    waiting = list(enumerate(_chunks(keys, min(len(keys), width * 4))))
    breakages = 0
    while waiting:
        chunks = dict(waiting)
        submitted = {
            pools.current.submit(run_task, replace(base, keys=chunk, chunk=c)): c for c, chunk in waiting
        }
        futures.update({f: len(chunks[c]) for f, c in submitted.items()})
        waiting = []
        broken: list[int] = []
        stop = False
        for future in as_completed(submitted):
            if future.cancelled():
                continue
            try:
                part = future.result()
            except BrokenProcessPool:
                if not pools.own:
                    raise
                broken.append(submitted[future])
                continue
            result.merge(part)
            if bar is not None:
                bar.update(len(chunks[submitted[future]]))
            if part.failed and not suppress_errors:
                stop = True
                for other in submitted:
                    other.cancel()
        if not broken:
            return
        breakages += 1
        waiting = _salvage(cls, pools, base, {c: chunks[c] for c in broken}, result, bar, breakages > 3)
        if stop or (result.failed and not suppress_errors):
            return


def _salvage(
    cls: Any, pools: _Pools, base: Task, lost_chunks: dict[int, tuple[dict[str, Any], ...]],
    result: PopulateResult, bar: Any, blame_all: bool,
) -> list[tuple[int, tuple[dict[str, Any], ...]]]:
    """After a worker died: report its key, and what of the broken chunks to run again.

    The dead worker is the one that did not exit as the pool stops the others (SIGTERM, or
    a clean exit); the other keys in flight were rolled back and run again. When no worker
    can be blamed (or again and again), every key in flight is reported.
    """
    codes = pools.replace()
    started: dict[int, tuple[int, int | None]] = {}  # chunk -> (position, exit code of its worker)
    assert base.progress is not None
    for name in os.listdir(base.progress):
        path = os.path.join(base.progress, name)
        with open(path) as f:
            lines = f.read().split()
        os.unlink(path)
        if len(lines) >= 2:
            chunk, position = int(lines[-2]), int(lines[-1])
            if chunk in lost_chunks:
                started[chunk] = (position, codes.get(int(name)))
    stopped = {0, -signal.SIGTERM, 128 + signal.SIGTERM}  # how the pool's SIGTERM ends the others
    culprits = [c for c, (_, code) in started.items() if code not in stopped]
    again: list[tuple[int, tuple[dict[str, Any], ...]]] = []
    for chunk, members in sorted(lost_chunks.items()):
        if chunk not in started:
            again.append((chunk, members))
            continue
        position, code = started[chunk]
        if chunk in culprits or blame_all:
            key = dict(members[position])
            _lost(cls, base, key, code, result)
            if bar is not None:
                bar.update(position + 1)
            if position + 1 < len(members):
                again.append((chunk, members[position + 1:]))
        else:
            if bar is not None:
                bar.update(position)
            again.append((chunk, members[position:]))
    if base.reserve:
        cls.jobs.recover()  # the dead workers' reserved batches: pending again for the new pool
    return again


def _lost(cls: Any, base: Task, key: dict[str, Any], code: int | None, result: PopulateResult) -> None:
    """Report a key whose worker died while making it; with jobs, mark its job an error."""
    how = f"killed by signal {-code}" if code is not None and code < 0 else f"exit status {code}"
    message = (f"WorkerLost: the worker process making this key died ({how}); nothing of it "
               "was kept (its transaction was rolled back)")
    log.error("%s: make(%s) lost: %s", cls.__name__, key, message)
    result.failed.append(Failure(key, message, ""))
    if base.reserve:
        jobs = cls.jobs
        try:
            jobs.error(jobs.key_params(key), message, "")
        except Exception as exc:  # the run goes on; recover() frees the job later
            log.warning("%s: could not mark the job %s as an error: %s", cls.__name__, key, exc)


def _terminate(pool: Executor) -> None:
    """Ask the pool's processes to roll back and release their jobs (SIGTERM)."""
    for process in list(getattr(pool, "_processes", {}).values()):
        if process.is_alive() and process.pid is not None:
            os.kill(process.pid, signal.SIGTERM)
