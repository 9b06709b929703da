"""The service and the ASGI app in-process: model crashes, cancelled and disconnected clients."""

from __future__ import annotations

import asyncio
import copy
import threading
from collections.abc import Callable
from typing import Any

import httpx
import numpy as np
import pytest

from nerve.decode.tokens import WindowTokens
from nerve.engine.core import Engine
from nerve.server.config import ServerConfig
from nerve.server.http.answer import ClientDisconnected
from nerve.server.http.app import create_app
from nerve.server.http.io import Call
from nerve.server.metrics import ServerMetrics
from nerve.server.service import InferenceService
from nerve.types import InferenceOptions

from .cases import TEXTS, assert_json_close

RunWindows = Callable[[list[WindowTokens]], list[np.ndarray]]


def service_with(engine: Engine, run_windows: RunWindows) -> InferenceService:
    """A service over ``engine`` whose model step is replaced by ``run_windows``."""
    patched = copy.copy(engine)  # shares weights and tokenizer; only the method differs
    patched.run_windows = run_windows  # type: ignore[method-assign,assignment]
    service = InferenceService(patched, ServerConfig(), ServerMetrics(), lanes=1)
    service.start()
    return service


class CrashOnce:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.crashed = False

    def __call__(
        self, windows: list[WindowTokens], spread: bool = False, **kw: Any
    ) -> list[np.ndarray]:
        if not self.crashed:
            self.crashed = True
            raise RuntimeError("CUDA error: secret internal detail")
        return self.engine.run_windows(windows, spread=spread, **kw)


def test_model_crash_is_a_500_for_that_request_only(engine: Engine) -> None:
    service = service_with(engine, CrashOnce(engine))

    async def scenario() -> list[httpx.Response]:
        transport = httpx.ASGITransport(app=create_app(service))
        async with httpx.AsyncClient(transport=transport, base_url="http://localhost") as client:
            body = {"inputs": [[TEXTS[0]]], "aggregation_strategy": "simple"}
            crashed = await client.post("/predict_tokens", json=body)
            after = await client.post("/predict_tokens", json=body)
            health = await client.get("/health")
            return [crashed, after, health]

    try:
        crashed, after, health = asyncio.run(scenario())
    finally:
        service.close()
    assert crashed.status_code == 500
    assert crashed.json()["error"]["code"] == "model_error"
    assert "secret" not in crashed.text and "Traceback" not in crashed.text
    assert after.status_code == 200 and len(after.json()) == 1
    assert health.status_code == 200 and health.json() == "OK!"


class Gated:
    """Blocks the model until released and records the texts' first token ids it saw."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.release = threading.Event()
        self.busy = threading.Event()
        self.seen: list[int] = []

    def __call__(
        self, windows: list[WindowTokens], spread: bool = False, **kw: Any
    ) -> list[np.ndarray]:
        self.seen.extend(len(w) for w in windows)
        self.busy.set()
        self.release.wait(10)
        return self.engine.run_windows(windows, spread=spread, **kw)


def test_cancelled_request_never_reaches_the_model(engine: Engine) -> None:
    gate = Gated(engine)
    service = service_with(engine, gate)
    options = InferenceOptions()
    short, longer = "Paris.", "Angela Merkel visited Berlin and Paris on Monday."

    async def scenario() -> None:
        first = asyncio.create_task(service.entities([short], options))
        await asyncio.to_thread(gate.busy.wait, 10)  # the worker is inside the model now
        abandoned = asyncio.create_task(service.entities([longer], options))
        for _ in range(500):  # until its job is queued behind the busy model
            if service.queue_depth == 1:
                break
            await asyncio.sleep(0.01)
        assert service.queue_depth == 1
        abandoned.cancel()  # what a client disconnect or a timeout does
        with pytest.raises(asyncio.CancelledError):
            await abandoned
        gate.release.set()
        await first

    try:
        asyncio.run(scenario())
    finally:
        service.close()
    lengths = [len(e.windows[0]) for e in engine.tokenize([short, longer], InferenceOptions())]
    assert gate.seen == [lengths[0]]  # only the first request's window ever ran


def test_disconnect_cancels_the_work() -> None:
    cancelled = asyncio.Event()

    async def slow_work() -> str:
        try:
            await asyncio.sleep(30)
        except asyncio.CancelledError:
            cancelled.set()
            raise
        return "done"

    async def receive() -> dict[str, object]:
        await asyncio.sleep(0.05)
        return {"type": "http.disconnect"}

    async def scenario() -> None:
        call = Call({"type": "http", "method": "POST", "headers": []}, receive, None)  # type: ignore[arg-type]
        with pytest.raises(ClientDisconnected):
            await call.unless_disconnected(slow_work())
        await asyncio.wait_for(cancelled.wait(), 5)

    asyncio.run(scenario())
    assert cancelled.is_set()


def test_work_result_comes_back_when_the_client_stays() -> None:
    async def receive() -> dict[str, object]:
        await asyncio.sleep(30)  # the client never leaves
        return {"type": "http.disconnect"}

    async def work() -> str:
        return "result"

    async def scenario() -> str:
        call = Call({"type": "http", "method": "POST", "headers": []}, receive, None)  # type: ignore[arg-type]
        return await call.unless_disconnected(work())

    assert asyncio.run(scenario()) == "result"


class Accelerator:
    """The engine's CPU backend dressed as an accelerator: only its ``device`` differs."""

    def __init__(self, backend: Any) -> None:
        self._backend = backend
        self.device = "cuda:0"

    def __getattr__(self, name: str) -> Any:
        return getattr(self._backend, name)


@pytest.mark.parametrize("device", ["cpu", "cuda:0"])
def test_small_requests_are_decoded_in_the_lane_on_every_device(
    engine: Engine, device: str
) -> None:
    patched = copy.copy(engine)
    if device != "cpu":
        patched.backend = Accelerator(engine.backend)  # type: ignore[assignment]
    decoded_in: list[str] = []
    decode_many = patched.decode_many

    def recording(*args: Any, **kwargs: Any) -> Any:
        decoded_in.append(threading.current_thread().name)
        return decode_many(*args, **kwargs)

    patched.decode_many = recording  # type: ignore[method-assign]
    service = InferenceService(patched, ServerConfig(), ServerMetrics())
    service.start()
    options = InferenceOptions()
    try:
        got = asyncio.run(service.entities(TEXTS[:3], options))
    finally:
        service.close(5)
    # The library's answers either way; scores to float32 noise, since the lanes batch the
    # texts otherwise than one engine call (a different batch shape moves the last bits).
    want = engine(list(TEXTS[:3]))
    assert_json_close([r.to_dict() for r in got], [r.to_dict() for r in want])
    assert decoded_in and all(name.startswith("nerve-model-lane-") for name in decoded_in), (
        decoded_in
    )
