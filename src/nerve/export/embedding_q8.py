"""Per-row int8 for large embedding tables, dequantized after the lookup.

ONNX Runtime's dynamic quantization gives a Gather table one scale for the whole matrix; on
the default model that cost 0.4 F1 points on CoNLL-2003 test (0.8661 vs 0.8698 with float
embeddings). One symmetric scale per row (per token) keeps the error per row at
``max|row| / 254`` and costs 0.1 points for the same 4x smaller file. The lookup becomes
``Cast(Gather(table_q8, ids)) * Gather(scales, ids)``: only the looked-up rows are
dequantized, never the whole table.
"""

from __future__ import annotations

from typing import Any

import numpy as np


def _quantize_rows(table: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """table [rows, dim] float → (int8 [rows, dim], float32 scales [rows, 1])."""
    scale = np.abs(table).max(axis=1, keepdims=True) / 127.0
    scale[scale == 0] = 1.0
    q = np.clip(np.rint(table / scale), -127, 127).astype(np.int8)
    return q, scale.astype(np.float32)


def quantize_embedding_rows(model: Any, index_input: str = "input_ids") -> list[str]:
    """Rewrite the Gather over the token table (the one indexed by ``input_ids``) of
    ``model`` (an onnx ModelProto) in place; returns the names of the tables rewritten.

    Position and token-type tables stay float: they are small (a few hundred KB at most).
    """
    from onnx import TensorProto, helper, numpy_helper

    graph = model.graph
    inits = {init.name: init for init in graph.initializer}
    done = []
    for node in list(graph.node):
        if node.op_type != "Gather" or node.input[1:2] != [index_input]:
            continue
        init = inits.get(node.input[0])
        if init is None or init.data_type != TensorProto.FLOAT:
            continue
        table = numpy_helper.to_array(init)
        if table.ndim != 2:
            continue
        q, scale = _quantize_rows(table)
        base, ids, out = init.name, node.input[1], node.output[0]
        graph.initializer.remove(init)
        graph.initializer.extend(
            [
                numpy_helper.from_array(q, f"{base}.q8"),
                numpy_helper.from_array(scale, f"{base}.scale"),
            ]
        )
        at = list(graph.node).index(node)
        graph.node.remove(node)
        prefix = node.name or base
        new_nodes = [
            helper.make_node(
                "Gather", [f"{base}.q8", ids], [f"{prefix}/q8"], name=f"{prefix}/GatherQ8"
            ),
            helper.make_node(
                "Gather", [f"{base}.scale", ids], [f"{prefix}/scale"], name=f"{prefix}/GatherScale"
            ),
            helper.make_node(
                "Cast",
                [f"{prefix}/q8"],
                [f"{prefix}/q8f"],
                to=TensorProto.FLOAT,
                name=f"{prefix}/Cast",
            ),
            helper.make_node(
                "Mul", [f"{prefix}/q8f", f"{prefix}/scale"], [out], name=f"{prefix}/Dequantize"
            ),
        ]
        for k, new in enumerate(new_nodes):
            graph.node.insert(at + k, new)
        done.append(base)
    return done
