"""ONNX Runtime backend (CPU): runs an exported ``model.onnx`` without torch.

Accepts graphs from ``nerve export``, from ``optimum-cli export onnx --task
token-classification``, from transformers.js (``onnx/model_q4.onnx`` and its siblings, 4-bit
``MatMulNBits`` included) and from ``torch.onnx`` exports of any ``*ForTokenClassification``:
inputs among ``input_ids``, ``attention_mask`` and ``token_type_ids``, one output of token
logits ``[batch, sequence, labels]``.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import ModelLoadError
from ..model.onnx_files import find_onnx_file
from ..model.spec import ModelSpec
from .ort_options import OrtOptions, apply_options

# The root-level names of nerve's and optimum's exports (what a build copies).
ONNX_FILES = ("model.onnx", "model_quantized.onnx")
# The inputs nerve can feed an encoder: ids, their mask, and token types (all 0).
FEEDABLE_INPUTS = ("input_ids", "attention_mask", "token_type_ids")
_INT_TYPES = {"tensor(int64)": np.int64, "tensor(int32)": np.int32}
_METADATA_FILE = "nerve_export.json"  # written by nerve.export (not imported: it needs numpy only)
_INT8_OPS = frozenset(
    {
        "DynamicQuantizeLinear",
        "MatMulInteger",
        "QAttention",
        "QEmbedLayerNormalization",
        "DynamicQuantizeMatMul",
        "QLinearMatMul",
    }
)


def _ort() -> Any:
    import onnxruntime

    return onnxruntime


def physical_cores() -> int:
    """CPUs this process may run on, counting hyper-thread siblings once.

    Extra SMT threads make ORT's GEMMs slower, not faster, so a thread per core is the default.
    Falls back to the affinity count where the topology is not readable (non-Linux).
    """
    try:
        cpus = sorted(os.sched_getaffinity(0))
    except AttributeError:  # macOS, Windows
        return max(1, (os.cpu_count() or 2) // 2)
    cores = set()
    for cpu in cpus:
        topo = Path(f"/sys/devices/system/cpu/cpu{cpu}/topology")
        try:
            package = (topo / "physical_package_id").read_text().strip()
            core = (topo / "core_id").read_text().strip()
        except OSError:
            return max(1, len(cpus))
        cores.add((package, core))
    return max(1, len(cores))


# ORT's load-time SkipLayerNormalization fusion makes int8 graphs slower on CPU: its fused
# kernel (after MatMulIntegerToFloat) measured ~8x slower than the LayerNormalization it
# replaces, costing 17% of the whole model (MiniLM-L6 and BERT-base int8: +20% and +19%
# tokens/s with it off, argmax agreement with torch fp32 unchanged: 99.36% both ways). On
# float32 graphs the fusion does not fire, so turning it off changes nothing there.
_DISABLED_OPTIMIZERS = ("SkipLayerNormFusion",)


def _session_options() -> Any:
    ort = _ort()
    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    # Data-parallel, not intra-op parallel: each run is single-threaded and the engine runs
    # ``concurrency`` batches at once (InferenceSession.run releases the GIL). For the small,
    # cache-friendly batches CPU inference wants, that measured 16% faster on 2 idle cores
    # than 2 intra-op threads, and far better on busy ones: no spinning pool threads.
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    # x86 CPUs without VNNI (AVX2 only, e.g. many AMD EPYC) multiply u8 × s8 pairs into
    # saturating 16-bit sums: the default model's int8 answers there differed from those of
    # VNNI machines (eng.testb F1 0.8747 against 0.8764; "Amazon" ORG instead of LOC). This
    # MLAS setting takes the exact path on such CPUs and changes nothing where VNNI exists.
    options.add_session_config_entry("session.x64quantprecision", "1")
    return options


def _precision(model_dir: Path, path: Path) -> str:
    """``int4`` for 4-bit weights (MatMulNBits), ``int8`` if nerve's export metadata or the
    file name says so or the graph holds int8 ops, else ``float32``."""
    meta = model_dir / _METADATA_FILE
    if meta.is_file() and path.name == "model.onnx":
        try:
            quantization = json.loads(meta.read_text(encoding="utf-8")).get("quantization")
            return "int8" if quantization == "int8" else "float32"
        except (OSError, ValueError, AttributeError):
            pass  # unreadable metadata: look at the graph instead
    if path.name.endswith("_quantized.onnx"):
        return "int8"
    return _graph_precision(path)


def _graph_precision(path: Path) -> str:
    try:
        import onnx
    except ImportError:  # onnx is not in the base install; optimum's naming covered the rest
        return "float32"
    ops = {node.op_type for node in onnx.load(str(path), load_external_data=False).graph.node}
    if "MatMulNBits" in ops:
        return "int4"
    return "int8" if ops & _INT8_OPS else "float32"


class OnnxBackend:
    name = "onnx"
    device = "cpu"

    def __init__(
        self,
        model_dir: Path,
        spec: ModelSpec,
        threads: int | None = None,
        onnx_file: str | None = None,
        ort_options: OrtOptions | None = None,
    ) -> None:
        ort = _ort()
        model_dir = Path(model_dir)
        self.path = find_onnx_file(model_dir, onnx_file)
        session_options = _session_options()
        providers = apply_options(ort_options or OrtOptions(), session_options, ort)
        self.providers = providers
        try:
            self._session = ort.InferenceSession(
                str(self.path),
                session_options,
                providers=providers,
                disabled_optimizers=list(_DISABLED_OPTIMIZERS),
            )
        except Exception as exc:  # ORT raises its own exception types for a bad file
            raise ModelLoadError(f"{self.path} cannot be loaded by ONNX Runtime: {exc}") from None
        self._inputs = self._check_inputs()
        self._output = self._check_output(spec)
        self.dtype = _precision(model_dir, self.path)
        # How many forward() calls the engine should run at once: one per core by default.
        self.concurrency = threads or physical_cores()

    def _check_inputs(self) -> dict[str, Any]:
        """Graph input name → the numpy integer type it takes; only inputs nerve can feed."""
        inputs = {i.name: i.type for i in self._session.get_inputs()}
        unknown = sorted(set(inputs) - set(FEEDABLE_INPUTS))
        if unknown:
            raise ModelLoadError(
                f"{self.path}: graph input(s) {unknown} cannot be fed; nerve feeds "
                f"{', '.join(FEEDABLE_INPUTS)} (export the model with those inputs only)"
            )
        if "input_ids" not in inputs:
            raise ModelLoadError(f"{self.path}: graph lacks the input 'input_ids'")
        types = {}
        for name, kind in inputs.items():
            if kind not in _INT_TYPES:
                raise ModelLoadError(
                    f"{self.path}: graph input {name!r} has type {kind}; expected int64 or int32"
                )
            types[name] = _INT_TYPES[kind]
        return types

    def _feed(self, input_ids: np.ndarray, attention_mask: np.ndarray) -> dict[str, np.ndarray]:
        values = {
            "input_ids": input_ids,
            "attention_mask": attention_mask,
            "token_type_ids": np.zeros_like(input_ids),  # single sequences: all type 0
        }
        return {
            name: np.ascontiguousarray(values[name], dtype=kind)
            for name, kind in self._inputs.items()
        }

    def _check_output(self, spec: ModelSpec) -> str:
        outputs = self._session.get_outputs()
        out = next((o for o in outputs if o.name == "logits"), outputs[0])
        shape = list(out.shape or ())
        width = shape[-1] if len(shape) == 3 else None
        if len(shape) == 3 and not isinstance(width, int):
            width = self._probe_width(str(out.name))  # symbolic label axis: ask the graph
        if width != len(spec.labels):
            raise ModelLoadError(
                f"{self.path}: output {out.name!r} has shape {out.shape}, expected "
                f"[batch, sequence, {len(spec.labels)}] for the {len(spec.labels)} labels "
                "in config.json"
            )
        return str(out.name)

    def _probe_width(self, output: str) -> int:
        one = np.ones((1, 1), dtype=np.int64)
        (logits,) = self._session.run([output], self._feed(one, one))
        return int(logits.shape[-1])

    def forward(self, input_ids: np.ndarray, attention_mask: np.ndarray) -> np.ndarray:
        # InferenceSession.run is thread-safe; nothing here mutates shared state.
        (logits,) = self._session.run([self._output], self._feed(input_ids, attention_mask))
        return np.asarray(logits, dtype=np.float32)
