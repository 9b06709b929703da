"""Logits to probabilities, with the pipeline's formula."""

from __future__ import annotations

import numpy as np


def softmax(logits: np.ndarray) -> np.ndarray:
    """Softmax over the last axis, in float32 like the pipeline.

    The pipeline casts half-precision logits to float32, subtracts the row maximum (so large
    logits cannot overflow) and divides ``exp`` by its row sum; the same steps here give the
    same bits.
    """
    # logits: [..., n_labels]
    x = np.asarray(logits, dtype=np.float32)
    shifted = np.exp(x - x.max(axis=-1, keepdims=True))
    return shifted / shifted.sum(axis=-1, keepdims=True)
