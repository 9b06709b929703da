"""Packed (unpadded) batches give the same logits and entities as padded batches.

This is the CPU check of the GPU path: on CUDA the same code runs flash-attention varlen.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from support.texts import LONG_TEXT, TRICKY_TEXTS
from support.tiny_models import ARCHS

torch = pytest.importorskip("torch")

import nerve  # noqa: E402
from nerve.engine.batching import packed_batches  # noqa: E402


@pytest.mark.parametrize("arch", ARCHS)
def test_packed_equals_padded(tiny_model_dir: Any, arch: str) -> None:
    padded = nerve.load(tiny_model_dir(arch), backend="torch", max_batch_tokens=300)
    packed = nerve.load(tiny_model_dir(arch), backend="torch", max_batch_tokens=300)
    packed.backend.packed = True  # type: ignore[attr-defined]
    texts = [*TRICKY_TEXTS, LONG_TEXT] * 2
    windows = [w for e in padded.tokenize(texts, nerve.InferenceOptions()) for w in e.windows]
    for a, b in zip(padded.run_windows(windows), packed.run_windows(windows), strict=True):
        np.testing.assert_allclose(a, b, atol=1e-5, rtol=0)
    for strategy in ("none", "simple", "max"):
        ours = packed(texts, aggregation_strategy=strategy)
        for a, b in zip(padded(texts, aggregation_strategy=strategy), ours, strict=True):
            assert [(e.label, e.start, e.end, e.word) for e in a.entities] == [
                (e.label, e.start, e.end, e.word) for e in b.entities
            ]
            np.testing.assert_allclose(
                [e.score for e in a.entities], [e.score for e in b.entities], atol=1e-5
            )


def test_packed_batches_respect_budget() -> None:
    lengths = [5, 7, 3, 9, 2, 8]
    batches = packed_batches(lengths, max_tokens=12)
    assert [i for b in batches for i in b] == list(range(6))
    assert all(sum(lengths[i] for i in b) <= 12 for b in batches)
    assert packed_batches([50], max_tokens=12) == [[0]]


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
@pytest.mark.parametrize("dtype", ["float16", "bfloat16"])
def test_cuda_packed_half_matches_cpu_float32(tiny_model_dir: Any, dtype: str) -> None:
    cpu = nerve.load(tiny_model_dir("bert"), backend="torch")
    gpu = nerve.load(tiny_model_dir("bert"), backend="torch", device="cuda", dtype=dtype)
    assert gpu.backend.packed  # type: ignore[attr-defined]
    for a, b in zip(cpu(TRICKY_TEXTS), gpu(TRICKY_TEXTS), strict=True):
        assert [(e.label, e.start, e.end) for e in a.entities] == [
            (e.label, e.start, e.end) for e in b.entities
        ]
