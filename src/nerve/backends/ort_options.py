"""ONNX Runtime session settings from encoderfile's ``serve`` flags: execution provider,
graph optimization level, CPU fallback, memory arena, device id.

``OrtOptions()`` (all defaults) is exactly nerve's usual CPU session. A provider this ONNX
Runtime does not have is refused with the list of those it has, before any model loads.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..errors import InvalidInput

# encoderfile-style short names → ONNX Runtime provider names.
PROVIDERS = {
    "cpu": "CPUExecutionProvider",
    "cuda": "CUDAExecutionProvider",
    "tensorrt": "TensorrtExecutionProvider",
    "rocm": "ROCMExecutionProvider",
    "migraphx": "MIGraphXExecutionProvider",
    "openvino": "OpenVINOExecutionProvider",
    "coreml": "CoreMLExecutionProvider",
    "directml": "DmlExecutionProvider",
}
# Level names (ONNX Runtime's, and the level1..3 spelling) → GraphOptimizationLevel member.
LEVELS = {
    "disable": "ORT_DISABLE_ALL",
    "basic": "ORT_ENABLE_BASIC",
    "level1": "ORT_ENABLE_BASIC",
    "extended": "ORT_ENABLE_EXTENDED",
    "level2": "ORT_ENABLE_EXTENDED",
    "all": "ORT_ENABLE_ALL",
    "level3": "ORT_ENABLE_ALL",
}


@dataclass(frozen=True)
class OrtOptions:
    execution_provider: str | None = None  # None: CPU
    graph_optimization_level: str | None = None  # None: all
    disable_cpu_fallback: bool = False
    with_arena_allocator: bool = False  # False: ONNX Runtime's default (the arena is on)
    device_id: int | None = None

    @property
    def provider(self) -> str:
        """The ONNX Runtime provider name; raises for an unknown name."""
        name = self.execution_provider
        if name is None:
            return PROVIDERS["cpu"]
        if name.lower() in PROVIDERS:
            return PROVIDERS[name.lower()]
        if name.endswith("ExecutionProvider"):
            return name
        raise InvalidInput(
            f"--execution-provider {name!r} is not one of {sorted(PROVIDERS)} or an ONNX "
            "Runtime provider name such as CUDAExecutionProvider"
        )

    @property
    def is_default(self) -> bool:
        return self == OrtOptions()


def check_options(options: OrtOptions, ort: Any) -> None:
    """Refuse what this ONNX Runtime cannot do, with the reason."""
    provider = options.provider
    available = list(ort.get_available_providers())
    if provider not in available:
        raise InvalidInput(
            f"execution provider {provider} is not available in this ONNX Runtime "
            f"({ort.__version__}); available: {', '.join(available)} "
            "(--execution-provider; e.g. install onnxruntime-gpu for CUDA)"
        )
    level = options.graph_optimization_level
    if level is not None and level.lower() not in LEVELS:
        raise InvalidInput(
            f"--graph-optimization-level {level!r} is not one of "
            "disable, basic, extended, all (or level1..level3)"
        )
    if options.device_id is not None and options.device_id < 0:
        raise InvalidInput(f"--device-id must be >= 0, got {options.device_id}")
    if options.device_id is not None and provider == PROVIDERS["cpu"]:
        raise InvalidInput("--device-id needs a device provider (--execution-provider cuda, ...)")


def apply_options(options: OrtOptions, session_options: Any, ort: Any) -> list[Any]:
    """Set ``options`` on ``session_options``; the ``providers`` argument of the session."""
    check_options(options, ort)
    level = options.graph_optimization_level
    if level is not None:
        member = LEVELS[level.lower()]
        session_options.graph_optimization_level = getattr(ort.GraphOptimizationLevel, member)
    if options.disable_cpu_fallback:
        session_options.add_session_config_entry("session.disable_cpu_ep_fallback", "1")
    if options.with_arena_allocator:
        session_options.enable_cpu_mem_arena = True
    provider = options.provider
    if provider == PROVIDERS["cpu"]:
        return [provider]
    provider_options = {} if options.device_id is None else {"device_id": options.device_id}
    chain: list[Any] = [(provider, provider_options)]
    if not options.disable_cpu_fallback:
        chain.append(PROVIDERS["cpu"])
    return chain
