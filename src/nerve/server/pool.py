"""Thread pools with a bounded backlog: CPU work of the server (parsing big bodies,
tokenizing, decoding) never waits in an unbounded queue.

``concurrent.futures.ThreadPoolExecutor`` queues without limit; here a call beyond
``max_pending`` (running + waiting) is refused at once with ``Overloaded`` (429), so a burst of
large bodies costs their senders a retry instead of costing every other client latency.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

from ..errors import Overloaded

T = TypeVar("T")


class BoundedPool:
    def __init__(self, workers: int, max_pending: int, name: str, refusal: str) -> None:
        self.max_pending = max_pending
        self._refusal = refusal  # why the caller is refused, for the 429 message
        self._executor = ThreadPoolExecutor(workers, thread_name_prefix=name)
        self._pending = 0
        self._lock = threading.Lock()

    @property
    def pending(self) -> int:
        return self._pending

    async def run(self, fn: Callable[[], T]) -> T:
        with self._lock:
            if self._pending >= self.max_pending:
                raise Overloaded(f"{self._refusal} ({self._pending} waiting); retry later")
            self._pending += 1
        try:
            return await asyncio.get_running_loop().run_in_executor(self._executor, fn)
        finally:
            with self._lock:
                self._pending -= 1

    def shutdown(self) -> None:
        self._executor.shutdown(wait=True, cancel_futures=True)
