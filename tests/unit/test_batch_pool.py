"""CPU batch sizes and the concurrent batch runner."""

from __future__ import annotations

import threading

from nerve.engine.batching import BatchPool, model_batch_tokens, windows_run_alone


def test_cpu_backends_get_small_batches_accelerators_the_budget() -> None:
    assert model_batch_tokens("onnx", "cpu", 16384) == 512
    assert model_batch_tokens("onnx", "cpu", 100) == 100  # the caller's cap still wins
    assert model_batch_tokens("torch", "cuda:0", 16384) == 16384
    assert model_batch_tokens("fake", "cpu", 16384) == 16384
    # Dynamic int8: a long text's windows run one per call (their scale then depends on no
    # batch-mate); float graphs batch everything.
    assert windows_run_alone("int8") and not windows_run_alone("float32")


def test_pool_keeps_order_and_runs_single_batches_inline() -> None:
    pool = BatchPool(2)
    callers: set[str] = set()

    def work(x: int) -> int:
        callers.add(threading.current_thread().name)
        return x * x

    assert pool.map(work, [3]) == [9]
    assert callers == {threading.current_thread().name}  # no hand-off for one batch
    assert pool.map(work, list(range(50))) == [x * x for x in range(50)]
    assert any(name.startswith("nerve-batch") for name in callers)
    pool.close()
    assert BatchPool(1).map(work, [1, 2]) == [1, 4]
