"""Parameter count of an ONNX graph, from its initializers (nothing is run).

Quantized graphs store weights packed and beside scales and zero points; the count is of the
weights they stand for: a 4-bit ``MatMulNBits`` matrix counts ``K * N``, not its packed bytes,
and quantization scales and zero points are not parameters. Integer shape constants
(``Reshape`` targets, position-id rows) are not either.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

# Op → positions of its inputs that are quantization metadata, not weights.
_METADATA_INPUTS = {
    "DequantizeLinear": (1, 2),
    "QuantizeLinear": (1, 2),
    "DynamicQuantizeMatMul": (2, 3),
    "MatMulInteger": (2, 3),
    "MatMulNBits": (2, 3, 4),  # scales, zero points, g_idx
    "GatherBlockQuantized": (2, 3),
}


def onnx_parameters(path: Path) -> int | None:
    """Weights in the graph at ``path``; None when the ``onnx`` package is not installed."""
    try:
        import onnx
    except ImportError:
        return None
    graph = onnx.load(str(path), load_external_data=False).graph
    sizes = {
        t.name: int(np.prod(t.dims, dtype=np.int64))
        for t in graph.initializer
        if t.data_type not in (onnx.TensorProto.INT64, onnx.TensorProto.INT32)
        or t.name.endswith("_quantized")
    }
    for node in graph.node:
        for index in _METADATA_INPUTS.get(node.op_type, ()):
            if index < len(node.input):
                sizes.pop(node.input[index], None)
        if node.op_type == "MatMulNBits" and node.input[1] in sizes:
            attrs = {a.name: a.i for a in node.attribute}
            sizes[node.input[1]] = attrs["K"] * attrs["N"]
    return sum(sizes.values())
