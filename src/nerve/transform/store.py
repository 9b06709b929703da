"""The arrays one transform call works on, reachable from Lua only by integer handle.

Lua never holds a Python object: a Tensor in Lua is an opaque table whose handle lives in a
private Lua table, and every operation passes handles to Python. That keeps the sandbox's
surface to a fixed list of functions, and lets the store count the bytes a call allocates
(Lua's own allocator limit cannot see numpy memory).
"""

from __future__ import annotations

import math

import numpy as np

from .errors import TransformError


class TensorStore:
    """Handle → float32 array for the duration of one ``Postprocess`` call."""

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self._arrays: dict[int, np.ndarray] = {}
        # Never reset: a handle kept in a Lua global from an earlier call must find nothing,
        # not alias a new tensor.
        self._next = 1
        self._bytes = 0

    def reserve(self, shape: tuple[int, ...]) -> None:
        """Refuse, before numpy allocates it, a float32 result of ``shape`` that would take the
        call over its budget (broadcasting ``[N, 1] + [1, N]`` asks for N² elements)."""
        self._check(self._bytes + 4 * math.prod(shape))

    def put(self, array: np.ndarray) -> int:
        array = np.asarray(array, dtype=np.float32)
        self._check(self._bytes + array.nbytes)
        self._bytes += array.nbytes
        handle = self._next
        self._next += 1
        self._arrays[handle] = array
        return handle

    def _check(self, total: int) -> None:
        if total > self.max_bytes:
            raise TransformError(
                f"the transform allocated more than {self.max_bytes // (1024 * 1024)} MiB of "
                "tensors in one call (nerve.transform_memory_mb)"
            )

    def get(self, handle: object) -> np.ndarray:
        array = self._arrays.get(handle) if isinstance(handle, int) else None
        if array is None:
            # Only possible for a Tensor kept in a Lua global from an earlier call.
            raise TransformError("a Tensor from an earlier Postprocess call cannot be reused")
        return array

    def clear(self) -> None:
        self._arrays.clear()
        self._bytes = 0
