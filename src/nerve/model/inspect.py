"""Describe a model directory from its files alone (no torch, no weights loaded)."""

from __future__ import annotations

import json
import struct
from pathlib import Path
from typing import Any

from ..errors import ModelLoadError
from .resolve import resolve_model
from .spec import read_spec


def safetensors_parameters(path: Path) -> int:
    """Parameter count from the safetensors header (8-byte length + JSON), no tensor read."""
    with path.open("rb") as fh:
        (size,) = struct.unpack("<Q", fh.read(8))
        try:
            header = json.loads(fh.read(size))
        except (json.JSONDecodeError, UnicodeDecodeError):
            raise ModelLoadError(f"{path} has a corrupt safetensors header") from None
    total = 0
    for name, meta in header.items():
        if name == "__metadata__" or name.endswith("position_ids"):
            continue
        count = 1
        for dim in meta["shape"]:
            count *= int(dim)
        total += count
    return total


def describe(model: str | Path | None) -> dict[str, Any]:
    model_dir = resolve_model(model)
    spec = read_spec(model_dir)
    enc = spec.encoder
    files = sorted(p.name for p in model_dir.iterdir() if p.is_file())
    st = model_dir / "model.safetensors"
    formats = [
        f
        for f, present in (
            ("safetensors", st.exists()),
            ("onnx", (model_dir / "model.onnx").exists()),
        )
        if present
    ]
    return {
        "path": str(model_dir),
        "architecture": spec.architecture,
        "labels": list(spec.labels),
        "parameters": safetensors_parameters(st) if st.exists() else None,
        "max_length": spec.max_length,
        "hidden_size": enc.hidden_size,
        "layers": enc.num_layers,
        "heads": enc.num_heads,
        "vocab_size": enc.vocab_size,
        "formats": formats,
        "files": files,
    }
