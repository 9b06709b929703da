"""``LocalTransform``: encoderfile's ``Postprocess(arr)`` over logits [batch, seq, labels], run
in the calling process.

Only the transform worker process (``nerve.transform.worker``) uses it directly: its limits are
checked between Lua instructions and before each tensor is allocated, which a single long C
call (a backtracking ``string.find``) can outlast. ``LuaTransform`` runs it in that worker.
"""

from __future__ import annotations

import threading

import numpy as np

from .errors import require_script
from .limits import TransformLimits
from .ops import TensorOps, check_output
from .sandbox import MIB, Sandbox
from .store import TensorStore


class LocalTransform:
    """A compiled transform. Calls are serialised: one Lua state is single-threaded."""

    def __init__(
        self,
        source: str,
        limits: TransformLimits | None = None,
        libs: tuple[str, ...] | None = None,
    ) -> None:
        self.source = require_script(source)
        self.limits = limits or TransformLimits()
        self._store = TensorStore(self.limits.memory_mb * MIB)
        self._sandbox = Sandbox(TensorOps(self._store), self.limits, libs)
        self._lock = threading.Lock()
        with self._lock:
            self._sandbox.load(source)

    def __call__(self, logits: np.ndarray) -> np.ndarray:
        """float32 [batch, seq, labels] → the script's tensor of the same shape."""
        logits = np.asarray(logits, dtype=np.float32)
        with self._lock:
            try:
                result = self._sandbox.postprocess(self._store.put(logits))
                out = self._store.get(result).copy()
            finally:
                self._store.clear()
        return check_output(out, logits.shape)
