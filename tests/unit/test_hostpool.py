"""nerve.hostpool: tokenizing and decoding in worker processes give the engine's results;
bad inputs fail as in the engine; a lost worker is named; no process outlives its pool."""

from __future__ import annotations

import os
import signal
from pathlib import Path
from typing import Any

import pytest

import nerve
from nerve.engine.core import Engine
from nerve.errors import HostPoolError, InputTooLong, InvalidInput
from nerve.hostpool import HostPool
from nerve.patterns import Pattern, Patterns

TEXTS = [
    "Angela Merkel met Emmanuel Macron in Berlin on Tuesday.",
    "",
    "Tim Cook visited Paris.",
    "ACME Corp. sued U.K.-based Foo Ltd in the High Court of Justice.",
    "nothing here at all",
    # Longer than the tiny model's window: several windows, stitched back by the worker.
    " ".join(f"Sentence {i} says John Smith works at Google in London." for i in range(60)),
]


def _key(result: Any) -> list[tuple[Any, ...]]:
    return [(e.label, e.start, e.end, e.word, e.pattern_id) for e in result.entities]


def _same(pool_results: list[Any], engine_results: list[Any]) -> None:
    """Equal entities; scores equal up to float rounding (the batches differ)."""
    assert len(pool_results) == len(engine_results)
    for got, want in zip(pool_results, engine_results, strict=True):
        assert got.text == want.text and got.read_span == want.read_span
        assert _key(got) == _key(want)
        for a, b in zip(got.entities, want.entities, strict=True):
            assert a.score == pytest.approx(b.score, abs=1e-5)


@pytest.fixture(scope="module")
def engine(onnx_model_dir: Path) -> Engine:
    # A float32 graph: a window's logits do not depend on its batch-mates (int8 ones do).
    return nerve.load(onnx_model_dir, backend="onnx")


@pytest.fixture(scope="module")
def pool(engine: Engine) -> Any:
    with HostPool(engine, 2, chunk_texts=2) as pool:
        yield pool


@pytest.mark.parametrize("strategy", ["none", "simple", "first", "average", "max"])
def test_the_pool_gives_the_engines_results(pool: HostPool, engine: Engine, strategy: str) -> None:
    texts = TEXTS * 3  # 18 texts in chunks of 2: each worker gets several chunks
    want = engine(texts, aggregation_strategy=strategy)
    got = pool(texts, aggregation_strategy=strategy)
    _same(got, want)
    assert sum(len(r.entities) for r in want) >= 10  # the tiny model tags enough to compare


def test_options_single_texts_and_empty_calls(pool: HostPool, engine: Engine) -> None:
    options = {"aggregation_strategy": "simple", "ignore_labels": ["O", "B-PER", "I-PER"]}
    _same(pool(TEXTS, **options), engine(TEXTS, **options))
    truncated = pool(TEXTS[-1], truncate=True)
    assert truncated.read_span is not None
    _same([truncated], [engine(TEXTS[-1], truncate=True)])
    assert pool([]) == []


def test_patterns_are_applied_in_the_workers(engine: Engine) -> None:
    ruled = nerve.load(engine.model_dir, backend="onnx")
    ruled.patterns = Patterns([Pattern("ORG", "High Court of Justice", id="court")])
    with HostPool(ruled, 1) as pool:
        got = pool(TEXTS, aggregation_strategy="simple")
    _same(got, ruled(TEXTS, aggregation_strategy="simple"))
    assert any(e.pattern_id == "court" for e in got[3].entities)


def test_a_bad_input_fails_as_in_the_engine_and_the_pool_goes_on(
    pool: HostPool, engine: Engine
) -> None:
    too_long = [TEXTS[0], TEXTS[-1]]
    with pytest.raises(InputTooLong) as from_engine:
        engine(too_long, allow_windows=False)
    with pytest.raises(InputTooLong) as from_pool:
        pool(too_long * 4, allow_windows=False)
    assert from_pool.value.message == from_engine.value.message
    with pytest.raises(InvalidInput, match="input 1 must be a string"):
        pool(["fine", 3])  # type: ignore[list-item]
    _same(pool(TEXTS), engine(TEXTS))  # nothing of the failed calls is left behind


def test_a_lost_worker_is_named_and_the_pool_refuses_further_calls(engine: Engine) -> None:
    pool = HostPool(engine, 2, chunk_texts=1)
    try:
        victim = pool._workers[1].process
        os.kill(victim.pid, signal.SIGKILL)
        victim.wait(10)
        with pytest.raises(
            HostPoolError, match=r"host worker nerve-host-1 stopped \(exit code -9\)"
        ):
            pool(TEXTS * 2)
        with pytest.raises(HostPoolError, match="make a new one"):
            pool(TEXTS)
    finally:
        pool.close()
    assert all(w.process.poll() is not None for w in pool._workers)


def test_close_stops_every_worker(engine: Engine) -> None:
    with HostPool(engine, 2) as pool:
        assert pool.workers == 2
        processes = [w.process for w in pool._workers]
        assert all(p.poll() is None for p in processes)
    assert all(p.poll() == 0 for p in processes)  # told to stop, they exited cleanly
    pool.close()  # again: nothing to do
    with pytest.raises(HostPoolError, match="closed"):
        pool(TEXTS)


@pytest.mark.parametrize("workers", [0, -1, 1.5, True, "2"])
def test_the_number_of_workers_is_checked(engine: Engine, workers: Any) -> None:
    with pytest.raises(InvalidInput, match="host workers must be a positive integer"):
        HostPool(engine, workers)


def test_calls_from_several_threads_each_get_their_own_results(
    pool: HostPool, engine: Engine
) -> None:
    from concurrent.futures import ThreadPoolExecutor

    batches = [TEXTS[i:] + TEXTS[:i] for i in range(len(TEXTS))]
    with ThreadPoolExecutor(4) as threads:
        got = list(threads.map(lambda texts: pool(texts, aggregation_strategy="first"), batches))
    for texts, results in zip(batches, got, strict=True):
        _same(results, engine(texts, aggregation_strategy="first"))


def test_texts_are_cut_into_chunks_by_count_and_by_characters() -> None:
    from nerve.hostpool.pool import _chunks

    texts = ["a" * n for n in (5, 5, 5, 30, 5, 100, 1, 1, 1, 1)]
    chunks = _chunks(texts, most_texts=3, most_chars=20)
    assert [t for chunk in chunks for t in chunk] == texts  # every text once, in order
    assert [len(chunk) for chunk in chunks] == [3, 1, 1, 1, 3, 1]
    assert _chunks([], 3, 20) == []


def test_large_messages_both_ways_do_not_block_the_pool(engine: Engine) -> None:
    """Long documents make every message larger than a socket's buffer, both ways (a chunk's
    logits to a worker, its windows and results back): neither side may wait on the other."""
    import threading

    documents = [TEXTS[-1] * 36 for _ in range(4)]  # ~120,000 characters: 1 MB of logits
    outcome: list[Any] = []
    with HostPool(engine, 2, chunk_texts=1) as pool:
        call = threading.Thread(target=lambda: outcome.append(pool(documents)), daemon=True)
        call.start()
        call.join(120)
        assert not call.is_alive(), "the pool and its workers blocked each other"
    _same(outcome[0], engine(documents))
