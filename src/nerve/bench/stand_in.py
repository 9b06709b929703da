"""A model that costs nothing, for measuring the host's share of nerve's work alone
(``scripts/host_ceiling.py`` for the engine, ``scripts/server_ceiling.py`` for the server):
on a GPU the model is fast enough that this share sets the ceiling.

The stand-in takes the accelerator's path: its device is not "cpu", so the engine packs
batches of its whole token budget (``max_batch_tokens``) and the server runs one lane with a
padded budget, as they do on CUDA; rows are joined into one array and the logits split back
per window, as the torch backend does there.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from ..engine.core import Engine
from ..model.resolve import resolve_model
from ..model.spec import read_spec
from ..text.loading import load_tokenizer


class FreeModel:
    """A backend whose forward pass costs nothing: every token gets label 0 ("O")."""

    name = "stand-in"
    device = "accelerator stand-in"  # not "cpu": the engine batches as for an accelerator
    dtype = "float16"
    packed = True
    concurrency = 1

    def __init__(self, n_labels: int) -> None:
        self.n_labels = n_labels

    def _logits(self, tokens: int) -> np.ndarray:
        out = np.zeros((tokens, self.n_labels), dtype=np.float32)
        out[:, 0] = 10.0
        return out

    def forward(self, input_ids: np.ndarray, attention_mask: np.ndarray) -> np.ndarray:
        return self._logits(input_ids.size).reshape(*input_ids.shape, self.n_labels)

    def forward_packed(self, rows: Sequence[np.ndarray]) -> list[np.ndarray]:
        flat = np.concatenate(rows)  # the host's share of the real packed pass
        bounds = np.cumsum([len(r) for r in rows])[:-1]
        return np.split(self._logits(len(flat)), bounds)


def free_engine(model: str | None) -> tuple[Engine, Path]:
    """The engine of ``model`` (default: the embedded one; its tokenizer and labels) with the
    stand-in in place of its network; and the model's directory."""
    model_dir = resolve_model(model)
    spec = read_spec(model_dir)
    engine = Engine(
        spec=spec,
        tokenizer=load_tokenizer(model_dir),
        backend=FreeModel(len(spec.labels)),
        model_dir=model_dir,
        model_id=model_dir.name,
    )
    return engine, model_dir
