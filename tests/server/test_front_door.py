"""The front door's fast path answers exactly as the same routes do inside Starlette.

With ``--cors-origins`` every request goes through Starlette (its CORS middleware adds the
headers browsers check), so one config of each kind gives both paths the same requests: the
answers (status, JSON body, the headers that matter) must be identical, for good requests and
for every guard and error."""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from typing import Any

import httpx
import pytest

from nerve.engine.core import Engine
from nerve.server.config import ServerConfig
from nerve.server.http.app import create_app
from nerve.server.http.front import CALL_ROUTES, FrontDoor
from nerve.server.metrics import ServerMetrics
from nerve.server.service import InferenceService

from .cases import TEXTS

KEY = "s3cret"
GOOD = {
    "/predict_tokens": {"inputs": [[TEXTS[0], TEXTS[1]]], "aggregation_strategy": "simple"},
    "/predict": {"inputs": [TEXTS[0]], "metadata": {"k": "v"}},
    "/v1/entities": {"inputs": [TEXTS[0]], "aggregation_strategy": "first"},
}
# (name, headers beyond the key, body as bytes or JSON)
CASES: list[tuple[str, dict[str, str], Any]] = [
    ("good", {}, None),
    ("not json", {"content-type": "application/json"}, b"{not json"),
    ("text/plain", {"content-type": "text/plain"}, b'{"inputs": ["a"]}'),
    ("no content type", {}, b'{"inputs": ["a"]}'),
    ("too large", {"content-type": "application/json"}, b'{"inputs": ["' + b"a" * 9000 + b'"]}'),
    ("bad field", {}, {"inputs": [[1]]}),
    ("empty inputs", {}, {"inputs": []}),
    ("bad host", {"host": "evil.example"}, None),
    ("no key", {"authorization": ""}, None),
    ("wrong key", {"authorization": "Bearer nope"}, None),
]


def _config(cors: bool) -> ServerConfig:
    return ServerConfig(
        api_key=KEY,
        max_body_bytes=8 * 1024,
        cors_origins=("http://page.example",) if cors else (),
    )


async def _answers(service: InferenceService, path: str) -> list[tuple[int, Any, str | None]]:
    transport = httpx.ASGITransport(app=create_app(service))
    out = []
    async with httpx.AsyncClient(transport=transport, base_url="http://localhost") as client:
        for _, extra, body in CASES:
            headers = {"authorization": f"Bearer {KEY}", **extra}
            if headers["authorization"] == "":
                del headers["authorization"]
            payload = GOOD[path] if body is None else body
            if isinstance(payload, bytes):
                response = await client.post(path, content=payload, headers=headers)
            else:
                response = await client.post(path, json=payload, headers=headers)
            out.append(
                (response.status_code, response.json(), response.headers.get("www-authenticate"))
            )
    return out


@pytest.mark.parametrize("path", sorted(CALL_ROUTES))
def test_fast_path_and_starlette_give_the_same_answers(engine: Engine, path: str) -> None:
    fast = InferenceService(engine, _config(cors=False), ServerMetrics())
    framework = InferenceService(engine, _config(cors=True), ServerMetrics())
    for service in (fast, framework):
        service.start()
    try:
        assert create_app(fast).fast and not create_app(framework).fast  # type: ignore[attr-defined]
        got_fast = asyncio.run(_answers(fast, path))
        got_framework = asyncio.run(_answers(framework, path))
    finally:
        fast.close(5)
        framework.close(5)
    for (name, _, _), a, b in zip(CASES, got_fast, got_framework, strict=True):
        assert a == b, name
    statuses = dict(zip([name for name, _, _ in CASES], [a[0] for a in got_fast], strict=True))
    assert statuses == {
        "good": 200,
        "not json": 400,
        "text/plain": 415,
        "no content type": 415,
        "too large": 413,
        "bad field": 422,
        "empty inputs": 422,
        "bad host": 421,
        "no key": 401,
        "wrong key": 401,
    }
    assert got_fast[8][2] == 'Bearer realm="nerve"'  # 401 names the scheme


def test_the_fast_path_counts_and_logs_requests(
    engine: Engine, caplog: pytest.LogCaptureFixture
) -> None:
    config = dataclasses.replace(ServerConfig(), access_log=True)
    service = InferenceService(engine, config, ServerMetrics())
    service.start()
    app = create_app(service)
    assert isinstance(app, FrontDoor) and "/predict_tokens" in app.fast

    async def scenario() -> None:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://localhost") as client:
            await client.post("/predict_tokens", json=GOOD["/predict_tokens"])
            await client.post(
                "/predict_tokens", content=b"{", headers={"content-type": "text/plain"}
            )

    try:
        with caplog.at_level(logging.INFO, logger="nerve.access"):
            asyncio.run(scenario())
    finally:
        service.close(5)
    counts = {
        (s.labels["route"], s.labels["status"]): s.value
        for metric in service.metrics.requests.collect()
        for s in metric.samples
        if s.name.endswith("_total")
    }
    assert counts[("/predict_tokens", "200")] == 1 and counts[("/predict_tokens", "415")] == 1
    lines = [r.getMessage() for r in caplog.records if r.name == "nerve.access"]
    assert [line.split()[:3] for line in lines] == [
        ["POST", "/predict_tokens", "200"],
        ["POST", "/predict_tokens", "415"],
    ]
