"""ONNX graph → float Hugging Face weights: undo 4-bit and 8-bit weight quantization.

transformers.js and optimum ship token classifiers as ONNX graphs only, often with quantized
weights (``onnx/model_q4.onnx``). To run one through nerve's own encoder (or train it further)
its weights are read back out of the graph in float32, under their Hugging Face names:

* ``MatMulNBits`` (ONNX Runtime contrib op, ``com.microsoft``): weight ``B`` is uint8
  ``[N, blocks, block_size * bits / 8]``, each byte holding ``8 / bits`` values, lowest bits
  first, along K; ``scales`` is ``[N, blocks]`` (or flat); optional ``zero_points`` are either
  packed like ``B`` (``[N, ceil(blocks * bits / 8)]``) or float like ``scales``; missing ones
  are ``2 ** (bits - 1)``. ``W[n, k] = (q[n, k] - zp[n, k // block_size]) * scale[n, ...]``,
  ``K`` padded up to whole blocks. ``W`` is ``[N, K]``: already ``nn.Linear``'s layout. The
  weight's name is the node's scope: ``/bert/encoder/layer.0/attention/self/query/MatMul_Q4``
  → ``bert.encoder.layer.0.attention.self.query.weight``.
* ``DequantizeLinear`` over an initializer ``X_quantized`` with ``X_scale`` and
  ``X_zero_point`` (ONNX Runtime's quantizer naming; the embedding tables): ``(q - zp) *
  scale``, per tensor or per ``axis``.
* A float ``MatMul`` weight (``[K, N]``, unquantized graphs): transposed, named like above.
* Every other float initializer already named like a parameter (``...weight``/``...bias``)
  is copied as is (biases and LayerNorm parameters).

What comes out is only as exact as the quantized weights: the float model computes what the
quantized graph computes, it does not recover the original float weights.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import ModelLoadError
from ..model.onnx_files import find_onnx_file

# The files beside a model's graph that a converted model keeps.
_KEEP = re.compile(
    r"(config|tokenizer|tokenizer_config|special_tokens_map|vocab|merges|added_tokens)\.(json|txt)"
    r"|spiece\.model|sentencepiece\.bpe\.model",
)


def _unpack(packed: np.ndarray, bits: int, count: int) -> np.ndarray:
    """uint8 [..., bytes] → [..., count] unsigned values of ``bits`` each, lowest bits first."""
    if bits not in (2, 4, 8):
        raise ModelLoadError(f"MatMulNBits with {bits} bits is not supported (2, 4 or 8)")
    per_byte = 8 // bits
    shifts = np.arange(per_byte, dtype=np.uint8) * bits
    values = (packed[..., None] >> shifts) & ((1 << bits) - 1)  # [..., bytes, per_byte]
    return values.reshape(*packed.shape[:-1], -1)[..., :count]


def dequantize_matmul_nbits(
    weight: np.ndarray,
    scales: np.ndarray,
    zero_points: np.ndarray | None,
    *,
    k: int,
    n: int,
    bits: int,
    block_size: int,
) -> np.ndarray:
    """``MatMulNBits``'s B, scales, zero points → float32 ``[N, K]``."""
    blocks = -(-k // block_size)
    q = _unpack(weight.reshape(n, blocks, -1), bits, block_size).astype(np.float32)
    scale = scales.reshape(n, blocks).astype(np.float32)
    if zero_points is None:
        zp = np.full((n, blocks), float(1 << (bits - 1)), dtype=np.float32)
    elif zero_points.dtype == np.uint8:
        zp = _unpack(zero_points.reshape(n, -1), bits, blocks).astype(np.float32)
    else:
        zp = zero_points.reshape(n, blocks).astype(np.float32)
    w = (q - zp[:, :, None]) * scale[:, :, None]  # [N, blocks, block_size]
    return w.reshape(n, blocks * block_size)[:, :k]


def dequantize_linear(
    q: np.ndarray, scale: np.ndarray, zero_point: np.ndarray | None, axis: int = 1
) -> np.ndarray:
    """ONNX ``DequantizeLinear``: ``(q - zero_point) * scale``, per tensor or along ``axis``."""
    zp = np.zeros_like(scale) if zero_point is None else zero_point
    scale = scale.astype(np.float32)
    zp = zp.astype(np.float32)
    if scale.ndim == 1 and scale.size > 1:
        shape = [1] * q.ndim
        shape[axis] = -1
        scale, zp = scale.reshape(shape), zp.reshape(shape)
    return (q.astype(np.float32) - zp) * scale


def _scope_name(node_name: str) -> str:
    """``/bert/encoder/layer.0/attention/self/query/MatMul_Q4`` → ``bert.encoder.layer.0.
    attention.self.query.weight`` (the op's own name, the last part, dropped)."""
    parts = [p for p in node_name.split("/") if p]
    if len(parts) < 2:
        raise ModelLoadError(
            f"cannot name the weight of node {node_name!r}: it has no module scope"
        )
    return ".".join(parts[:-1]) + ".weight"


def _parameter_like(name: str) -> bool:
    return name.endswith((".weight", ".bias")) and not name.startswith("onnx::")


def graph_weights(path: Path) -> dict[str, np.ndarray]:
    """Float32 weights of the ONNX graph at ``path``, under Hugging Face parameter names."""
    import onnx
    from onnx import numpy_helper

    graph = onnx.load(str(path)).graph
    tensors = {t.name: numpy_helper.to_array(t) for t in graph.initializer}
    out: dict[str, np.ndarray] = {}

    def add(name: str, value: np.ndarray) -> None:
        if name in out:
            raise ModelLoadError(f"{path}: two graph weights map to {name!r}")
        out[name] = np.ascontiguousarray(value, dtype=np.float32)

    for node in graph.node:
        if node.op_type == "MatMulNBits" and node.input[1] in tensors:
            attrs: dict[str, Any] = {
                a.name: onnx.helper.get_attribute_value(a) for a in node.attribute
            }
            zp_name = node.input[3] if len(node.input) > 3 and node.input[3] else None
            weight = dequantize_matmul_nbits(
                tensors[node.input[1]],
                tensors[node.input[2]],
                tensors.get(zp_name) if zp_name else None,
                k=int(attrs["K"]),
                n=int(attrs["N"]),
                bits=int(attrs.get("bits", 4)),
                block_size=int(attrs["block_size"]),
            )
            add(_scope_name(node.name), weight)
            if len(node.input) > 5 and node.input[5] in tensors:
                add(_scope_name(node.name)[: -len("weight")] + "bias", tensors[node.input[5]])
        elif node.op_type == "MatMul" and node.input[1] in tensors:
            weight = tensors[node.input[1]]
            if weight.ndim == 2 and weight.dtype.kind == "f":
                add(_scope_name(node.name), weight.T)
    for name, q in tensors.items():
        base = name[: -len("_quantized")] if name.endswith("_quantized") else None
        if base and base + "_scale" in tensors:
            axis = next(
                (
                    int(a.i)
                    for n in graph.node
                    if n.op_type == "DequantizeLinear" and n.input[1] == base + "_scale"
                    for a in n.attribute
                    if a.name == "axis"
                ),
                1,
            )
            add(
                base,
                dequantize_linear(
                    q, tensors[base + "_scale"], tensors.get(base + "_zero_point"), axis
                ),
            )
        elif _parameter_like(name) and q.dtype.kind == "f" and name not in out:
            add(name, q)
    return out


def convert_graph(model_dir: Path, out_dir: Path, onnx_file: str | None = None) -> Path:
    """Write ``out_dir``: the model's graph as float ``model.safetensors``, with its config,
    tokenizer and license/notice files, loadable by nerve's torch backend and transformers."""
    from safetensors.numpy import save_file

    from ..io.companions import copy_companions

    graph = find_onnx_file(model_dir, onnx_file)
    weights = graph_weights(graph)
    out_dir.mkdir(parents=True, exist_ok=False)
    for file in sorted(model_dir.iterdir()):
        if file.is_file() and _KEEP.fullmatch(file.name):
            shutil.copy2(file, out_dir / file.name)
    copy_companions(model_dir, out_dir)
    save_file(weights, str(out_dir / "model.safetensors"), metadata={"format": "pt"})
    return out_dir
