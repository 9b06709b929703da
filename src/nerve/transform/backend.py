"""``TransformBackend``: any backend, with a Lua transform applied to its logits.

The rule (docs/build.md, "Transforms"): **the transform's output takes the place of the
model's logits.** Everything downstream — softmax, aggregation, windows, ``raw_scores`` —
sees the transform's tensor exactly as it would see logits. One case is special: a
transform that already returns probabilities (``arr:softmax(3)``, the seed's example).
Softmax over probabilities would flatten them, so such a transform is marked
``probabilities`` (declared in the build config, or detected at build time) and the wrapper
hands the engine ``log(p)``: the engine's softmax of ``log(p)`` is ``p`` again, so entity
scores and ``/predict`` ``scores`` are exactly the transform's probabilities, as encoderfile
shows them. (``raw_scores`` then shows ``log(p)``.)

The engine does not change: it only ever calls ``backend.forward``.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from ..backends.base import Backend
from ..bundle.manifest import TRANSFORM_OUTPUTS, TransformSpec, read_manifest
from ..errors import MissingExtra
from .errors import TransformError
from .limits import TransformLimits

# Rows of a probability output must sum to 1 within this (float32 softmax is off by ~1e-7).
SUM_TOLERANCE = 1e-3
_TINY = float(np.finfo(np.float32).tiny)  # log(tiny) ≈ -87: finite, and exp() gives ~0 back

if TYPE_CHECKING:
    from .lua import LuaTransform

Transform = Callable[[np.ndarray], np.ndarray]


def is_distribution(values: np.ndarray, mask: np.ndarray) -> bool:
    """Whether every real (unpadded) row of ``values`` [batch, seq, labels] is a probability
    distribution. Padding rows are unspecified and ignored."""
    rows = values[np.asarray(mask, dtype=bool)]
    if rows.size == 0:
        return False
    return bool(np.all(rows >= 0) and np.allclose(rows.sum(-1), 1.0, atol=SUM_TOLERANCE))


def probabilities_to_logits(probs: np.ndarray, mask: np.ndarray) -> np.ndarray:
    if not is_distribution(probs, mask):
        raise TransformError(
            "the transform is marked as returning probabilities, but a row is negative or "
            "does not sum to 1; set `transform_output: logits` under `nerve:` in the build "
            "config if it returns scores"
        )
    return np.log(np.maximum(probs, _TINY)).astype(np.float32)


class TransformBackend:
    """``inner.forward`` → ``transform`` → logits for the engine (see the module docstring).

    It does not pass on an inner backend's ``packed`` mode: the transform always sees the
    padded ``[batch, seq, labels]`` tensor encoderfile gives it.
    """

    def __init__(self, inner: Backend, transform: Transform, output: str) -> None:
        if output not in TRANSFORM_OUTPUTS:
            raise TransformError(f"transform output must be one of {TRANSFORM_OUTPUTS}")
        self.inner = inner
        self.transform = transform
        self.output = output
        self.name = inner.name
        self.device = inner.device
        self.dtype = inner.dtype

    def forward(self, input_ids: np.ndarray, attention_mask: np.ndarray) -> np.ndarray:
        values = self.transform(self.inner.forward(input_ids, attention_mask))
        if self.output == "probabilities":
            return probabilities_to_logits(values, attention_mask)
        return values


def compile_transform(spec: TransformSpec) -> LuaTransform:
    try:
        from .lua import LuaTransform
    except ImportError:
        # Only models that carry a transform need Lua; plain models load without lupa.
        raise MissingExtra("lupa", "build", "a model with a Lua transform") from None
    libs = None if spec.lua_libs is None else tuple(spec.lua_libs)
    return LuaTransform(spec.lua, TransformLimits(spec.timeout_s, spec.memory_mb), libs)


def with_model_transform(model_dir: Path, backend: Backend) -> Backend:
    """``backend`` wrapped in the transform a built model directory declares, if any.

    The hook ``nerve.load`` calls so that a ``.nerve`` bundle (or a build's embedded model)
    served by any command applies its transform. Idempotent.
    """
    if isinstance(backend, TransformBackend):
        return backend
    manifest = read_manifest(Path(model_dir))
    if manifest is None or manifest.transform is None:
        return backend
    spec = manifest.transform
    return TransformBackend(backend, compile_transform(spec), spec.output)
