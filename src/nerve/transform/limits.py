"""A transform's per-call budgets (no Lua import, so configs can be checked without lupa)."""

from __future__ import annotations

from dataclasses import dataclass

from .errors import TransformError

# A day, as the server's timeouts: beyond it (or infinite) the waits that take the value
# overflow (`poll` takes milliseconds as a C int).
MAX_TIMEOUT_S = 86_400
# 1 TiB: twice this plus the worker's own size still fits the address-space limit
# (`RLIMIT_AS`, a C long) the worker sets; a larger budget overflowed it.
MAX_MEMORY_MB = 1_048_576


@dataclass(frozen=True)
class TransformLimits:
    """Per-call budgets of a transform (``nerve.transform_timeout`` / ``_memory_mb``)."""

    timeout_s: float = 5.0
    memory_mb: int = 256  # Lua heap, and separately the tensors one call may allocate

    def __post_init__(self) -> None:
        # A manifest written by hand (or an older nerve) gets the same bounds as a config.
        if not 0 < self.timeout_s <= MAX_TIMEOUT_S:
            raise TransformError(
                f"transform timeout must be above 0 and at most {MAX_TIMEOUT_S:,} s, got "
                f"{self.timeout_s} (nerve.transform_timeout)"
            )
        if not 1 <= self.memory_mb <= MAX_MEMORY_MB:
            raise TransformError(
                f"transform memory must be 1 to {MAX_MEMORY_MB:,} MiB, got {self.memory_mb} "
                "(nerve.transform_memory_mb)"
            )
