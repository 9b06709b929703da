"""ONNX graph passes of the export: ORT's BERT fusions (optional) and dynamic int8."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from ..errors import MissingExtra
from ..model.spec import ModelSpec
from .embedding_q8 import quantize_embedding_rows

# Ops whose float weights ORT's dynamic int8 quantization replaces: the GEMMs, the fused
# attention and the fused embedding op. Plain Gather tables (most of a small model's bytes)
# get per-row int8 instead, see embedding_q8.py.
QUANTIZED_OPS = ("MatMul", "Attention", "EmbedLayerNormalization")


def _onnx() -> Any:
    try:
        import onnx
    except ImportError:
        raise MissingExtra("onnx", "export", "nerve export") from None
    return onnx


def optimize_graph(
    src: Path, spec: ModelSpec, dest: Path, large: bool
) -> tuple[Path, dict[str, int]]:
    from onnxruntime.transformers.fusion_options import AttentionMaskFormat, FusionOptions
    from onnxruntime.transformers.optimizer import optimize_model

    options = FusionOptions("bert")
    # Keep the 2-D 0/1 mask as the Attention mask: the default (per-row lengths) silently
    # assumes right padding, and other ONNX clients may pad on the left.
    options.attention_mask_format = AttentionMaskFormat.AttentionMask
    with _quiet():
        optimized = optimize_model(
            str(src),
            model_type="bert",
            num_heads=spec.encoder.num_heads,
            hidden_size=spec.encoder.hidden_size,
            optimization_options=options,
            opt_level=0,  # Python fusions only: the file stays portable across CPU/GPU EPs
        )
        dest.parent.mkdir(parents=True)
        optimized.save_model_to_file(str(dest), use_external_data_format=large)
    stats = optimized.get_fused_operator_statistics()
    return dest, {op: int(n) for op, n in stats.items() if n}


def quantize_int8(src: Path, dest: Path, large: bool) -> Path:
    onnx = _onnx()
    from onnxruntime.quantization import QuantType, quantize_dynamic

    dest.parent.mkdir(parents=True)
    with _quiet():
        quantize_dynamic(
            str(src),
            str(dest),
            weight_type=QuantType.QInt8,
            per_channel=True,
            op_types_to_quantize=list(QUANTIZED_OPS),
            # The head is tiny and decides every label: int8 there costs accuracy for no speed.
            nodes_to_exclude=_classifier_nodes(onnx.load(str(src), load_external_data=False)),
            use_external_data_format=large,
            # Fused ops (Attention, SkipLayerNorm) have no ONNX shape inference; their outputs
            # are float32.
            extra_options={"DefaultTensorType": onnx.TensorProto.FLOAT},
        )
    model = onnx.load(str(dest))
    if quantize_embedding_rows(model):
        onnx.save(model, str(dest), save_as_external_data=large)
    return dest


def _classifier_nodes(model: Any) -> list[str]:
    """The MatMul of the final ``logits = x @ W + b``: found from the output, not by name."""
    producers = {out: node for node in model.graph.node for out in node.output}
    node = producers.get("logits")
    while node is not None and node.op_type != "MatMul":
        if node.op_type not in ("Add", "Identity"):
            return []
        node = next((producers[i] for i in node.input if i in producers), None)
    return [node.name] if node is not None and node.name else []


@contextlib.contextmanager
def _quiet() -> Iterator[None]:
    """Silence ORT tools' root-logger warnings ("consider pre-processing", …) for a CLI user."""
    previous = logging.root.manager.disable
    logging.disable(logging.WARNING)
    try:
        yield
    finally:
        logging.disable(previous)
