"""Packed batches launched without waiting, so the host prepares the next batch while the GPU
runs the current one.

PyTorch queues CUDA kernels and returns; the host waits only where a result must reach it.
A packed forward pass would wait twice per batch: to size each token's (sequence, position)
from the lengths on the device (an operation whose output size depends on the data), and to
copy the logits back with ``.cpu()``. Here both are avoided:

* the index is computed on the host (``nerve.engine.batching.packed_index``) and copied with
  the ids from pinned memory, asynchronously;
* the logits are copied into pinned host memory asynchronously, and an event marks when they
  are there.

``stream(batches)`` keeps one batch queued on the device behind the running one: it launches
batch i + 1 (packing, pinning, copying and launching its kernels, all host work) before it
waits for batch i's logits. On the CPU a launch simply computes, and the results are the same.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..engine.batching import packed_index


@dataclass
class Launched:
    """One batch's logits on their way to the host: ``result()`` waits for them."""

    lengths: list[int]
    logits: Any  # torch float32 [T, labels]: on the host (pinned on CUDA)
    done: Any = None  # torch.cuda.Event recorded after the copy; None: already there
    keep: Any = None  # the inputs, alive until the copies that read them have run

    def result(self) -> list[np.ndarray]:
        if self.done is not None:
            self.done.synchronize()
        out = self.logits.numpy()
        return np.split(out, np.cumsum(self.lengths)[:-1])


def launch(model: Any, rows: Sequence[np.ndarray], device: str) -> Launched:
    """Queue the packed forward pass of ``rows`` on ``device``; returns before it has run on
    a GPU. ``model``: a family with a packed path (``nerve.encoder.packed.run_packed``)."""
    import torch

    from ..encoder.packed import run_packed

    lengths = [len(r) for r in rows]
    seq, pos, cu = packed_index(lengths)
    host = [torch.from_numpy(a) for a in (np.concatenate(rows).astype(np.int64), seq, pos, cu)]
    on_cuda = device.startswith("cuda")
    if on_cuda:
        host = [t.pin_memory() for t in host]
    with torch.inference_mode():
        ids, seq_d, pos_d, cu_d = (t.to(device, non_blocking=True) for t in host)
        logits = run_packed(model, ids, cu_d, max(lengths), (seq_d, pos_d)).float()
        if not on_cuda:
            return Launched(lengths, logits)
        out = torch.empty(logits.shape, dtype=torch.float32, pin_memory=True)
        out.copy_(logits, non_blocking=True)
        done = torch.cuda.Event()
        done.record()
    return Launched(lengths, out, done, keep=(host, logits))


def stream(
    start: Callable[[Sequence[np.ndarray]], Launched | list[np.ndarray]],
    batches: Iterable[Sequence[np.ndarray]],
) -> Iterator[list[np.ndarray]]:
    """Each batch's logits, in order; batch i + 1 is started before batch i is waited for.
    ``start`` returns a ``Launched`` or, for a batch it answered at once, the logits."""
    in_flight: deque[Launched | list[np.ndarray]] = deque()
    for rows in batches:
        in_flight.append(start(rows))
        if len(in_flight) > 1:
            yield _finish(in_flight.popleft())
    while in_flight:
        yield _finish(in_flight.popleft())


def _finish(started: Launched | list[np.ndarray]) -> list[np.ndarray]:
    return started.result() if isinstance(started, Launched) else started
