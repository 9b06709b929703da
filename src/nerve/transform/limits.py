"""A transform's per-call budgets (no Lua import, so configs can be checked without lupa)."""

from __future__ import annotations

from dataclasses import dataclass

from .errors import TransformError


@dataclass(frozen=True)
class TransformLimits:
    """Per-call budgets of a transform (``nerve.transform_timeout`` / ``_memory_mb``)."""

    timeout_s: float = 5.0
    memory_mb: int = 256  # Lua heap, and separately the tensors one call may allocate

    def __post_init__(self) -> None:
        if not self.timeout_s > 0:
            raise TransformError(f"transform timeout must be positive, got {self.timeout_s}")
        if self.memory_mb < 1:
            raise TransformError(f"transform memory must be >= 1 MiB, got {self.memory_mb}")
