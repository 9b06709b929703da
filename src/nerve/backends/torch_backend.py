"""PyTorch backend: nerve's own encoder on CPU or CUDA in float32/float16/bfloat16."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..errors import InvalidInput, MissingExtra
from ..model.spec import ModelSpec
from .base import DTYPES


def _torch():  # type: ignore[no-untyped-def]
    try:
        import torch
    except ImportError:
        raise MissingExtra("torch", "torch", "the torch backend") from None
    return torch


class TorchBackend:
    name = "torch"

    def __init__(self, model_dir: Path, spec: ModelSpec, device: str = "cpu",
                 dtype: str = "float32", threads: int | None = None) -> None:
        torch = _torch()
        from ..encoder.weights import load_model

        if dtype not in DTYPES:
            raise InvalidInput(f"torch backend dtype must be one of {DTYPES}, got {dtype!r}")
        if device.startswith("cuda") and not torch.cuda.is_available():
            raise InvalidInput(f"device {device!r} requested but CUDA is not available here")
        if threads:
            torch.set_num_threads(threads)
        self.device = device
        self.dtype = dtype
        self._torch_dtype = getattr(torch, dtype)
        self._model = load_model(model_dir, spec.encoder).to(device, self._torch_dtype)

    @property
    def module(self):  # type: ignore[no-untyped-def]
        """The underlying ``TokenClassifier`` (for export and training tools)."""
        return self._model

    def forward(self, input_ids: np.ndarray, attention_mask: np.ndarray) -> np.ndarray:
        torch = _torch()
        with torch.inference_mode():
            ids = torch.from_numpy(input_ids).to(self.device, non_blocking=True)
            mask = torch.from_numpy(attention_mask).to(self.device, non_blocking=True)
            logits = self._model(ids, mask)  # [batch, seq, labels]
            return logits.float().cpu().numpy()
