"""Admission and the model worker, with a fake model: no HTTP, no real weights."""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Sequence

import numpy as np
import pytest

from nerve.decode.tokens import WindowTokens
from nerve.errors import Overloaded
from nerve.server.errors import ModelFailure, Unavailable
from nerve.server.scheduler import Admission, BatchStats, Job, ModelWorker, take_pieces

N_LABELS = 3


def window(n_tokens: int, first_id: int = 0) -> WindowTokens:
    ids = np.arange(first_id, first_id + n_tokens)
    return WindowTokens(
        ids=ids,
        offsets=np.zeros((n_tokens, 2)),
        special=np.zeros(n_tokens, dtype=bool),
        tokens=["t"] * n_tokens,
    )


def fake_logits(windows: Sequence[WindowTokens]) -> list[np.ndarray]:
    """Logits that encode each token's id, so a test can see which window came back where."""
    return [np.repeat(w.ids[:, None].astype(np.float32), N_LABELS, axis=1) for w in windows]


class Recorder:
    """A BatchObserver that keeps what it is told."""

    def __init__(self) -> None:
        self.batches: list[BatchStats] = []
        self.depths: list[int] = []

    def on_batch(self, stats: BatchStats) -> None:
        self.batches.append(stats)

    def on_queue_depth(self, depth: int) -> None:
        self.depths.append(depth)


class GatedModel:
    """A fake model whose first call blocks until released, so jobs pile up behind it."""

    def __init__(self, fail_on_id: int | None = None) -> None:
        self.gate = threading.Event()
        self.entered = threading.Event()
        self.calls: list[list[int]] = []  # first token id of each window, per call
        self.fail_on_id = fail_on_id

    def __call__(self, windows: list[WindowTokens]) -> list[np.ndarray]:
        self.calls.append([int(w.ids[0]) for w in windows])
        self.entered.set()
        self.gate.wait(10)
        if self.fail_on_id is not None and any(int(w.ids[0]) == self.fail_on_id for w in windows):
            raise RuntimeError("simulated CUDA error")
        return fake_logits(windows)


# -- Admission -----------------------------------------------------------------------------
def test_admission_refuses_beyond_the_limit_and_recovers() -> None:
    admission = Admission(2)
    admission.enter()
    admission.enter()
    with pytest.raises(Overloaded, match="limit of 2 concurrent requests"):
        admission.enter()
    admission.leave()
    admission.enter()  # a slot freed up: admitted again
    assert admission.in_flight == 2


# -- take_pieces ---------------------------------------------------------------------------
def jobs_of(*shapes: tuple[int, int]) -> deque[Job]:
    """Jobs of ``rows`` windows of ``width`` tokens each (first ids 0, 100, 200...)."""
    return deque(
        Job([window(width, 100 * i)] * rows, 0.0) for i, (rows, width) in enumerate(shapes)
    )


def test_take_pieces_interleaves_a_large_job_with_a_small_one() -> None:
    jobs = jobs_of((10, 10), (1, 10))
    # Round 1: one window of each; then the large job alone until 4 rows x 10 = 40.
    pieces = take_pieces(jobs, 40)
    assert [(p.job.rows, p.start, p.stop) for p in pieces] == [(10, 0, 3), (1, 0, 1)]


def test_take_pieces_counts_padding_to_the_longest_window() -> None:
    jobs = jobs_of((1, 10), (1, 40))
    # Unpadded 50 tokens would fit 60, but the batch is 2 rows x 40 = 80.
    pieces = take_pieces(jobs, 60)
    assert [p.stop - p.start for p in pieces] == [1]


def test_take_pieces_counts_real_tokens_for_a_runner_that_sorts() -> None:
    jobs = jobs_of((1, 10), (1, 40), (1, 20))
    # Unpadded: 10 + 40 = 50 fits 60, a third window (70) does not.
    pieces = take_pieces(jobs, 60, padded=False)
    assert [p.stop - p.start for p in pieces] == [1, 1]


def test_take_pieces_always_takes_one_window_even_over_budget() -> None:
    pieces = take_pieces(jobs_of((8, 100), (1, 5)), 50)
    assert [(p.job.rows, p.stop - p.start) for p in pieces] == [(8, 1)]


def test_take_pieces_rotates_so_the_next_batch_starts_where_this_one_stopped() -> None:
    jobs = jobs_of((5, 10), (5, 10), (5, 10))
    first = take_pieces(jobs, 20)  # room for two windows: jobs 0 and 1
    assert [p.job.windows[0].ids[0] for p in first] == [0, 100]
    assert jobs[0].windows[0].ids[0] == 200  # job 2 goes first next time


def test_take_pieces_continues_a_job_where_it_stopped() -> None:
    jobs = jobs_of((5, 10))
    jobs[0].taken = 3
    (piece,) = take_pieces(jobs, 1000)
    assert (piece.start, piece.stop) == (3, 5)


# -- ModelWorker ---------------------------------------------------------------------------
def test_worker_merges_queued_jobs_into_one_batch_and_routes_results() -> None:
    model = GatedModel()
    observer = Recorder()
    worker = ModelWorker(model, max_batch_tokens=10_000, observer=observer)
    worker.start()
    try:
        first = worker.submit([window(4, first_id=100)])
        assert model.entered.wait(5)  # the worker is busy with the first job
        queued = [
            worker.submit([window(3, first_id=10 * i), window(2, 10 * i + 5)]) for i in range(5)
        ]
        model.gate.set()
        first.result(5)
        results = [f.result(5) for f in queued]
    finally:
        worker.close(5)
    # The five jobs that queued up behind the first ran as ONE forward pass.
    assert len(model.calls) == 2 and len(model.calls[1]) == 10
    for i, result in enumerate(results):
        # Each job got back its own windows' logits, in order.
        assert [int(lg[0, 0]) for lg in result.logits] == [10 * i, 10 * i + 5]
        assert result.queue_seconds >= 0 and result.model_seconds >= 0
    assert [b.requests for b in observer.batches] == [1, 5]
    assert observer.batches[1].padded_tokens == 10 * 3  # 10 rows x longest window (3)
    assert observer.batches[1].tokens == 5 * (3 + 2)


def test_worker_skips_a_job_cancelled_while_queued() -> None:
    model = GatedModel()
    worker = ModelWorker(model, max_batch_tokens=10_000)
    worker.start()
    try:
        busy = worker.submit([window(2, first_id=1)])
        assert model.entered.wait(5)
        dropped = worker.submit([window(2, first_id=2)])
        kept = worker.submit([window(2, first_id=3)])
        assert dropped.cancel()  # the client went away while its job was queued
        model.gate.set()
        busy.result(5)
        kept.result(5)
    finally:
        worker.close(5)
    assert model.calls == [[1], [3]]  # the cancelled job's window never reached the model


def test_model_error_fails_only_that_batch_and_the_worker_goes_on() -> None:
    model = GatedModel(fail_on_id=7)
    model.gate.set()
    worker = ModelWorker(model, max_batch_tokens=10_000)
    worker.start()
    try:
        failing = worker.submit([window(2, first_id=7)])
        with pytest.raises(ModelFailure) as info:
            failing.result(5)
        # A fixed message: the backend's exception text stays in the server log.
        assert "simulated" not in info.value.message
        ok = worker.submit([window(2, first_id=1)])
        assert ok.result(5).logits[0].shape == (2, N_LABELS)
        assert worker.healthy
    finally:
        worker.close(5)


def test_a_failing_request_does_not_fail_the_requests_merged_with_it() -> None:
    """The merged batch fails; each request is retried alone and only the culprit fails."""
    model = GatedModel(fail_on_id=7)
    recorder = Recorder()
    worker = ModelWorker(model, max_batch_tokens=10_000, observer=recorder)
    worker.start()
    try:
        busy = worker.submit([window(2, first_id=1)])
        assert model.entered.wait(5)
        before = worker.submit([window(2, first_id=3)])
        failing = worker.submit([window(2, first_id=7)])
        after = worker.submit([window(3, first_id=4), window(2, first_id=5)])
        model.gate.set()
        busy.result(5)
        with pytest.raises(ModelFailure, match="this request"):
            failing.result(5)
        assert before.result(5).logits[0][:, 0].tolist() == [3, 4]
        assert [lg[:, 0].tolist() for lg in after.result(5).logits] == [[4, 5, 6], [5, 6]]
    finally:
        worker.close(5)
    # The three queued jobs went in as one batch, then one call each.
    assert model.calls == [[1], [3, 7, 4, 5], [3], [7], [4, 5]]
    # Metrics count the batches that produced answers: the busy one and the two survivors.
    assert [b.requests for b in recorder.batches] == [1, 1, 1]


class ExplodingObserver(Recorder):
    def on_batch(self, stats: BatchStats) -> None:
        raise RuntimeError("a bug in the loop itself")


def test_a_dying_worker_turns_unhealthy_and_refuses_new_work() -> None:
    model = GatedModel()
    model.gate.set()
    worker = ModelWorker(model, max_batch_tokens=10_000, observer=ExplodingObserver())
    worker.start()
    first = worker.submit([window(2)])
    first.result(5)  # resolved before the observer blew up
    deadline = time.monotonic() + 5
    while worker.healthy and time.monotonic() < deadline:
        time.sleep(0.01)
    assert not worker.healthy  # /health now answers 503
    with pytest.raises(Unavailable, match="not running"):
        worker.submit([window(2)])
    worker.close(5)


def test_close_drains_the_queue_first() -> None:
    model = GatedModel()
    worker = ModelWorker(model, max_batch_tokens=10_000)
    worker.start()
    futures = [worker.submit([window(2, first_id=i)]) for i in range(3)]
    model.gate.set()
    worker.close(5)
    assert all(f.result(0).logits for f in futures)
    assert not worker.healthy


# -- fairness, cancellation and admission by work -------------------------------------------
class CountingModel:
    """A fake model that records each call's first ids and can hold the first call."""

    def __init__(self) -> None:
        self.calls: list[list[int]] = []
        self.gate = threading.Event()
        self.entered = threading.Event()

    def __call__(self, windows: list[WindowTokens]) -> list[np.ndarray]:
        self.calls.append([int(w.ids[0]) for w in windows])
        self.entered.set()
        self.gate.wait(10)
        return fake_logits(windows)


def test_a_sentence_behind_a_large_document_waits_about_one_batch() -> None:
    model = CountingModel()
    # A budget of 4 windows of 10 tokens per batch; the document has 100 windows.
    worker = ModelWorker(model, max_batch_tokens=40)
    worker.start()
    try:
        document = worker.submit([window(10, 1000 + i) for i in range(100)])
        assert model.entered.wait(5)
        sentence = worker.submit([window(10, 7)])
        model.gate.set()
        sentence.result(5)
        result = document.result(10)
    finally:
        worker.close(5)
    # The sentence rides in the batch right after the one running when it arrived (the
    # document has 96 windows left, but FIFO would have put it 25 batches later).
    assert [7 in call for call in model.calls].index(True) == 1
    # The document still comes back whole and in order.
    assert [int(lg[0, 0]) for lg in result.logits] == [1000 + i for i in range(100)]


def test_a_cancelled_request_costs_at_most_the_batch_already_running() -> None:
    model = CountingModel()
    worker = ModelWorker(model, max_batch_tokens=20)  # two windows per batch
    worker.start()
    try:
        document = worker.submit([window(10, 1000 + i) for i in range(50)])
        assert model.entered.wait(5)
        assert document.cancel()  # the client went away mid-document
        model.gate.set()
        probe = worker.submit([window(10, 5)])  # a later request is still served
        probe.result(5)
    finally:
        worker.close(5)
    document_calls = [c for c in model.calls if any(i >= 1000 for i in c)]
    assert len(document_calls) == 1  # only the batch that was already running
    assert worker.queued_tokens == 0


def test_a_cancelled_request_stops_counting_against_admission_at_once() -> None:
    """Its queued windows were dropped only when a lane next built a batch: right after a
    timeout, an idle server refused the next request as holding too much queued work."""
    model = CountingModel()
    worker = ModelWorker(model, max_batch_tokens=10, max_queued_tokens=100)
    worker.start()
    try:
        busy = worker.submit([window(10, 1)])
        assert model.entered.wait(5)  # a batch is running: no lane looks at the queue
        document = worker.submit([window(10, 2 + i) for i in range(10)])
        assert worker.queued_tokens == 100 and worker.full
        assert document.cancel()
        assert worker.queued_tokens == 0 and not worker.full  # before any lane ran again
        small = worker.submit([window(10, 60)])  # admitted while the batch still runs
        model.gate.set()
        busy.result(5)
        small.result(5)
    finally:
        worker.close(5)
    assert not any(any(2 <= i < 12 for i in c) for c in model.calls)  # never ran
    assert worker.queued_tokens == 0


def test_work_beyond_the_queued_token_limit_is_refused_at_once() -> None:
    model = CountingModel()
    worker = ModelWorker(model, max_batch_tokens=10, max_queued_tokens=100)
    worker.start()
    try:
        busy = worker.submit([window(10, 1)])
        assert model.entered.wait(5)  # its tokens left the queue with the batch
        queued = worker.submit([window(10, 2 + i) for i in range(9)])  # 90 tokens queued
        assert worker.queued_tokens == 90 and not worker.full
        with pytest.raises(Overloaded, match="limit is 100 .--max-queued-tokens."):
            worker.submit([window(20, 50)])
        small = worker.submit([window(10, 60)])  # exactly up to the limit still fits
        assert worker.full
        model.gate.set()
        busy.result(5)
        queued.result(5)
        small.result(5)
        assert worker.queued_tokens == 0
        worker.submit([window(20, 70)]).result(5)  # admitted again once the work ran
    finally:
        worker.close(5)


def test_abort_fails_every_waiting_request_with_the_given_error() -> None:
    model = CountingModel()
    worker = ModelWorker(model, max_batch_tokens=10)
    worker.start()
    try:
        running = worker.submit([window(10, 1)])
        assert model.entered.wait(5)
        waiting = [worker.submit([window(10, 2 + i)]) for i in range(3)]
        assert worker.abort(Unavailable("the server is shutting down")) >= 3
        for future in waiting:
            with pytest.raises(Unavailable, match="shutting down"):
                future.result(1)
        model.gate.set()
        with pytest.raises(Unavailable):
            running.result(5)  # aborted too: its batch finishes, the result goes nowhere
    finally:
        worker.close(5)
    assert worker.queued_tokens == 0


def test_work_that_would_outlast_the_queue_time_at_the_measured_rate_is_refused() -> None:
    now = [0.0]

    class SlowModel(CountingModel):
        def __call__(self, windows: list[WindowTokens]) -> list[np.ndarray]:
            now[0] += 0.1 * sum(len(w) for w in windows)  # 0.1 s per token, on a fake clock
            return super().__call__(windows)

    model = SlowModel()
    worker = ModelWorker(model, max_batch_tokens=10, clock=lambda: now[0], max_queue_seconds=5.0)
    worker.start()
    try:
        model.gate.set()
        worker.submit([window(10, 1)]).result(5)  # teaches the rate: 1 s for 10 tokens
        model.gate.clear()
        model.entered.clear()
        busy = worker.submit([window(10, 2)])
        assert model.entered.wait(5)  # held in the model
        queued = worker.submit([window(10, 3 + i) for i in range(4)])  # 40 tokens: 4 s
        with pytest.raises(Overloaded, match="would take about 6 s"):
            worker.submit([window(20, 50)])  # 60 tokens: 6 s > 5 s
        assert not worker.full  # 4 s queued: a small request still fits
        worker.submit([window(10, 60)])  # 50 tokens: 5 s, at the bound
        assert worker.full  # now refused before anyone tokenizes
        model.gate.set()
        busy.result(5)
        queued.result(5)
    finally:
        model.gate.set()
        worker.close(5)


# -- lanes and finishing --------------------------------------------------------------------
class SlowFirstModel:
    """Two lanes: the call holding the window with id ``slow_id`` finishes last, so a job's
    pieces come back out of order."""

    def __init__(self, slow_id: int) -> None:
        self.slow_id = slow_id
        self.threads: set[str] = set()
        self.lock = threading.Lock()

    def __call__(self, windows: list[WindowTokens]) -> list[np.ndarray]:
        with self.lock:
            self.threads.add(threading.current_thread().name)
        if any(int(w.ids[0]) == self.slow_id for w in windows):
            time.sleep(0.3)
        return fake_logits(windows)


def test_two_lanes_run_a_jobs_pieces_at_once_and_put_its_logits_in_order() -> None:
    model = SlowFirstModel(slow_id=100)
    # A budget of one window per batch: the job's three windows go to different batches.
    worker = ModelWorker(model, max_batch_tokens=4, lanes=2)
    worker.start()
    try:
        job = worker.submit([window(4, first_id=100), window(4, 200), window(4, 300)])
        result = job.result(5)
    finally:
        worker.close(5)
    assert [int(lg[0, 0]) for lg in result.logits] == [100, 200, 300]
    assert model.threads == {"nerve-model-lane-0", "nerve-model-lane-1"}


def test_abort_fails_jobs_whose_last_batch_is_already_running() -> None:
    model = GatedModel()
    worker = ModelWorker(model, max_batch_tokens=10_000, lanes=2)
    worker.start()
    try:
        running = worker.submit([window(2, first_id=1)])
        assert model.entered.wait(5)
        assert worker.queue_depth == 0  # wholly taken: no longer queued, still not answered
        assert worker.abort(Unavailable("shutting down")) == 1
        with pytest.raises(Unavailable, match="shutting down"):
            running.result(1)
    finally:
        model.gate.set()
        worker.close(5)


class Tally:
    """A ``finish`` that sums each job's logits, and records each call's payloads."""

    def __init__(self, fail_on: str | None = None) -> None:
        self.calls: list[list[str]] = []
        self.fail_on = fail_on

    def __call__(self, payloads: list[str], logits: list[list[np.ndarray]]) -> list[float]:
        self.calls.append(list(payloads))
        if self.fail_on in payloads:
            raise ValueError(f"cannot finish {self.fail_on}")
        return [float(sum(lg.sum() for lg in job)) for job in logits]

    def __eq__(self, other: object) -> bool:  # equal finishes are grouped; this one is unique
        return other is self

    __hash__ = object.__hash__


def test_jobs_finished_by_one_batch_are_finished_together_by_an_equal_finish() -> None:
    model = GatedModel()
    tally, other = Tally(), Tally()
    worker = ModelWorker(model, max_batch_tokens=10_000)
    worker.start()
    try:
        busy = worker.submit([window(1, first_id=0)])
        assert model.entered.wait(5)
        jobs = [
            worker.submit([window(2, first_id=i)], finish=tally, payload=f"j{i}") for i in (1, 2)
        ]
        odd = worker.submit([window(2, first_id=5)], finish=other, payload="odd")
        model.gate.set()
        busy.result(5)
        results = [job.result(5) for job in jobs]
        odd_result = odd.result(5)
    finally:
        worker.close(5)
    assert tally.calls == [["j1", "j2"]] and other.calls == [["odd"]]
    # window(2, first_id=i): ids i, i+1, each repeated over N_LABELS columns.
    assert [r.finished for r in results] == [(1 + 2) * N_LABELS, (2 + 3) * N_LABELS]
    assert odd_result.finished == (5 + 6) * N_LABELS
    assert all(r.finish_ns is not None and r.finish_ns[0] <= r.finish_ns[1] for r in results)
    assert busy.result(0).finished is None and busy.result(0).finish_ns is None


def test_a_finish_that_fails_on_one_job_fails_only_that_job() -> None:
    model = GatedModel()
    tally = Tally(fail_on="bad")
    worker = ModelWorker(model, max_batch_tokens=10_000)
    worker.start()
    try:
        busy = worker.submit([window(1, first_id=0)])
        assert model.entered.wait(5)
        good = worker.submit([window(2, first_id=1)], finish=tally, payload="good")
        bad = worker.submit([window(2, first_id=3)], finish=tally, payload="bad")
        model.gate.set()
        busy.result(5)
        assert good.result(5).finished == (1 + 2) * N_LABELS
        with pytest.raises(ValueError, match="cannot finish bad"):
            bad.result(5)
    finally:
        worker.close(5)
    assert tally.calls == [["good", "bad"], ["good"], ["bad"]]
