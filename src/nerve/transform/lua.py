"""``LuaTransform``: encoderfile's ``Postprocess(arr)`` over logits [batch, seq, labels], run
in a worker process of its own so that its time and memory limits hold whatever the script
does (see ``nerve.transform.worker``)."""

from __future__ import annotations

import threading
import weakref

import lupa.lua54  # noqa: F401 - a missing lupa fails here, in the caller, not in the worker
import numpy as np

from .errors import require_script
from .limits import TransformLimits
from .ops import check_output
from .worker import TransformWorker


class LuaTransform:
    """A compiled transform. Calls are serialised: one Lua state is single-threaded.

    (The server runs the model in one worker thread anyway, so the lock costs nothing there.)
    Construction starts the worker process and runs the script's top level: a script that does
    not compile, or defines no ``Postprocess``, fails here.
    """

    def __init__(
        self,
        source: str,
        limits: TransformLimits | None = None,
        libs: tuple[str, ...] | None = None,
    ) -> None:
        self.source = require_script(source)
        self.limits = limits or TransformLimits()
        self._lock = threading.Lock()
        self._worker = TransformWorker(source, self.limits, libs)
        # A transform dropped without close() still takes its process with it.
        self._finalizer = weakref.finalize(self, self._worker.stop)

    def __call__(self, logits: np.ndarray) -> np.ndarray:
        """float32 [batch, seq, labels] → the script's tensor of the same shape."""
        logits = np.asarray(logits, dtype=np.float32)
        with self._lock:
            out = self._worker.run(logits)
        return check_output(out, logits.shape)

    def close(self) -> None:
        """Stop the worker process (a later call would start a new one)."""
        with self._lock:
            self._worker.stop()
