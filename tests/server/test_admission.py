"""Admission by work, in-process: window/stride settings that multiply work, one request's
token cap (413) and the queued-work bound (429 at once, before tokenizing)."""

from __future__ import annotations

import asyncio
import copy
import threading
import time
from typing import Any

import httpx
import numpy as np

from nerve.decode.tokens import WindowTokens
from nerve.engine.core import Engine
from nerve.server.config import ServerConfig
from nerve.server.http.app import create_app
from nerve.server.metrics import ServerMetrics
from nerve.server.service import InferenceService, WorkSizes

from .cases import LONG_TEXT


def serve(engine: Engine, config: ServerConfig, run_windows=None) -> InferenceService:  # type: ignore[no-untyped-def]
    patched = copy.copy(engine)
    if run_windows is not None:
        patched.run_windows = run_windows  # type: ignore[method-assign]
    service = InferenceService(patched, config, ServerMetrics(), lanes=1)
    service.start()
    return service


async def post(service: InferenceService, path: str, body: object) -> httpx.Response:
    transport = httpx.ASGITransport(app=create_app(service))
    async with httpx.AsyncClient(transport=transport, base_url="http://localhost") as client:
        return await client.post(path, json=body, timeout=30)


def test_a_stride_close_to_the_window_is_refused_naming_the_largest_allowed(
    engine: Engine,
) -> None:
    service = serve(engine, ServerConfig())
    window = min(64, engine.max_length)
    content = window - engine.text_encoder.num_specials
    try:
        refused = asyncio.run(
            post(
                service,
                "/v1/entities",
                {"inputs": [LONG_TEXT], "window": window, "stride": content - 1},
            )
        )
        allowed = asyncio.run(
            post(
                service,
                "/v1/entities",
                {"inputs": [LONG_TEXT], "window": window, "stride": content // 2},
            )
        )
    finally:
        service.close(5)
    assert refused.status_code == 422
    message = refused.json()["error"]["message"]
    assert f"stride {content - 1} with window {window}" in message
    assert f"largest stride this server accepts for window {window} is {content // 2}" in message
    assert allowed.status_code == 200, allowed.text


def test_a_request_over_the_token_cap_gets_413_naming_the_flag(engine: Engine) -> None:
    service = serve(engine, ServerConfig(max_request_tokens=40, max_queued_tokens=1000))
    try:
        too_big = asyncio.run(post(service, "/predict", {"inputs": [LONG_TEXT]}))
        small = asyncio.run(post(service, "/predict", {"inputs": ["Angela Merkel"]}))
    finally:
        service.close(5)
    assert too_big.status_code == 413
    error = too_big.json()["error"]
    assert error["code"] == "request_too_large"
    assert "the limit is 40 (--max-request-tokens)" in error["message"]
    assert small.status_code == 200


class HeldModel:
    """The real model behind a gate, so work piles up in the queue."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.gate = threading.Event()
        self.entered = threading.Event()

    def __call__(
        self, windows: list[WindowTokens], spread: bool = False, **kw: Any
    ) -> list[np.ndarray]:
        self.entered.set()
        self.gate.wait(30)
        return self.engine.run_windows(windows, spread=spread, **kw)


def test_work_beyond_the_queue_bound_gets_429_at_once(engine: Engine) -> None:
    model = HeldModel(engine)
    # LONG_TEXT is 420 tokens on the tiny model: two fit the bound, a third does not.
    service = serve(engine, ServerConfig(max_request_tokens=1000, max_queued_tokens=1000), model)
    body = {"inputs": [LONG_TEXT]}

    async def scenario() -> tuple[list[httpx.Response], list[float]]:
        transport = httpx.ASGITransport(app=create_app(service))
        async with httpx.AsyncClient(transport=transport, base_url="http://localhost") as client:
            first = asyncio.ensure_future(client.post("/predict", json=body, timeout=30))
            deadline = time.monotonic() + 20
            while service.queue_depth == 0 and time.monotonic() < deadline:
                await asyncio.sleep(0.01)
            # Behind the held batch: two requests fill the queue, the third is refused.
            tasks = [
                asyncio.ensure_future(client.post("/predict", json=body, timeout=30))
                for _ in range(3)
            ]
            await asyncio.sleep(0.5)
            refused, times = [], []
            for _ in range(5):
                started = time.perf_counter()
                response = await client.post("/predict", json=body, timeout=30)
                times.append(time.perf_counter() - started)
                refused.append(response)
            model.gate.set()
            done = await asyncio.gather(first, *tasks)
            return [*done, *refused], times

    try:
        responses, times = asyncio.run(scenario())
    finally:
        model.gate.set()
        service.close(5)
    statuses = [r.status_code for r in responses]
    assert set(statuses) <= {200, 429}
    assert statuses.count(200) >= 1 and statuses[-5:] == [429] * 5
    assert all("--max-queued-tokens" in r.json()["error"]["message"] for r in responses[-5:])
    assert max(times) < 0.5  # refused at once, not after waiting for the model


class CountingTokenize:
    """The engine's tokenize, counted."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.calls = 0

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        self.calls += 1
        return self.engine.tokenize(*args, **kwargs)


def test_a_request_that_clearly_cannot_fit_is_refused_before_tokenizing(engine: Engine) -> None:
    model = HeldModel(engine)
    # LONG_TEXT is 332 model tokens on the tiny model (64-token windows): two queued fit 800.
    service = serve(engine, ServerConfig(max_request_tokens=800, max_queued_tokens=800), model)
    tokenize = CountingTokenize(engine)
    service.engine.tokenize = tokenize  # type: ignore[method-assign]
    body = {"inputs": [LONG_TEXT]}

    async def scenario() -> list[int]:
        transport = httpx.ASGITransport(app=create_app(service))
        async with httpx.AsyncClient(transport=transport, base_url="http://localhost") as client:
            # One request in the held lane, then two queued: 664 of 800 tokens.
            held = [asyncio.ensure_future(client.post("/predict", json=body, timeout=30))]
            assert await asyncio.to_thread(model.entered.wait, 20)
            held += [
                asyncio.ensure_future(client.post("/predict", json=body, timeout=30))
                for _ in range(2)
            ]
            deadline = time.monotonic() + 20
            while service.queue_depth < 2 and time.monotonic() < deadline:
                await asyncio.sleep(0.01)
            tokenized = tokenize.calls
            assert tokenized == 3
            refused = [(await client.post("/predict", json=body)).status_code for _ in range(3)]
            assert tokenize.calls == tokenized  # each refused before its tokenization
            model.gate.set()
            return [r.status_code for r in await asyncio.gather(*held)] + refused

    try:
        statuses = asyncio.run(scenario())
    finally:
        model.gate.set()
        service.close(5)
    assert statuses == [200, 200, 200, 429, 429, 429]


def test_work_sizes_learn_per_setting_and_size_class() -> None:
    sizes = WorkSizes()
    assert sizes.least_likely((512, 128), 100) == 0  # nothing known: no early refusal
    sizes.learn((512, 128), 100, 30)
    sizes.learn((512, 128), 10_000, 2_500)
    assert sizes.least_likely((512, 128), 120) == int(120 * 0.3 * WorkSizes.EARLY_SHARE)
    assert sizes.least_likely((512, 128), 9_000) == int(9_000 * 0.25 * WorkSizes.EARLY_SHARE)
    assert sizes.least_likely((128, 63), 9_000) == 0  # another setting: unknown
