"""Admission control and the model worker: the part of the server that merges requests.

No HTTP, no asyncio: requests arrive as ``Job``s (already tokenized windows + a
``concurrent.futures.Future``), one worker thread takes ALL queued jobs that fit a
padding-aware token budget, runs them as one batch and resolves the futures. Everything here
is testable with a fake ``run_windows``.

Invariants:
- A job whose future was cancelled before the worker took it (client gone, timeout) is dropped
  without running: ``Future.set_running_or_notify_cancel`` decides, under the future's lock.
- An exception from the model fails only the requests that cause it: a merged batch that
  fails is run again one request at a time, and only a request that fails on its own gets
  ``ModelFailure`` (a bad input, or a Lua transform that errors on it, cannot sink the other
  requests that happened to share its batch). The worker keeps going.
- If the worker loop itself dies, every queued and later job fails with ``Unavailable`` and
  ``healthy`` turns False — the thread never dies silently.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np

from ..decode.tokens import WindowTokens
from ..errors import Overloaded
from ..transform.errors import TransformError
from .errors import ModelFailure, Unavailable

log = logging.getLogger(__name__)

# windows → logits [n_tokens, n_labels] per window (``Engine.run_windows``).
RunWindows = Callable[[list[WindowTokens]], list[np.ndarray]]


class Admission:
    """Counts requests inside the server and refuses, at once, those beyond ``limit``.

    Non-blocking on purpose (TEI's semaphore): a client that waits in an unbounded server queue
    only times out later; a 429 now lets it back off or go elsewhere.
    """

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._count = 0
        self._lock = threading.Lock()

    @property
    def in_flight(self) -> int:
        return self._count

    def enter(self) -> None:
        with self._lock:
            if self._count >= self.limit:
                raise Overloaded(
                    f"the server is at its limit of {self.limit} concurrent requests "
                    "(--max-concurrent-requests); retry later"
                )
            self._count += 1

    def leave(self) -> None:
        with self._lock:
            self._count -= 1


@dataclass(frozen=True)
class JobResult:
    logits: list[np.ndarray]  # per window of the job: [n_tokens, n_labels]
    queue_seconds: float  # submitted → taken by the worker
    model_seconds: float  # the forward pass of the batch this job rode in


@dataclass(eq=False)
class Job:
    windows: Sequence[WindowTokens]
    enqueued: float
    future: Future[JobResult] = field(default_factory=Future)

    @property
    def rows(self) -> int:
        return len(self.windows)

    @property
    def width(self) -> int:
        return max((len(w) for w in self.windows), default=0)


@dataclass(frozen=True)
class BatchStats:
    requests: int
    windows: int
    tokens: int  # real tokens
    padded_tokens: int  # rows x longest window: what the model computes
    model_seconds: float


class BatchObserver(Protocol):
    def on_batch(self, stats: BatchStats) -> None: ...

    def on_queue_depth(self, depth: int) -> None: ...


def take_jobs(queue: deque[Job], budget: int) -> list[Job]:
    """Pop jobs from the head of ``queue`` while the padded batch (all rows x the longest
    window) fits ``budget``. FIFO, so no request starves behind shorter ones. Cancelled jobs
    are discarded on the way. The first live job is always taken, however large: the engine
    splits an over-budget job into several forwards.
    """
    taken: list[Job] = []
    rows = width = 0
    while queue:
        job = queue[0]
        if job.future.cancelled():
            queue.popleft()
            continue
        new_rows, new_width = rows + job.rows, max(width, job.width)
        if taken and new_rows * new_width > budget:
            break
        queue.popleft()
        taken.append(job)
        rows, width = new_rows, new_width
    return taken


class ModelWorker:
    """One thread that owns the model: take every queued job that fits, forward, resolve."""

    def __init__(
        self,
        run_windows: RunWindows,
        max_batch_tokens: int,
        observer: BatchObserver | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._run_windows = run_windows
        self._budget = max_batch_tokens
        self._observer = observer
        self._clock = clock
        self._queue: deque[Job] = deque()
        self._cond = threading.Condition()
        self._closing = False
        self._crashed: BaseException | None = None
        self._thread = threading.Thread(target=self._main, name="nerve-model-worker", daemon=True)

    # -- control -------------------------------------------------------------------------
    def start(self) -> None:
        self._thread.start()

    def close(self, timeout: float | None = None) -> None:
        """Finish what is queued, then stop the thread."""
        with self._cond:
            self._closing = True
            self._cond.notify_all()
        if self._thread.is_alive():
            self._thread.join(timeout)

    @property
    def healthy(self) -> bool:
        return self._thread.is_alive() and self._crashed is None and not self._closing

    @property
    def queue_depth(self) -> int:
        return len(self._queue)

    # -- producers (any thread) -----------------------------------------------------------
    def submit(self, windows: Sequence[WindowTokens]) -> Future[JobResult]:
        job = Job(windows, self._clock())
        with self._cond:
            if self._crashed is not None or self._closing:
                raise Unavailable("the model worker is not running; the server is unhealthy")
            self._queue.append(job)
            depth = len(self._queue)
            self._cond.notify()
        self._report_depth(depth)
        return job.future

    # -- the worker thread ----------------------------------------------------------------
    def _main(self) -> None:
        try:
            while True:
                jobs = self._next_jobs()
                if jobs is None:
                    return
                self._run(jobs)
        except BaseException as exc:
            # Not a model error (those are handled per batch): a bug in the loop itself. It is
            # logged, flagged for /health and turned into failed futures: never silent.
            log.critical("model worker died; failing all queued requests", exc_info=True)
            self._crashed = exc
            self._fail_queued()

    def _next_jobs(self) -> list[Job] | None:
        with self._cond:
            while not self._queue and not self._closing:
                self._cond.wait()
            if not self._queue:
                return None  # closing and drained
            jobs = take_jobs(self._queue, self._budget)
            depth = len(self._queue)
        self._report_depth(depth)
        return jobs

    def _run(self, jobs: list[Job]) -> None:
        live = [job for job in jobs if job.future.set_running_or_notify_cancel()]
        if not live:
            return
        error = self._attempt(live)
        if error is None:
            return
        if len(live) == 1:
            self._fail(live[0], error)
            return
        log.warning(
            "model forward failed on a batch of %d requests; running them one by one",
            len(live),
            exc_info=error,
        )
        for job in live:
            alone = self._attempt([job])
            if alone is not None:
                self._fail(job, alone)

    def _attempt(self, jobs: list[Job]) -> Exception | None:
        """Run ``jobs`` as one batch and resolve them; the exception if the model raised."""
        windows = [w for job in jobs for w in job.windows]
        started = self._clock()
        try:
            logits = self._run_windows(windows)
        except Exception as exc:  # torch, onnxruntime, CUDA OOM, a Lua transform...
            return exc
        elapsed = self._clock() - started
        self._resolve(jobs, logits, started, elapsed)
        self._report_batch(jobs, windows, elapsed)
        return None

    @staticmethod
    def _fail(job: Job, error: Exception) -> None:
        if isinstance(error, TransformError):
            # The model's Lua transform raised or ran over a limit: its message is written for
            # the caller (it names the limit and the build setting), and a traceback adds nothing.
            log.warning("the model's transform failed on a request: %s", error.message)
            job.future.set_exception(
                ModelFailure(f"the model's transform failed on this request: {error.message}")
            )
            return
        # The detail goes to the log, the caller gets a fixed message.
        log.error("model forward failed on a request of %d windows", job.rows, exc_info=error)
        job.future.set_exception(ModelFailure("the model failed on this request"))

    def _resolve(
        self, jobs: list[Job], logits: list[np.ndarray], started: float, elapsed: float
    ) -> None:
        pos = 0
        for job in jobs:
            part = logits[pos : pos + job.rows]
            pos += job.rows
            job.future.set_result(JobResult(part, started - job.enqueued, elapsed))

    def _fail_queued(self) -> None:
        with self._cond:
            pending = list(self._queue)
            self._queue.clear()
        for job in pending:
            if job.future.set_running_or_notify_cancel():
                job.future.set_exception(Unavailable("the model worker stopped"))

    def _report_batch(self, jobs: list[Job], windows: list[WindowTokens], seconds: float) -> None:
        if self._observer is None:
            return
        width = max((len(w) for w in windows), default=0)
        self._observer.on_batch(
            BatchStats(
                requests=len(jobs),
                windows=len(windows),
                tokens=sum(len(w) for w in windows),
                padded_tokens=len(windows) * width,
                model_seconds=seconds,
            )
        )

    def _report_depth(self, depth: int) -> None:
        if self._observer is not None:
            self._observer.on_queue_depth(depth)
