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
from nerve.server.scheduler import Admission, BatchStats, Job, ModelWorker, take_jobs

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


# -- take_jobs -----------------------------------------------------------------------------
def jobs_of(*shapes: tuple[int, int]) -> deque[Job]:
    """Jobs of ``rows`` windows of ``width`` tokens each."""
    return deque(Job([window(width)] * rows, 0.0) for rows, width in shapes)


def test_take_jobs_fills_the_padded_budget_in_fifo_order() -> None:
    queue = jobs_of((2, 10), (2, 10), (2, 10))
    # 4 rows x 10 = 40 fits a budget of 45; a third job would make 6 x 10 = 60.
    taken = take_jobs(queue, 45)
    assert [j.rows for j in taken] == [2, 2]
    assert len(queue) == 1


def test_take_jobs_counts_padding_to_the_longest_window() -> None:
    queue = jobs_of((1, 10), (1, 40))
    # Unpadded 50 tokens would fit 60, but the batch is 2 rows x 40 = 80.
    taken = take_jobs(queue, 60)
    assert len(taken) == 1 and len(queue) == 1


def test_take_jobs_always_takes_one_job_even_over_budget() -> None:
    queue = jobs_of((8, 100), (1, 5))
    taken = take_jobs(queue, 50)
    assert [j.rows for j in taken] == [8]


def test_take_jobs_drops_cancelled_jobs() -> None:
    queue = jobs_of((1, 10), (1, 10), (1, 10))
    queue[0].future.cancel()
    queue[2].future.cancel()
    taken = take_jobs(queue, 1000)
    assert len(taken) == 1 and not taken[0].future.cancelled()
    assert not queue


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
