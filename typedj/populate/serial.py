"""Making keys one after another in this process, reserving them through the jobs table.

Signals: during populate, the first Ctrl-C (SIGINT) or SIGTERM interrupts the current
make(); its transaction is rolled back (the session is closed, so the server rolls it
back even mid-statement) and its reservation released; later signals during that
cleanup are ignored.
"""

from __future__ import annotations

import logging
import signal
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from . import provenance
from .autopopulate import Maker, PopulateResult

if TYPE_CHECKING:
    from .jobs import Jobs

log = logging.getLogger("typedj")


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
    run = _Run(cls, maker, key_names, suppress_errors, on_key, on_start, deadline)
    with interruptible(), maker.conn.chained():
        if jobs is None:
            run.each(keys)
        else:
            run.reserving(keys, jobs, version)
    return run.result


class _Run:
    """One ``run_keys``: the outcomes so far, and the jobs held (given back when interrupted)."""

    def __init__(
        self, cls: Any, maker: Maker, key_names: Sequence[str], suppress_errors: bool,
        on_key: Callable[[], None] | None, on_start: Callable[[int], None] | None,
        deadline: float | None,
    ) -> None:
        self.cls = cls
        self.maker = maker
        self.key_names = key_names
        self.suppress_errors = suppress_errors
        self.on_key = on_key
        self.on_start = on_start
        self.deadline = deadline
        self.result = PopulateResult()
        self.held: list[list[Any]] = []  # reserved jobs not yet made, the current one first
        self.finished: list[list[Any]] = []  # made, their job rows still to delete

    def record(self, key: dict[str, Any], outcome: Any) -> bool:
        """Count the outcome; False when the run must stop."""
        if self.on_key:
            self.on_key()
        if outcome is True:
            self.result.succeeded.append(dict(key))
        elif outcome is False:
            self.result.skipped += 1
        else:
            self.result.failed.append(outcome)
            log.error("%s: make(%s) failed: %s", self.cls.__name__, dict(key), outcome.error)
            return self.suppress_errors
        return True

    def skip(self, n: int) -> None:
        for _ in range(n):
            self.result.skipped += 1
            if self.on_key:
                self.on_key()

    def each(self, keys: Sequence[dict[str, Any]]) -> None:
        """Without jobs: make every key in turn."""
        try:
            for position, key in enumerate(keys):
                if self.on_start is not None:
                    self.on_start(position)
                if past(self.deadline) or not self.record(key, self.maker.make(key)):
                    break
        except (KeyboardInterrupt, SystemExit):
            self.maker.conn.close()
            raise

    def reserving(self, keys: Sequence[dict[str, Any]], jobs: Jobs, version: str) -> None:
        """With jobs: reserve a batch, make what was reserved, complete it; again."""
        try:
            batches = Batches()
            position = 0
            while position < len(keys) and not past(self.deadline):
                if batches.missed:  # others hold the keys ahead: walk past them, one read per 512
                    window = keys[position : position + Batches.LOOKAHEAD]
                    free = jobs.pending_among(window)
                    passed = free[0] if free else len(window)
                    position += passed
                    self.skip(passed)
                    if not free:
                        continue
                batch = keys[position : position + batches.size]
                first = position
                position += len(batch)
                if not self.batch(jobs, batch, first, batches, version):
                    break
            for job in self.held:  # a failure or the deadline ended the run: give the rest of the batch back
                jobs.release(job)
            self.held = []
        except (KeyboardInterrupt, SystemExit):
            self.maker.conn.close()
            _finish(self.cls, jobs, self.finished)
            for job in self.held:
                _release(self.cls, jobs, job)
            raise

    def batch(
        self, jobs: Jobs, batch: Sequence[dict[str, Any]], first: int, batches: Batches, version: str,
    ) -> bool:
        """Reserve ``batch``, make the keys reserved; False when the run must stop."""
        # held before reserving: a signal may land as the UPDATE returns (SQLite
        # runs the handler only after its busy wait); releasing a key not ours is a no-op
        self.held = [jobs.key_params(k) for k in batch]
        mine = jobs.reserve_many(batch, version)
        self.held = [self.held[i] for i in mine]
        owned = [batch[i] for i in mine]
        batches.missed = not owned
        self.skip(len(batch) - len(owned))
        maker = self.maker
        made = maker.made(owned)
        going = True
        for index, key in zip(mine, owned, strict=True):
            if self.on_start is not None:
                self.on_start(first + index)
            started = time.monotonic()
            if tuple(key[n] for n in self.key_names) in made:
                outcome: Any = maker.already(self.held[0])
            else:
                outcome = maker.make(key, self.held[0], checked=True)
            job = self.held.pop(0)
            if outcome is True and maker.defer_completion:
                self.finished.append(job)
            batches.record(time.monotonic() - started)
            if not self.record(key, outcome) or past(self.deadline):
                going = False
                break
        jobs.complete_many(self.finished)
        self.finished = []
        return going


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



def past(deadline: float | None) -> bool:
    """Whether the wall clock passed ``deadline`` (seconds since the epoch; None: never)."""
    return deadline is not None and time.time() >= deadline


@contextmanager
def progress_bar(show: bool, total: int, name: str) -> Iterator[Any]:
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
