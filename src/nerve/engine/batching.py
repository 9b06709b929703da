"""Padding-aware token-budget batching, and running model batches concurrently."""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

import numpy as np

T = TypeVar("T")
R = TypeVar("R")

# Padded tokens per model batch on CPU, by backend. ONNX Runtime (single-threaded runs, one per
# core): measured with a MiniLM-L6 int8 graph on this project's 2-core Xeon, CoNLL test
# sentences, one thread: ~16,500 tok/s per core for batches of 128-512 tokens, 14,600 at
# 1,024, 12,900 at 2,048 and 4,300 at 16,384, where a batch's activations no longer fit in
# cache. torch (two intra-op threads, more overhead per call) measured best near 4,096.
# Large batches only pay off on accelerators, which get ``max_batch_tokens`` as given.
CPU_BATCH_TOKENS = {"onnx": 512, "torch": 4096}


def model_batch_tokens(backend: str, device: str, max_batch_tokens: int) -> int:
    """The padded batch size the engine uses: ``max_batch_tokens`` caps it; CPUs want less."""
    if device == "cpu" and backend in CPU_BATCH_TOKENS:
        return min(max_batch_tokens, CPU_BATCH_TOKENS[backend])
    return max_batch_tokens


def windows_run_alone(dtype: str) -> bool:
    """Whether the windows of a long text run one per model call.

    Dynamic int8 graphs compute their activation scale over the whole batch tensor, so a
    window's logits (and, near a decision boundary, its labels) depend on which windows share
    its batch: the same paragraph of a long document came out differently at different places
    (docs/default-model.md, "Long inputs"). A long text's windows therefore run alone. Texts
    that fit one window stay batched: one call per short text cost 37% of the short-text
    throughput (1,000 CoNLL sentences in one call, same run, AMD EPYC, 2 cores), while a long
    text's windows are large enough that per-call overhead does not show.
    """
    return dtype == "int8"


def budget_batches(lengths: Sequence[int], max_tokens: int, max_rows: int = 512) -> list[list[int]]:
    """Group item indices so that each batch's padded size (rows × longest) fits ``max_tokens``.

    Items are taken longest first, so each batch holds items of similar length and padding
    stays small. An item longer than the budget still gets a batch of its own.
    """
    order = sorted(range(len(lengths)), key=lambda i: -lengths[i])
    out: list[list[int]] = []
    current: list[int] = []
    width = 0
    for i in order:
        w = max(width, lengths[i])
        if current and (w * (len(current) + 1) > max_tokens or len(current) >= max_rows):
            out.append(current)
            current, w = [], lengths[i]
        current.append(i)
        width = w
    if current:
        out.append(current)
    return out


# Windows whose lengths differ by less than this share a batch: on CPU a model call's cost is
# its padded tokens plus a fixed part worth a few tokens (MiniLM int8 on ONNX Runtime: ~39 µs a
# padded token, ~80 µs a call), so padding a window by more than a tenth costs more than a
# call of its own.
SPREAD_WIDTH_TOLERANCE = 0.1


def spread_batches(lengths: Sequence[int], max_tokens: int) -> list[list[int]]:
    """Items in batches of near-equal length (little padding), costliest batch first, for
    the engine's sessions to take in turn (each takes the next as it finishes, so the cores
    end together).

    A server's batch is whatever arrived while the previous one ran: sentences of every
    length. ``budget_batches`` would run them as one padded batch on one core, and padding a
    short sentence to the longest costs as much as running it.
    """
    order = sorted(range(len(lengths)), key=lambda i: -lengths[i])
    batches: list[list[int]] = []
    current: list[int] = []
    width = 0
    for i in order:
        n = lengths[i]
        fits = current and (len(current) + 1) * width <= max_tokens
        if fits and n >= width * (1 - SPREAD_WIDTH_TOLERANCE):
            current.append(i)
            continue
        if current:
            batches.append(current)
        current, width = [i], n
    if current:
        batches.append(current)
    batches.sort(key=lambda batch: -len(batch) * lengths[batch[0]])
    return batches


def packed_batches(lengths: Sequence[int], max_tokens: int) -> list[list[int]]:
    """Consecutive items whose total length fits ``max_tokens`` (no padding is computed)."""
    out: list[list[int]] = []
    current: list[int] = []
    total = 0
    for i, n in enumerate(lengths):
        if current and total + n > max_tokens:
            out.append(current)
            current, total = [], 0
        current.append(i)
        total += n
    if current:
        out.append(current)
    return out


def packed_index(lengths: Sequence[int]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Packed rows of these lengths, laid end to end: each token's sequence and position
    (int64 [T] each) and the cumulative lengths (int32 [n + 1], from 0), computed on the host
    so that a GPU forward pass needs no device-to-host wait to find them."""
    n_tokens = np.asarray(lengths, dtype=np.int64)
    cu = np.zeros(len(n_tokens) + 1, dtype=np.int32)
    np.cumsum(n_tokens, out=cu[1:])
    seq = np.repeat(np.arange(len(n_tokens), dtype=np.int64), n_tokens)
    pos = np.arange(int(cu[-1]), dtype=np.int64) - cu[:-1].astype(np.int64)[seq]
    return seq, pos, cu


def pad_rows(rows: Sequence[np.ndarray], pad_id: int) -> tuple[np.ndarray, np.ndarray]:
    """Right-pad int64 rows → (ids [batch, width], attention mask [batch, width])."""
    width = max(len(r) for r in rows)
    ids = np.full((len(rows), width), pad_id, dtype=np.int64)
    mask = np.zeros((len(rows), width), dtype=np.int64)
    for row, r in enumerate(rows):
        ids[row, : len(r)] = r
        mask[row, : len(r)] = 1
    return ids, mask


class BatchPool:
    """Runs model batches ``workers`` at a time on threads (backends release the GIL).

    With one worker, or one batch, everything runs in the caller's thread: no hand-off cost
    for the single short text. The executor is created on first use and shared by all calls.
    """

    def __init__(self, workers: int) -> None:
        self.workers = max(1, workers)
        self._executor: ThreadPoolExecutor | None = None
        self._lock = threading.Lock()

    def map(self, fn: Callable[[T], R], items: Sequence[T]) -> list[R]:
        if self.workers == 1 or len(items) <= 1:
            return [fn(item) for item in items]
        return list(self._pool().map(fn, items))

    def _pool(self) -> ThreadPoolExecutor:
        with self._lock:
            if self._executor is None:
                self._executor = ThreadPoolExecutor(self.workers, thread_name_prefix="nerve-batch")
            return self._executor

    def close(self) -> None:
        with self._lock:
            if self._executor is not None:
                self._executor.shutdown(wait=True)
                self._executor = None
