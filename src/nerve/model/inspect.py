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


def onnx_parameters(path: Path) -> int | str:
    """Elements of every initializer of an ONNX graph (weights, biases, and for a quantized
    graph its int8 weights plus their scales). Needs the ``onnx`` package, which the base
    install (ONNX Runtime only) lacks: then a note saying so."""
    try:
        import onnx
    except ImportError:
        return "unknown (pip install onnx to count an ONNX model's parameters)"
    try:
        graph = onnx.load(str(path), load_external_data=False).graph
    except Exception as exc:  # onnx raises protobuf's DecodeError and others for bad files
        raise ModelLoadError(f"{path} is not a readable ONNX model ({exc})") from None
    total = 0
    for tensor in graph.initializer:
        count = 1
        for dim in tensor.dims:
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
        "parameters": _parameters(model_dir),
        "max_length": spec.max_length,
        "hidden_size": enc.hidden_size,
        "layers": enc.num_layers,
        "heads": enc.num_heads,
        "vocab_size": enc.vocab_size,
        "formats": formats,
        "files": files,
    }


def _parameters(model_dir: Path) -> int | str:
    st, onnx_file = model_dir / "model.safetensors", model_dir / "model.onnx"
    if st.exists():
        return safetensors_parameters(st)
    if onnx_file.exists():
        return onnx_parameters(onnx_file)
    return "unknown (no model.safetensors or model.onnx)"
