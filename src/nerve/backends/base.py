"""The backend interface: padded token ids in, per-token logits out, as numpy.

Backends know nothing about text, labels or entities; they only run the network. That keeps
them swappable (torch CPU/CUDA, ONNX Runtime, a fake for tests) and usable from any process
(a server worker, a Ray actor).
"""

from __future__ import annotations

from typing import Protocol

import numpy as np


class Backend(Protocol):
    name: str  # "torch" | "onnx" | ...
    device: str  # "cpu", "cuda:0"
    dtype: str  # "float32", "float16", "bfloat16", "int8"

    def forward(self, input_ids: np.ndarray, attention_mask: np.ndarray) -> np.ndarray:
        """input_ids, attention_mask: int64 [batch, seq] (right-padded) → float32 logits
        [batch, seq, num_labels]. Rows of padding positions are unspecified."""
        ...


DTYPES = ("float32", "float16", "bfloat16")
