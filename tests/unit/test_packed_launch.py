"""Packed batches launched ahead (``nerve.backends.packed_launch``): batch i + 1 starts
before batch i is waited for, results come back in order and equal the one-at-a-time ones,
and the index computed on the host is the one the device path computes."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from nerve.backends.packed_launch import Launched, stream
from nerve.engine.batching import packed_index
from support.texts import LONG_TEXT, TRICKY_TEXTS

torch = pytest.importorskip("torch")

import nerve  # noqa: E402
from nerve.encoder.packed import _seq_index, cu_seqlens_of  # noqa: E402


def test_packed_index_matches_the_device_computation() -> None:
    lengths = [3, 1, 5, 2]
    seq, pos, cu = packed_index(lengths)
    assert cu.tolist() == [0, 3, 4, 9, 11] and cu.dtype == np.int32
    assert seq.tolist() == [0, 0, 0, 1, 2, 2, 2, 2, 2, 3, 3]
    assert pos.tolist() == [0, 1, 2, 0, 0, 1, 2, 3, 4, 0, 1]
    dev_seq, dev_pos = _seq_index(cu_seqlens_of(lengths, torch.device("cpu")), sum(lengths))
    assert dev_seq.tolist() == seq.tolist() and dev_pos.tolist() == pos.tolist()


class _Recorded(Launched):
    def __init__(self, n: int, log: list[str]) -> None:
        super().__init__(lengths=[1], logits=None)
        self.n, self.log = n, log

    def result(self) -> list[np.ndarray]:
        self.log.append(f"wait {self.n}")
        return [np.full((1, 1), self.n, dtype=np.float32)]


def test_stream_starts_the_next_batch_before_waiting_for_the_current() -> None:
    log: list[str] = []

    def start(rows: Any) -> Launched | list[np.ndarray]:
        n = int(rows[0][0])
        log.append(f"start {n}")
        if n == 2:  # a batch answered at once (a recorded CUDA graph) keeps its place
            return [np.full((1, 1), n, dtype=np.float32)]
        return _Recorded(n, log)

    batches = [[np.array([n])] for n in range(4)]
    got = [int(out[0][0, 0]) for out in stream(start, batches)]
    assert got == [0, 1, 2, 3]
    assert log == ["start 0", "start 1", "wait 0", "start 2", "wait 1", "start 3", "wait 3"]


def _rows(engine: Any) -> list[np.ndarray]:
    texts = [*TRICKY_TEXTS, LONG_TEXT]
    return [w.ids for e in engine.tokenize(texts, nerve.InferenceOptions()) for w in e.windows]


def test_streamed_batches_equal_batches_run_one_at_a_time(tiny_model_dir: Any) -> None:
    engine = nerve.load(tiny_model_dir("bert"), backend="torch")
    backend: Any = engine.backend
    rows = _rows(engine)
    batches = [rows[i : i + 3] for i in range(0, len(rows), 3)]
    streamed = list(backend.forward_packed_stream(batches))
    assert len(streamed) == len(batches)
    for batch, got in zip(batches, streamed, strict=True):
        for a, b in zip(got, backend.forward_packed(batch), strict=True):
            np.testing.assert_array_equal(a, b)
        # The padded path, row by row, as the reference.
        for row, logits in zip(batch, got, strict=True):
            expected = backend.forward(row[None, :], np.ones((1, len(row)), dtype=np.int64))[0]
            np.testing.assert_allclose(logits, expected, atol=1e-5, rtol=0)


def test_the_engine_streams_its_packed_batches(tiny_model_dir: Any) -> None:
    engine = nerve.load(tiny_model_dir("bert"), backend="torch", max_batch_tokens=40)
    backend: Any = engine.backend
    backend.packed = True
    seen: list[int] = []
    original = backend.forward_packed_stream

    def counting(batches: Any) -> Any:
        for logits in original(batches):
            seen.append(len(logits))
            yield logits

    backend.forward_packed_stream = counting
    rows = _rows(engine)
    out = engine.run_rows(rows)
    assert len(seen) > 1 and sum(seen) == len(rows)  # several batches, all through the stream
    for row, logits in zip(rows, out, strict=True):
        assert logits.shape == (len(row), len(engine.spec.labels))


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
@pytest.mark.parametrize("dtype", ["float32", "float16"])
def test_cuda_streamed_batches_equal_batches_run_one_at_a_time(
    tiny_model_dir: Any, dtype: str
) -> None:
    engine = nerve.load(
        tiny_model_dir("bert"), backend="torch", device="cuda", dtype=dtype, cuda_graphs=False
    )
    backend: Any = engine.backend
    rows = _rows(engine) * 4
    batches = [rows[i : i + 5] for i in range(0, len(rows), 5)]
    streamed = list(backend.forward_packed_stream(batches))
    for batch, got in zip(batches, streamed, strict=True):
        for a, b in zip(got, backend.forward_packed(batch), strict=True):
            np.testing.assert_array_equal(a, b)
