"""Load a built model directory as the executable runs it: ONNX backend, its transform,
its name as the model id."""

from __future__ import annotations

from pathlib import Path

from ..backends.ort_options import OrtOptions
from ..bundle.manifest import read_manifest
from ..engine.core import Engine
from ..errors import ModelLoadError


def load_embedded(
    model_dir: Path,
    *,
    threads: int | None = None,
    max_batch_tokens: int = 16384,
    ort_options: OrtOptions | None = None,
) -> Engine:
    from ..loader import load
    from ..transform import with_model_transform

    manifest = read_manifest(model_dir)
    if manifest is None:
        raise ModelLoadError(f"{model_dir} has no nerve_bundle.json: not a built model")
    engine = load(
        model_dir,
        backend="onnx",
        threads=threads,
        max_batch_tokens=max_batch_tokens,
        model_id=manifest.name,
        ort_options=ort_options,
    )
    # Swapping the backend is all a transform needs: the engine only calls forward().
    engine.backend = with_model_transform(model_dir, engine.backend)
    return engine
