"""Results handed from the model worker thread to the event loop: every one delivered,
exceptions and cancellation carried both ways, one loop wake-up per burst."""

from __future__ import annotations

import asyncio
import threading
from concurrent.futures import Future

import pytest

from nerve.server.wakeups import ResultDelivery


def test_a_burst_of_results_wakes_the_loop_once() -> None:
    async def scenario() -> tuple[list[int], int]:
        loop = asyncio.get_running_loop()
        wakeups = 0
        original = loop.call_soon_threadsafe

        def counting(*args, **kwargs):  # type: ignore[no-untyped-def]
            nonlocal wakeups
            wakeups += 1
            return original(*args, **kwargs)

        loop.call_soon_threadsafe = counting  # type: ignore[method-assign]
        delivery = ResultDelivery()
        sources: list[Future[int]] = [Future() for _ in range(40)]
        awaited = [delivery.wrap(f) for f in sources]

        def worker() -> None:  # one batch finishing: 40 results back to back
            for i, f in enumerate(sources):
                f.set_result(i)

        thread = threading.Thread(target=worker)
        thread.start()
        thread.join()
        results = await asyncio.gather(*awaited)
        return results, wakeups

    results, wakeups = asyncio.run(scenario())
    assert results == list(range(40))
    assert wakeups == 1


def test_exceptions_and_cancellation_are_carried() -> None:
    async def scenario() -> None:
        delivery = ResultDelivery()
        failing: Future[int] = Future()
        awaited = delivery.wrap(failing)
        threading.Thread(target=failing.set_exception, args=(ValueError("bad window"),)).start()
        with pytest.raises(ValueError, match="bad window"):
            await awaited

        # The awaiting side gives up (timeout, client gone): the worker's future is cancelled,
        # which is how the worker learns to drop the job.
        source: Future[int] = Future()
        waiting = delivery.wrap(source)
        waiting.cancel()
        await asyncio.sleep(0)
        assert source.cancelled()

        # The worker's side is cancelled (a job dropped): the awaiting side is cancelled too.
        dropped: Future[int] = Future()
        awaiting_dropped = delivery.wrap(dropped)
        dropped.cancel()
        with pytest.raises(asyncio.CancelledError):
            await awaiting_dropped

    asyncio.run(scenario())


def test_a_result_after_the_await_was_abandoned_is_dropped_quietly() -> None:
    async def scenario() -> list[dict[str, object]]:
        errors: list[dict[str, object]] = []
        asyncio.get_running_loop().set_exception_handler(lambda _, ctx: errors.append(ctx))
        delivery = ResultDelivery()
        source: Future[int] = Future()
        waiting = delivery.wrap(source)
        source.set_result(1)  # the delivery is scheduled...
        waiting.cancel()  # ...and the await is abandoned before it runs
        await asyncio.sleep(0.05)
        assert waiting.cancelled()
        return errors

    assert asyncio.run(scenario()) == []
