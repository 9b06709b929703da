"""CUDA graphs for small packed batches: one replay instead of a launch per kernel.

A one-sentence request is latency-bound on a GPU: a forward pass of BERT-base is a few hundred
kernels, each launched from Python for a few microseconds of host time, while the GPU finishes
most of them faster than that. A CUDA graph records the launches of one forward pass once and
replays them with one call. A graph holds fixed shapes and fixed memory, so:

* batches are bucketed by their total tokens (16, 32, 64, … up to ``max_tokens``, 2,048 by
  default: a server's batch at 64 one-sentence clients, ~900 tokens, still replays, which
  frees the host's CPU, the server's limit there, for the event loop); a larger batch is
  throughput-bound and runs eagerly;
* a batch is laid out to its bucket's size (``layout``): its real tokens first, as packed; the
  bucket's spare tokens as one more sequence of pad ids, which attends only to itself and whose
  logits are dropped; the unused cumulative lengths equal to the bucket's size, i.e. empty
  sequences, which the varlen attention kernel skips;
* each token's (sequence, position) is computed here on the host: on the device it takes an
  operation whose output size depends on the data, which a graph cannot record.

Graphs are recorded for the flash-attention path only (CUDA, float16/bfloat16): the padded
fallback attention would make every bucket a dense ``bucket × bucket`` block. Each bucket
owns static input and output tensors, so replays are serialised by a lock; the output is
copied to the host before the lock is released.

``capture=False`` runs the same static layout eagerly instead of recording it: that is how the
CPU tests check the layout and the static-shape forward without a GPU.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..engine.batching import packed_index
from ..errors import InvalidInput

_log = logging.getLogger("nerve.cuda_graphs")
SMALLEST_BUCKET = 16
DEFAULT_MAX_TOKENS = 2048
# The flag's values (``--cuda-graphs``) and what each asks the backend for.
SETTINGS: dict[str, bool | None] = {"auto": None, "on": True, "off": False}


def graphs_setting(text: str) -> bool | None:
    """``auto``/``on``/``off`` → None (the backend decides)/True/False."""
    try:
        return SETTINGS[text]
    except KeyError:
        raise InvalidInput(
            f"--cuda-graphs must be one of {', '.join(SETTINGS)}, got {text!r}"
        ) from None


def record_or_eager(record: Callable[[], PackedGraphs], asked: bool) -> PackedGraphs | None:
    """``record()``, or, where recording fails and graphs were only the default (``auto``),
    None with a warning: the model then runs eagerly, as it would with ``--cuda-graphs off``,
    rather than not loading at all. Asked for explicitly (``on``), a failure is an error."""
    try:
        return record()
    except Exception as exc:  # a driver, kernel or capture error: said, never hidden
        if asked:
            raise InvalidInput(f"--cuda-graphs on: recording failed: {exc}") from exc
        _log.warning("CUDA graphs could not be recorded (%s); running eagerly", exc)
        return None


def token_buckets(max_tokens: int) -> tuple[int, ...]:
    """Powers of two from ``SMALLEST_BUCKET`` up to ``max_tokens`` (included, even if it is
    not a power of two): the sizes a graph is recorded for."""
    if max_tokens < SMALLEST_BUCKET:
        raise InvalidInput(
            f"CUDA graph buckets need at least {SMALLEST_BUCKET} tokens, got {max_tokens}"
        )
    sizes = []
    size = SMALLEST_BUCKET
    while size < max_tokens:
        sizes.append(size)
        size *= 2
    sizes.append(max_tokens)
    return tuple(sizes)


def bucket_for(total: int, buckets: Sequence[int]) -> int | None:
    """The smallest bucket holding ``total`` tokens; None when the batch is larger than all."""
    return next((size for size in buckets if size >= total), None)


@dataclass(frozen=True)
class Layout:
    """One batch laid out to a bucket's fixed shapes (host arrays)."""

    ids: np.ndarray  # int64 [bucket]: the rows' ids end to end, then pad ids
    seq: np.ndarray  # int64 [bucket]: each token's sequence; the spare tokens' is len(rows)
    pos: np.ndarray  # int64 [bucket]: each token's position in its sequence; spare: 0
    cu: np.ndarray  # int32 [bucket + 2]: cumulative lengths, the unused ones = bucket
    lengths: tuple[int, ...]  # the real rows' lengths

    @property
    def total(self) -> int:
        return sum(self.lengths)


def layout(rows: Sequence[np.ndarray], bucket: int, pad_id: int) -> Layout:
    """``rows`` (unpadded ids) packed into ``bucket`` tokens, as the recorded graph reads them.

    Room for ``bucket`` real sequences (each has at least one token) plus the spare one: the
    cumulative lengths have ``bucket + 2`` entries whatever the batch, so one graph serves
    every batch that fits its bucket."""
    lengths = tuple(len(r) for r in rows)
    total = sum(lengths)
    if not rows or min(lengths) < 1:
        raise ValueError("every row needs at least one token")
    if total > bucket:
        raise ValueError(f"{total} tokens do not fit a bucket of {bucket}")
    n = len(rows)
    real_seq, real_pos, real_cu = packed_index(lengths)
    ids = np.full(bucket, pad_id, dtype=np.int64)
    ids[:total] = np.concatenate(rows)
    seq = np.full(bucket, n, dtype=np.int64)
    seq[:total] = real_seq
    pos = np.zeros(bucket, dtype=np.int64)
    pos[:total] = real_pos
    cu = np.full(bucket + 2, bucket, dtype=np.int32)
    cu[: n + 1] = real_cu
    # cu[n + 1] = bucket closes the spare sequence (empty when the batch fills the bucket).
    return Layout(ids=ids, seq=seq, pos=pos, cu=cu, lengths=lengths)


class _Slot:
    """One bucket: static device inputs, the recorded graph (or an eager stand-in) and its
    output tensor."""

    def __init__(
        self,
        forward: Callable[..., Any],
        bucket: int,
        pad_id: int,
        device: str,
        pool: Any,
        capture: bool,
    ) -> None:
        import torch

        self.bucket = bucket
        self._forward = forward
        on_cuda = device.startswith("cuda")
        start = layout([np.full(bucket, pad_id, dtype=np.int64)], bucket, pad_id)
        self._ids = torch.from_numpy(start.ids).to(device)
        self._seq = torch.from_numpy(start.seq).to(device)
        self._pos = torch.from_numpy(start.pos).to(device)
        self._cu = torch.from_numpy(start.cu).to(device)
        # Pinned staging on CUDA: the host → device copies are then asynchronous, ordered on
        # the stream before the replay.
        self._staging = (
            [t.cpu().pin_memory() for t in (self._ids, self._seq, self._pos, self._cu)]
            if on_cuda
            else None
        )
        self._graph: Any = None
        self.output: Any = None
        if capture:
            self._record(torch, pool)

    def _run(self) -> Any:
        return self._forward(self._ids, self._cu, self.bucket, (self._seq, self._pos))

    def _record(self, torch: Any, pool: Any) -> None:
        # Warm up on a side stream first (cuBLAS handles, the allocator), as recording needs.
        side = torch.cuda.Stream()
        side.wait_stream(torch.cuda.current_stream())
        with torch.cuda.stream(side):
            for _ in range(2):
                self._run()
        torch.cuda.current_stream().wait_stream(side)
        graph = torch.cuda.CUDAGraph()
        with torch.cuda.graph(graph, pool=pool):
            self.output = self._run()
        self._graph = graph

    @property
    def recorded(self) -> bool:
        return self._graph is not None

    def replay(self, batch: Layout) -> np.ndarray:
        """Logits of ``batch``'s real tokens, [total, labels] float32 on the host."""
        import torch

        host = (batch.ids, batch.seq, batch.pos, batch.cu)
        targets = (self._ids, self._seq, self._pos, self._cu)
        if self._staging is None:
            for target, values in zip(targets, host, strict=True):
                target.copy_(torch.from_numpy(values))
        else:
            for stage, target, values in zip(self._staging, targets, host, strict=True):
                stage.copy_(torch.from_numpy(values))
                target.copy_(stage, non_blocking=True)
        if self._graph is not None:
            self._graph.replay()
        else:
            self.output = self._run()
        # .cpu() waits for the stream: the staging buffers are free again when it returns.
        return self.output[: batch.total].float().cpu().numpy()  # type: ignore[no-any-return]


class PackedGraphs:
    """Recorded packed forward passes of ``model``, one per token bucket.

    ``forward(ids, cu, max_len, index)`` is the packed forward (``nerve.encoder.packed.
    run_packed`` bound to the model). ``run(rows)`` answers a batch that fits a bucket and
    None for a larger one (the caller runs it eagerly)."""

    def __init__(
        self,
        forward: Callable[..., Any],
        *,
        device: str,
        pad_id: int,
        max_tokens: int = DEFAULT_MAX_TOKENS,
        capture: bool = True,
    ) -> None:
        import torch

        self.buckets = token_buckets(max_tokens)
        self.pad_id = pad_id
        self._lock = threading.Lock()
        pool = torch.cuda.graph_pool_handle() if capture else None
        with torch.inference_mode():
            # Largest first: the shared memory pool is then sized once, by the largest graph.
            self._slots = {
                bucket: _Slot(forward, bucket, pad_id, device, pool, capture)
                for bucket in sorted(self.buckets, reverse=True)
            }

    @property
    def recorded(self) -> int:
        """How many buckets hold a recorded graph (0 with ``capture=False``)."""
        return sum(slot.recorded for slot in self._slots.values())

    def run(self, rows: Sequence[np.ndarray]) -> list[np.ndarray] | None:
        total = sum(len(r) for r in rows)
        bucket = bucket_for(total, self.buckets)
        if bucket is None or not rows:
            return None
        batch = layout(rows, bucket, self.pad_id)
        import torch

        with self._lock, torch.inference_mode():
            logits = self._slots[bucket].replay(batch)
        return np.split(logits, np.cumsum(batch.lengths)[:-1])
