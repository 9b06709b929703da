"""CUDA graphs for small packed batches (``nerve.backends.cuda_graphs``).

On the CPU: the token buckets, the fixed-shape layout a graph reads, and the forward pass run
on that layout (``capture=False``: the same static buffers, run eagerly) give the packed
path's logits for every family that has one, through buffer reuse. On CUDA (skipped without
one; the GPU check runs them): recorded graphs replay the eager results.
"""

from __future__ import annotations

import random
from functools import partial
from typing import Any

import numpy as np
import pytest

from nerve.backends.cuda_graphs import (
    PackedGraphs,
    bucket_for,
    graphs_setting,
    layout,
    record_or_eager,
    token_buckets,
)
from nerve.errors import InvalidInput
from support.texts import LONG_TEXT, TRICKY_TEXTS
from support.tiny_models import ARCHS

torch = pytest.importorskip("torch")

import nerve  # noqa: E402
from nerve.encoder.packed import cu_seqlens_of, run_packed  # noqa: E402


def test_buckets_are_powers_of_two_up_to_the_largest() -> None:
    assert token_buckets(512) == (16, 32, 64, 128, 256, 512)
    assert token_buckets(40) == (16, 32, 40)
    assert token_buckets(16) == (16,)
    with pytest.raises(InvalidInput, match="at least 16 tokens, got 8"):
        token_buckets(8)
    assert bucket_for(1, (16, 32)) == 16
    assert bucket_for(16, (16, 32)) == 16
    assert bucket_for(17, (16, 32)) == 32
    assert bucket_for(33, (16, 32)) is None


def test_settings_of_the_flag() -> None:
    assert (graphs_setting("auto"), graphs_setting("on"), graphs_setting("off")) == (
        None,
        True,
        False,
    )
    with pytest.raises(InvalidInput, match="--cuda-graphs must be one of auto, on, off"):
        graphs_setting("maybe")


def test_layout_pads_to_the_bucket_with_one_spare_sequence() -> None:
    rows = [np.array([5, 6, 7]), np.array([8, 9])]
    got = layout(rows, 8, pad_id=0)
    assert got.ids.tolist() == [5, 6, 7, 8, 9, 0, 0, 0]
    assert got.seq.tolist() == [0, 0, 0, 1, 1, 2, 2, 2]  # the spare tokens: sequence 2
    assert got.pos.tolist() == [0, 1, 2, 0, 1, 0, 0, 0]
    # 8 + 2 entries: 0, the two rows' ends, the spare sequence's end, then empty sequences.
    assert got.cu.tolist() == [0, 3, 5, 8, 8, 8, 8, 8, 8, 8]
    assert got.cu.dtype == np.int32 and got.ids.dtype == np.int64
    assert got.lengths == (3, 2) and got.total == 5


def test_layout_of_a_full_bucket_has_an_empty_spare_sequence() -> None:
    got = layout([np.arange(1, 5), np.arange(1, 5)], 8, pad_id=0)
    assert got.cu.tolist()[:4] == [0, 4, 8, 8]
    assert got.seq.tolist() == [0] * 4 + [1] * 4
    with pytest.raises(ValueError, match="9 tokens do not fit a bucket of 8"):
        layout([np.arange(9)], 8, pad_id=0)
    with pytest.raises(ValueError, match="at least one token"):
        layout([np.arange(3), np.arange(0)], 8, pad_id=0)


def _rows(engine: Any) -> list[np.ndarray]:
    texts = [*TRICKY_TEXTS, LONG_TEXT]
    windows = [w for e in engine.tokenize(texts, nerve.InferenceOptions()) for w in e.windows]
    return [w.ids for w in windows]


def _eager(model: Any, rows: list[np.ndarray]) -> list[np.ndarray]:
    with torch.inference_mode():
        ids = torch.from_numpy(np.concatenate(rows))
        cu = cu_seqlens_of([len(r) for r in rows], ids.device)
        out = run_packed(model, ids, cu, max(len(r) for r in rows)).float().numpy()
    return np.split(out, np.cumsum([len(r) for r in rows])[:-1])


def _check_static_layout(engine: Any) -> None:
    backend = engine.backend
    graphs = PackedGraphs(
        partial(run_packed, backend.module),
        device="cpu",
        pad_id=engine.spec.encoder.pad_token_id,
        max_tokens=64,
        capture=False,
    )
    assert graphs.buckets == (16, 32, 64) and graphs.recorded == 0
    rows = [r for r in _rows(engine) if len(r) <= 40]
    assert len(rows) >= 4
    rng = random.Random(0)
    used = set()
    # Batches of 1–4 rows in turn: the same bucket's buffers hold a different batch each time,
    # so a value left over from the previous batch would show up as a wrong logit.
    for _ in range(12):
        batch = rng.sample(rows, rng.randint(1, 4))
        total = sum(len(r) for r in batch)
        got = graphs.run(batch)
        if total > 64:
            assert got is None
            continue
        used.add(bucket_for(total, graphs.buckets))
        assert got is not None and len(got) == len(batch)
        for ours, expected in zip(got, _eager(backend.module, batch), strict=True):
            np.testing.assert_allclose(ours, expected, atol=1e-5, rtol=0)
    assert len(used) >= 2  # more than one bucket was exercised
    assert graphs.run([np.ones(65, dtype=np.int64)]) is None  # larger than every bucket


@pytest.mark.parametrize("arch", ARCHS)
def test_static_layout_gives_the_packed_logits(tiny_model_dir: Any, arch: str) -> None:
    _check_static_layout(nerve.load(tiny_model_dir(arch), backend="torch"))


@pytest.mark.parametrize("name", ["modernbert", "modernbert-bias"])
def test_static_layout_gives_the_packed_logits_modernbert(family_model_dir: Any, name: str) -> None:
    _check_static_layout(nerve.load(family_model_dir(name), backend="torch"))


def test_graphs_are_off_on_the_cpu_and_refused_when_asked(tiny_model_dir: Any) -> None:
    engine = nerve.load(tiny_model_dir("bert"), backend="torch")
    assert engine.backend.graphed_buckets == ()  # type: ignore[attr-defined]
    assert engine.load_args["cuda_graphs"] is None
    with pytest.raises(InvalidInput, match="--cuda-graphs on needs .* device 'cpu'"):
        nerve.load(tiny_model_dir("bert"), backend="torch", cuda_graphs=True)
    off = nerve.load(tiny_model_dir("bert"), backend="torch", cuda_graphs=False)
    assert off.backend.graphed_buckets == ()  # type: ignore[attr-defined]


def test_a_failed_recording_runs_eagerly_unless_graphs_were_asked_for(
    caplog: pytest.LogCaptureFixture,
) -> None:
    def failing() -> PackedGraphs:
        raise RuntimeError("operation not permitted when stream is capturing")

    with caplog.at_level("WARNING", logger="nerve.cuda_graphs"):
        assert record_or_eager(failing, asked=False) is None
    assert "could not be recorded (operation not permitted" in caplog.text
    assert "running eagerly" in caplog.text
    with pytest.raises(InvalidInput, match="--cuda-graphs on: recording failed: operation not"):
        record_or_eager(failing, asked=True)
    fine = object()
    assert record_or_eager(lambda: fine, asked=True) is fine  # type: ignore[arg-type,return-value]


def test_graphs_are_refused_on_the_onnx_backend() -> None:
    with pytest.raises(InvalidInput, match="--cuda-graphs on needs the torch backend"):
        nerve.load(cuda_graphs=True)  # the embedded default model: ONNX


needs_cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")


@needs_cuda
@pytest.mark.parametrize("dtype", ["float16", "bfloat16"])
def test_cuda_graphs_replay_the_eager_results(tiny_model_dir: Any, dtype: str) -> None:
    model = tiny_model_dir("bert")
    graphed = nerve.load(model, backend="torch", device="cuda", dtype=dtype)
    eager = nerve.load(model, backend="torch", device="cuda", dtype=dtype, cuda_graphs=False)
    assert graphed.backend.graphed_buckets == token_buckets(2048)  # type: ignore[attr-defined]
    assert token_buckets(2048)[-1] == 2048 and len(token_buckets(2048)) == 8
    assert eager.backend.graphed_buckets == ()  # type: ignore[attr-defined]
    assert graphed.backend._graphs.recorded == 8  # type: ignore[attr-defined]
    rows = _rows(eager)
    rng = random.Random(1)
    for _ in range(20):
        batch = rng.sample(rows, rng.randint(1, min(8, len(rows))))
        ours = graphed.backend.forward_packed(batch)  # type: ignore[attr-defined]
        theirs = eager.backend.forward_packed(batch)  # type: ignore[attr-defined]
        for a, b in zip(ours, theirs, strict=True):
            # One kernel sequence recorded vs launched: the same arithmetic; the tolerance is
            # for half precision's kernel choices between batch shapes.
            np.testing.assert_allclose(a, b, atol=2e-2, rtol=0)
            assert (a.argmax(-1) == b.argmax(-1)).mean() >= 0.99
    texts = [*TRICKY_TEXTS, LONG_TEXT]
    for a, b in zip(graphed(texts), eager(texts), strict=True):
        assert [(e.label, e.start, e.end) for e in a.entities] == [
            (e.label, e.start, e.end) for e in b.entities
        ]


@needs_cuda
def test_cuda_graphs_on_in_float32_is_refused(tiny_model_dir: Any) -> None:
    with pytest.raises(InvalidInput, match="half precision"):
        nerve.load(tiny_model_dir("bert"), backend="torch", device="cuda", cuda_graphs=True)
    fp32 = nerve.load(tiny_model_dir("bert"), backend="torch", device="cuda")
    assert fp32.backend.graphed_buckets == ()  # type: ignore[attr-defined]
