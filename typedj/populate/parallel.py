"""Making keys in other processes, through any ``concurrent.futures`` Executor.

The keys are cut into chunks, and each chunk is a task that any executor (a local
process pool, dask.distributed's) runs in some worker process. With ``reserve_jobs`` the
workers coordinate only through the jobs table; without it the chunks are disjoint.
"""

from __future__ import annotations

import importlib
import logging
import math
import multiprocessing
import os
import shutil
import signal
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Mapping, Sequence
from concurrent.futures import Executor, Future, ProcessPoolExecutor, as_completed
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from ..config import DatabaseURL, config
from ..errors import TypedjError
from .autopopulate import Failure, PopulateError, PopulateResult
from .serial import interruptible, progress_bar, run_keys

log = logging.getLogger("typedj")


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


def parallel(
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
        with progress_bar(display_progress, len(keys), cls.__name__) as bar:
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
