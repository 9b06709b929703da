"""Hand the model worker's results to the event loop with one wake-up per burst, not one per
request.

``asyncio.wrap_future`` wakes the loop once for every finished future: the worker thread
writes to the loop's self-pipe (a system call, then a wait for the GIL) for each request of a
batch, forty times for a batch of forty sentences. Here the first result of a burst schedules
one delivery and the rest join it, so a batch costs the worker one wake-up. Cancelling the
awaiting side cancels the worker's future, as with ``wrap_future`` (the worker then drops the
job's remaining windows).
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
import weakref
from concurrent.futures import Future
from typing import Any, TypeVar

T = TypeVar("T")


class _LoopDelivery:
    """The results waiting to be handed to one event loop."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self._lock = threading.Lock()
        self._ready: list[tuple[Future[Any], asyncio.Future[Any]]] = []

    def wrap(self, source: Future[T]) -> asyncio.Future[T]:
        target: asyncio.Future[T] = self._loop.create_future()

        def on_done(done: Future[Any]) -> None:  # in the thread that finished it
            with self._lock:
                self._ready.append((done, target))
                if len(self._ready) > 1:
                    return  # a delivery is already scheduled and will take this one too
            with contextlib.suppress(RuntimeError):  # the loop closed: nobody is waiting
                self._loop.call_soon_threadsafe(self._deliver)

        def on_target_done(awaited: asyncio.Future[Any]) -> None:
            if awaited.cancelled():
                source.cancel()

        target.add_done_callback(on_target_done)
        source.add_done_callback(on_done)
        return target

    def _deliver(self) -> None:
        with self._lock:
            ready, self._ready = self._ready, []
        for source, target in ready:
            if target.done():
                continue  # cancelled (timeout, client gone) while the worker finished
            if source.cancelled():
                target.cancel()
            elif (error := source.exception()) is not None:
                target.set_exception(error)
            else:
                target.set_result(source.result())


class ResultDelivery:
    """``await delivery.wrap(future)`` in place of ``await asyncio.wrap_future(future)``."""

    def __init__(self) -> None:
        self._by_loop: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _LoopDelivery] = (
            weakref.WeakKeyDictionary()
        )
        self._lock = threading.Lock()

    def wrap(self, source: Future[T]) -> asyncio.Future[T]:
        loop = asyncio.get_running_loop()
        with self._lock:
            delivery = self._by_loop.get(loop)
            if delivery is None:
                delivery = self._by_loop[loop] = _LoopDelivery(loop)
        return delivery.wrap(source)
