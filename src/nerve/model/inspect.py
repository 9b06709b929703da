"""Describe a model directory from its files alone (no torch, no weights loaded)."""

from __future__ import annotations

import json
import struct
from pathlib import Path
from typing import Any

from ..errors import ModelLoadError
from .onnx_files import onnx_variants
from .onnx_params import onnx_parameters
from .resolve import resolve_model
from .spec import ModelSpec, read_json, read_spec


def safetensors_parameters(path: Path) -> int:
    """Parameter count from the safetensors header (8-byte length + JSON), no tensor read."""
    corrupt = ModelLoadError(f"{path} has a corrupt safetensors header")
    with path.open("rb") as fh:
        head = fh.read(8)
        if len(head) < 8:
            raise ModelLoadError(f"{path} is too short to be a safetensors file") from None
        (size,) = struct.unpack("<Q", head)
        try:
            header = json.loads(fh.read(min(size, _MAX_HEADER_BYTES)))
        except (json.JSONDecodeError, UnicodeDecodeError):
            raise corrupt from None
    total = 0
    try:
        for name, meta in header.items():
            if name == "__metadata__" or name.endswith("position_ids"):
                continue
            count = 1
            for dim in meta["shape"]:
                count *= int(dim)
            total += count
    except (AttributeError, KeyError, TypeError, ValueError):
        raise corrupt from None
    return total


# safetensors itself refuses a header over 100 MB; a corrupt length must not make info read
# a whole multi-GB file into memory.
_MAX_HEADER_BYTES = 100_000_000


def tokenizer_kind(model_dir: Path) -> str | None:
    """The ``tokenizers`` model type: WordPiece, BPE, Unigram or WordLevel (None if absent)."""
    path = model_dir / "tokenizer.json"
    if not path.is_file():
        return None
    model = read_json(path).get("model")
    return str(model.get("type")) if isinstance(model, dict) and model.get("type") else None


def _parameters(model_dir: Path, onnx: list[str]) -> tuple[int | None, str | None]:
    """(count, where it was read from): safetensors first, else the preferred ONNX graph."""
    st = model_dir / "model.safetensors"
    if st.exists():
        return safetensors_parameters(st), "model.safetensors"
    if onnx:
        path = model_dir / onnx[0]
        try:
            return onnx_parameters(path), onnx[0]
        except Exception as exc:  # onnx raises protobuf's DecodeError and others for a bad file
            raise ModelLoadError(f"{path} cannot be read as an ONNX graph: {exc}") from None
    return None, None


def _family(spec: ModelSpec) -> str:
    """The encoder family; graph-only models (no nerve encoder) run on the onnx backend."""
    return spec.family or f"{spec.architecture} (ONNX only)"


def describe(model: str | Path | None) -> dict[str, Any]:
    model_dir = resolve_model(model)
    spec = read_spec(model_dir)
    enc = spec.encoder
    files = sorted(p.name for p in model_dir.iterdir() if p.is_file())
    onnx = onnx_variants(model_dir)
    formats = (["safetensors"] if (model_dir / "model.safetensors").exists() else []) + [
        f"onnx ({name})" for name in onnx
    ]
    parameters: int | str | None
    parameters, counted = _parameters(model_dir, onnx)
    if parameters is None:  # an ONNX graph without the onnx package (the base install)
        parameters = (
            "unknown (pip install onnx to count an ONNX model's parameters)"
            if onnx
            else "unknown (no weights file)"
        )
    return {
        "path": str(model_dir),
        "architecture": spec.architecture,
        "family": _family(spec),
        # A directory without tokenizer.json cannot run in nerve: say so where the kind goes.
        "tokenizer": tokenizer_kind(model_dir)
        or "missing: no tokenizer.json (save one with AutoTokenizer.save_pretrained)",
        "labels": list(spec.labels),
        "parameters": parameters,
        "parameters_from": counted,
        "max_length": spec.max_length,  # the window: tokens per forward pass
        "hidden_size": enc.hidden_size,
        "layers": enc.num_layers,
        "heads": enc.num_heads,
        "vocab_size": enc.vocab_size,
        "formats": formats,
        "files": files,
    }
