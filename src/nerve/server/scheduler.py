"""Admission control and the model worker: the part of the server that merges requests.

No HTTP, no asyncio: requests arrive as ``Job``s (already tokenized windows + a
``concurrent.futures.Future``); one worker thread builds each model batch from the live jobs
round-robin, ONE WINDOW PER JOB PER ROUND, until a padding-aware token budget is full, runs
it and resolves the jobs whose last window it held. Everything here is testable with a fake
``run_windows``.

Why round-robin by window (and not FIFO, nor shortest-remaining-first): a request of 1,000
windows then takes one batch slot per round like a one-sentence request does, so a sentence
waits at most about one batch behind any number of large documents, and every request keeps
progressing (shortest-remaining-first would starve a large one under steady small traffic).
Small requests still merge: 64 one-window jobs all ride in the same batch.

Invariants:
- Work is admitted by model tokens: ``submit`` refuses (``Overloaded``, 429) a job whose
  tokens would take the queued work past ``max_queued_tokens``. Nothing waits unbounded.
- A job whose future was cancelled (client gone, timeout, shutdown) is dropped before the next
  batch is built: the worker spends at most the one batch already running on it. Futures stay
  PENDING until resolved, so ``Future.cancel`` works at any time.
- An exception from the model fails only the requests that cause it: a merged batch that
  fails is run again one request at a time, and only a request that fails on its own gets
  ``ModelFailure`` (a bad input, or a Lua transform that errors on it, cannot sink the other
  requests that happened to share its batch). The worker keeps going.
- If the worker loop itself dies, every queued and later job fails with ``Unavailable`` and
  ``healthy`` turns False — the thread never dies silently.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from concurrent.futures import Future, InvalidStateError
from dataclasses import dataclass, field
from typing import Any, Protocol, cast

import numpy as np

from ..decode.tokens import WindowTokens
from ..errors import Overloaded
from ..transform.errors import TransformError
from .errors import ModelFailure, Unavailable

log = logging.getLogger(__name__)


class RunWindows(Protocol):
    """windows → logits [n_tokens, n_labels] per window (``Engine.run_windows``); ``alone``
    marks windows that run in a model call of their own."""

    def __call__(
        self, windows: list[WindowTokens], *, alone: Sequence[bool] | None = None
    ) -> list[np.ndarray]: ...


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


# Turns finished jobs' logits into their results, many jobs in one call: ``payloads`` and
# ``logits`` hold one entry per job (its ``payload``, its logits per window); the result, one
# value per job. Jobs whose ``finish`` objects are equal are finished together, in the lane
# that ran their last windows.
Finish = Callable[[list[Any], list[list[np.ndarray]]], list[Any]]


@dataclass(frozen=True)
class JobResult:
    logits: list[np.ndarray]  # per window of the job: [n_tokens, n_labels]
    queue_seconds: float  # submitted → its first window taken by the worker
    model_seconds: float  # the forward passes of the batches this job rode in
    finished: Any = None  # the job's ``finish`` result, when it had one
    finish_ns: tuple[int, int] | None = None  # when its finishing ran (wall clock, ns)


@dataclass(eq=False)
class Job:
    """A request's windows and how far the lanes got with them: ``taken`` windows handed to a
    lane (the next batch continues from there), ``finished`` of them run."""

    windows: Sequence[WindowTokens]
    enqueued: float
    # Per window: it runs in a model call of its own (``Engine.run_windows``'s ``alone``);
    # empty when none does.
    alone: Sequence[bool] = ()
    future: Future[JobResult] = field(default_factory=Future)
    finish: Finish | None = None
    payload: Any = None  # what ``finish`` needs besides the logits
    taken: int = 0
    finished: int = 0
    started: float | None = None
    model_seconds: float = 0.0
    # Per window, set as its batch finishes: lanes may finish a job's pieces in any order.
    logits: list[np.ndarray | None] = field(init=False)

    def __post_init__(self) -> None:
        self.logits = [None] * len(self.windows)

    @property
    def rows(self) -> int:
        return len(self.windows)

    @property
    def tokens(self) -> int:
        """Model tokens of the whole job: what admission counts."""
        return sum(len(w) for w in self.windows)

    @property
    def remaining_tokens(self) -> int:
        return sum(len(w) for w in self.windows[self.taken :])


@dataclass(eq=False)
class Piece:
    """Windows ``start:stop`` of ``job``: its share of one batch."""

    job: Job
    start: int
    stop: int

    @property
    def windows(self) -> Sequence[WindowTokens]:
        return self.job.windows[self.start : self.stop]

    @property
    def tokens(self) -> int:
        return sum(len(w) for w in self.windows)


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


def take_pieces(jobs: deque[Job], budget: int, padded: bool = True) -> list[Piece]:
    """One batch: a window from each job in turn, round after round, while the batch fits
    ``budget``; the first window is always taken. The batch's size is its padded size (rows x
    longest window: what a batch run as one tensor computes), or with ``padded=False`` its
    real tokens (for a model runner that sorts windows by length and cuts them into batches
    of its own, where padding stays small). ``jobs`` is rotated so that the next batch starts
    with the first job this one had no room for. Cancelled jobs are not in ``jobs`` (the
    worker drops them first)."""
    taken: dict[int, int] = {}  # index in jobs -> windows taken
    rows = width = tokens = 0
    stop_at: int | None = None
    progress = True
    while progress and stop_at is None:
        progress = False
        for i, job in enumerate(jobs):
            nxt = job.taken + taken.get(i, 0)
            if nxt >= job.rows:
                continue
            length = len(job.windows[nxt])
            new_rows, new_width, new_tokens = rows + 1, max(width, length), tokens + length
            size = new_rows * new_width if padded else new_tokens
            if rows and size > budget:
                stop_at = i
                break
            taken[i] = taken.get(i, 0) + 1
            rows, width, tokens = new_rows, new_width, new_tokens
            progress = True
    pieces = [Piece(jobs[i], jobs[i].taken, jobs[i].taken + n) for i, n in sorted(taken.items())]
    for piece in pieces:
        piece.job.taken = piece.stop
    if stop_at:
        jobs.rotate(-stop_at)
    return pieces


class ModelWorker:
    """``lanes`` threads that share the model: each builds a fair batch from the live jobs,
    runs it, and resolves the jobs whose last window it held.

    One lane per backend session on CPU (each session runs one batch on one core): a lane
    takes its next batch as soon as its own ends, so no core waits for another's batch, and
    a lane that decodes the requests its batch finished (``finish``) holds up only itself,
    while the other cores keep running the model. (Before, one worker thread split each batch
    over the sessions and waited for all of them.) Accelerators run one large batch at a
    time: one lane.
    """

    def __init__(
        self,
        run_windows: RunWindows,
        max_batch_tokens: int,
        observer: BatchObserver | None = None,
        clock: Callable[[], float] = time.monotonic,
        max_queued_tokens: int | None = None,
        max_queue_seconds: float | None = None,
        padded_budget: bool = True,
        lanes: int = 1,
    ) -> None:
        self._run_windows = run_windows
        self._budget = max_batch_tokens
        self._padded_budget = padded_budget  # see take_pieces
        self._observer = observer
        self._clock = clock
        self._max_queued = max_queued_tokens
        # The token bound is sized for a throughput; the time bound follows the one measured
        # (a shared or throttled machine): work whose queue would take longer than this to
        # drain is refused too, so what is admitted finishes before its timeout.
        self._max_queue_seconds = max_queue_seconds
        self._seconds_per_token: float | None = None  # moving average over recent batches
        self._jobs: deque[Job] = deque()  # jobs with windows not yet taken, in turn order
        self._live: set[Job] = set()  # every job not yet resolved, queued or running
        self._queued_tokens = 0  # tokens of the live jobs not yet taken into a batch
        self._cond = threading.Condition()
        self._closing = False
        self._crashed: BaseException | None = None
        self._threads = [
            threading.Thread(target=self._main, name=f"nerve-model-lane-{i}", daemon=True)
            for i in range(max(1, lanes))
        ]

    # -- control -------------------------------------------------------------------------
    def start(self) -> None:
        for thread in self._threads:
            thread.start()

    def close(self, timeout: float | None = None) -> None:
        """Finish what is queued, then stop the lanes (waiting at most ``timeout`` in all)."""
        with self._cond:
            self._closing = True
            self._cond.notify_all()
        deadline = None if timeout is None else time.monotonic() + timeout
        for thread in self._threads:
            if thread.is_alive():
                thread.join(None if deadline is None else max(0.0, deadline - time.monotonic()))

    def abort(self, error: Exception) -> int:
        """Fail every live job with ``error`` now (shutdown deadline); the batch already
        running finishes, but its results go nowhere. Returns how many jobs failed."""
        with self._cond:
            pending = list(self._live)
            self._jobs.clear()
            self._live.clear()
            self._queued_tokens = 0
        failed = 0
        for job in pending:
            failed += _set_exception(job.future, error)
        self._report_depth(0)
        return failed

    @property
    def healthy(self) -> bool:
        alive = all(thread.is_alive() for thread in self._threads)
        return alive and self._crashed is None and not self._closing

    @property
    def queue_depth(self) -> int:
        """Requests with windows not yet taken into a batch."""
        return len(self._jobs)

    @property
    def queued_tokens(self) -> int:
        return self._queued_tokens

    def _drain_seconds(self, tokens: int) -> float | None:
        rate = self._seconds_per_token
        # The lanes drain the queue together.
        return None if rate is None else tokens * rate / len(self._threads)

    @property
    def full(self) -> bool:
        """Whether no more work can be admitted at all (a cheap check before tokenizing):
        the queued tokens are at their bound, or would already take longer to drain."""
        queued = self._queued_tokens
        if self._max_queued is not None and queued >= self._max_queued:
            return True
        wait = self._drain_seconds(queued)
        return (
            self._max_queue_seconds is not None
            and wait is not None
            and (wait >= self._max_queue_seconds)
        )

    def refusal(self, tokens: int) -> Overloaded | None:
        """Why a job of ``tokens`` model tokens would be refused now (``submit`` raises it);
        None if it would be queued. Also asked before tokenizing, with an estimate."""
        queued = self._queued_tokens
        if self._max_queued is not None and queued + tokens > self._max_queued:
            return Overloaded(
                f"the server has {queued} model tokens of work queued and this request "
                f"adds {tokens}; the limit is {self._max_queued} (--max-queued-tokens); "
                "retry later"
            )
        wait = self._drain_seconds(queued + tokens)
        if (
            self._max_queue_seconds is not None
            and wait is not None
            and queued > 0
            and wait > self._max_queue_seconds
        ):
            return Overloaded(
                f"the server's queued work would take about {wait:.0f} s at the "
                f"throughput measured now, more than {self._max_queue_seconds:g} s "
                "(half of --request-timeout); retry later"
            )
        return None

    # -- producers (any thread) -----------------------------------------------------------
    def submit(
        self,
        windows: Sequence[WindowTokens],
        alone: Sequence[bool] = (),
        finish: Finish | None = None,
        payload: Any = None,
    ) -> Future[JobResult]:
        """Queue a job; with ``finish``, the lane that completes it also turns its logits
        into its result (``JobResult.finished``), together with the other jobs of that batch
        that share an equal ``finish``: one vectorized pass instead of one per request."""
        job = Job(windows, self._clock(), alone=alone, finish=finish, payload=payload)
        tokens = job.tokens
        with self._cond:
            if self._crashed is not None or self._closing:
                raise Unavailable("the model worker is not running; the server is unhealthy")
            refusal = self.refusal(tokens)
            if refusal is not None:
                raise refusal
            self._jobs.append(job)
            self._live.add(job)
            self._queued_tokens += tokens
            depth = len(self._jobs)
            self._cond.notify()
        job.future.add_done_callback(functools.partial(self._on_done, job))
        self._report_depth(depth)
        return job.future

    def _on_done(self, job: Job, future: Future[JobResult]) -> None:
        """A job cancelled (client gone, timeout) leaves the queue at once: its windows no
        lane has taken stop counting against admission now, not when a lane next looks
        (after the batch running, which made an idle server refuse the next request)."""
        if future.cancelled():
            self._forget(job)

    # -- the worker thread ----------------------------------------------------------------
    def _main(self) -> None:
        try:
            while True:
                pieces = self._next_batch()
                if pieces is None:
                    return
                if pieces:
                    self._run(pieces)
        except BaseException as exc:
            # Not a model error (those are handled per batch): a bug in the loop itself. It is
            # logged, flagged for /health and turned into failed futures: never silent.
            log.critical("model worker died; failing all queued requests", exc_info=True)
            self._crashed = exc
            self.abort(Unavailable("the model worker stopped"))

    def _next_batch(self) -> list[Piece] | None:
        with self._cond:
            while True:
                self._drop_dead()
                if self._jobs:
                    break
                if self._closing:
                    return None  # closing and drained
                self._cond.wait()
            pieces = take_pieces(self._jobs, self._budget, self._padded_budget)
            self._queued_tokens -= sum(p.tokens for p in pieces)
            if any(p.stop == p.job.rows for p in pieces):
                # Wholly taken jobs leave the queue; their last batches are running.
                self._jobs = deque(job for job in self._jobs if job.taken < job.rows)
            depth = len(self._jobs)
            if depth:
                self._cond.notify()  # work is left: wake another lane (a submit woke only one)
        self._report_depth(depth)
        return pieces

    def _drop_dead(self) -> None:
        """Forget jobs nobody waits for any more (cancelled, or failed by ``abort``)."""
        if all(not job.future.done() for job in self._jobs):
            return
        live: deque[Job] = deque()
        for job in self._jobs:
            if job.future.done():
                self._queued_tokens -= job.remaining_tokens
                self._live.discard(job)
            else:
                live.append(job)
        self._jobs = live

    def _run(self, pieces: list[Piece]) -> None:
        now = self._clock()
        for piece in pieces:
            if piece.job.started is None:
                piece.job.started = now
        error = self._attempt(pieces)
        if error is None:
            return
        if len(pieces) == 1:
            self._fail(pieces[0], error)
            return
        log.warning(
            "model forward failed on a batch of %d requests; running them one by one",
            len(pieces),
            exc_info=error,
        )
        for piece in pieces:
            alone = self._attempt([piece])
            if alone is not None:
                self._fail(piece, alone)

    def _attempt(self, pieces: list[Piece]) -> Exception | None:
        """Run ``pieces`` as one batch and record them; the exception if the model raised."""
        windows = [w for piece in pieces for w in piece.windows]
        started = self._clock()
        try:
            if any(piece.job.alone for piece in pieces):
                alone = [
                    bool(piece.job.alone) and piece.job.alone[i]
                    for piece in pieces
                    for i in range(piece.start, piece.stop)
                ]
                logits = self._run_windows(windows, alone=alone)
            else:
                logits = self._run_windows(windows)
        except Exception as exc:  # torch, onnxruntime, CUDA OOM, a Lua transform...
            return exc
        elapsed = self._clock() - started
        self._learn_rate(sum(len(w) for w in windows), elapsed)
        self._record(pieces, logits, elapsed)
        self._report_batch(pieces, windows, elapsed)
        return None

    def _learn_rate(self, tokens: int, seconds: float) -> None:
        if tokens <= 0:
            return
        sample = seconds / tokens
        old = self._seconds_per_token
        self._seconds_per_token = sample if old is None else 0.8 * old + 0.2 * sample

    def _fail(self, piece: Piece, error: Exception) -> None:
        job = piece.job
        if isinstance(error, TransformError):
            # The model's Lua transform raised or ran over a limit: its message is written for
            # the caller (it names the limit and the build setting), and a traceback adds nothing.
            log.warning("the model's transform failed on a request: %s", error.message)
            failure = ModelFailure(f"the model's transform failed on this request: {error.message}")
        else:
            # The detail goes to the log, the caller gets a fixed message.
            log.error("model forward failed on a request of %d windows", job.rows, exc_info=error)
            failure = ModelFailure("the model failed on this request")
        _set_exception(job.future, failure)
        self._forget(job)

    def _record(self, pieces: list[Piece], logits: list[np.ndarray], elapsed: float) -> None:
        pos = 0
        finished: list[Job] = []
        with self._cond:  # lanes may finish pieces of the same job at once
            for piece in pieces:
                job, n = piece.job, piece.stop - piece.start
                job.logits[piece.start : piece.stop] = logits[pos : pos + n]
                pos += n
                job.finished += n
                job.model_seconds += elapsed
                if job.finished == job.rows:
                    finished.append(job)
                    self._live.discard(job)
        for finish, jobs in _by_finish(finished):
            self._resolve(finish, jobs)

    def _resolve(self, finish: Finish | None, jobs: list[Job]) -> None:
        values: list[Any] = [None] * len(jobs)
        errors: list[Exception | None] = [None] * len(jobs)
        started = time.time_ns()
        if finish is not None:
            live = [i for i, job in enumerate(jobs) if not job.future.done()]
            try:
                done = finish([jobs[i].payload for i in live], [_logits(jobs[i]) for i in live])
                for i, value in zip(live, done, strict=True):
                    values[i] = value
            except Exception:
                # One request's input must not fail the others: each again on its own.
                for i in live:
                    try:
                        values[i] = finish([jobs[i].payload], [_logits(jobs[i])])[0]
                    except Exception as exc:
                        errors[i] = exc
        span = (started, time.time_ns()) if finish is not None else None
        for job, value, error in zip(jobs, values, errors, strict=True):
            assert job.started is not None
            if error is not None:
                _set_exception(job.future, error)
                continue
            result = JobResult(
                _logits(job), job.started - job.enqueued, job.model_seconds, value, span
            )
            # Cancelled (or failed by another lane) while its last batch ran: nobody waits.
            with contextlib.suppress(InvalidStateError):
                job.future.set_result(result)

    def _forget(self, job: Job) -> None:
        """Take a failed job's windows that no lane has taken yet out of the queue."""
        with self._cond:
            self._live.discard(job)
            if job in self._jobs:
                self._queued_tokens -= job.remaining_tokens
                self._jobs.remove(job)

    def _report_batch(
        self, pieces: list[Piece], windows: list[WindowTokens], seconds: float
    ) -> None:
        if self._observer is None:
            return
        width = max((len(w) for w in windows), default=0)
        self._observer.on_batch(
            BatchStats(
                requests=len(pieces),
                windows=len(windows),
                tokens=sum(len(w) for w in windows),
                padded_tokens=len(windows) * width,
                model_seconds=seconds,
            )
        )

    def _report_depth(self, depth: int) -> None:
        if self._observer is not None:
            self._observer.on_queue_depth(depth)


def _logits(job: Job) -> list[np.ndarray]:
    return cast("list[np.ndarray]", job.logits)  # every window's are set once it finished


def _by_finish(jobs: list[Job]) -> list[tuple[Finish | None, list[Job]]]:
    """Jobs grouped by equal ``finish`` (a handful of groups: a linear scan; options hold
    dicts, so they compare but do not hash)."""
    groups: list[tuple[Finish | None, list[Job]]] = []
    for job in jobs:
        for finish, members in groups:
            if finish == job.finish:
                members.append(job)
                break
        else:
            groups.append((job.finish, [job]))
    return groups


def _set_exception(future: Future[JobResult], error: Exception) -> int:
    """Fail ``future`` unless it is already done or cancelled; 1 if it was failed."""
    try:
        future.set_exception(error)
    except InvalidStateError:
        return 0
    return 1
