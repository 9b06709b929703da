"""ONNX Runtime backend (CPU): runs an exported ``model.onnx`` without torch.

Accepts graphs from ``nerve export`` and from ``optimum-cli export onnx --task
token-classification`` (inputs ``input_ids``, ``attention_mask`` and optionally
``token_type_ids``; output ``logits``).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import ModelLoadError
from ..model.spec import ModelSpec
from .ort_options import OrtOptions, apply_options

# Tried in order when no file is named: nerve's name first, then optimum's quantized name.
ONNX_FILES = ("model.onnx", "model_quantized.onnx")
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


def find_onnx_file(model_dir: Path, onnx_file: str | None = None) -> Path:
    if onnx_file is not None:
        path = model_dir / onnx_file
        if not path.is_file():
            raise ModelLoadError(f"{model_dir}: {onnx_file} is missing")
        return path
    for name in ONNX_FILES:
        if (model_dir / name).is_file():
            return model_dir / name
    raise ModelLoadError(
        f"{model_dir} has no ONNX graph (looked for {', '.join(ONNX_FILES)}); create one with "
        "`nerve export MODEL OUT`"
    )


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
    return options


def _is_int8(model_dir: Path, path: Path) -> bool:
    """Quantized if nerve's export metadata says so, else if the graph holds int8 ops."""
    meta = model_dir / _METADATA_FILE
    if meta.is_file() and path.name == "model.onnx":
        try:
            return json.loads(meta.read_text(encoding="utf-8")).get("quantization") == "int8"
        except (OSError, ValueError, AttributeError):
            pass  # unreadable metadata: look at the graph instead
    if path.name.endswith("_quantized.onnx"):
        return True
    return _graph_has_int8_ops(path)


def _graph_has_int8_ops(path: Path) -> bool:
    try:
        import onnx
    except ImportError:  # onnx is not in the base install; optimum's naming covered the rest
        return False
    model = onnx.load(str(path), load_external_data=False)
    return any(node.op_type in _INT8_OPS for node in model.graph.node)


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
        inputs = {i.name for i in self._session.get_inputs()}
        missing = {"input_ids", "attention_mask"} - inputs
        if missing:
            raise ModelLoadError(f"{self.path}: graph lacks input(s) {sorted(missing)}")
        self._token_types = "token_type_ids" in inputs
        self._output = self._check_output(spec)
        self.dtype = "int8" if _is_int8(model_dir, self.path) else "float32"
        # How many forward() calls the engine should run at once: one per core by default.
        self.concurrency = threads or physical_cores()

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
        feed = {"input_ids": one, "attention_mask": one}
        if self._token_types:
            feed["token_type_ids"] = np.zeros_like(one)
        (logits,) = self._session.run([output], feed)
        return int(logits.shape[-1])

    def forward(self, input_ids: np.ndarray, attention_mask: np.ndarray) -> np.ndarray:
        # InferenceSession.run is thread-safe; nothing here mutates shared state.
        feed = {
            "input_ids": np.ascontiguousarray(input_ids, dtype=np.int64),
            "attention_mask": np.ascontiguousarray(attention_mask, dtype=np.int64),
        }
        if self._token_types:
            feed["token_type_ids"] = np.zeros_like(feed["input_ids"])
        (logits,) = self._session.run([self._output], feed)
        return np.asarray(logits, dtype=np.float32)
