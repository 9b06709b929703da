"""`/predict` answers as encoderfile does: the vocabulary piece as `token` (`[UNK]` for an
unknown piece), 422 for an empty input, `metadata: {}` echoed, `/health` the JSON "OK!"."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest

from nerve.engine.core import Engine
from nerve.server.config import ServerConfig
from nerve.server.http.app import create_app
from nerve.server.metrics import ServerMetrics
from nerve.server.service import InferenceService

UNKNOWN = "Paris \u2603 Berlin"  # the snowman is not in the tiny BERT's vocabulary


@pytest.fixture(scope="module")
def answers(engine: Engine) -> dict[str, httpx.Response]:
    service = InferenceService(engine, ServerConfig(), ServerMetrics())
    service.start()
    requests: dict[str, tuple[str, str, Any]] = {
        "unknown": ("POST", "/predict", {"inputs": [UNKNOWN]}),
        "empty": ("POST", "/predict", {"inputs": ["Paris", ""]}),
        "empty_metadata": ("POST", "/predict", {"inputs": ["Paris"], "metadata": {}}),
        "no_metadata": ("POST", "/predict", {"inputs": ["Paris"]}),
        "health": ("GET", "/health", None),
    }

    async def scenario() -> dict[str, httpx.Response]:
        transport = httpx.ASGITransport(app=create_app(service))
        async with httpx.AsyncClient(transport=transport, base_url="http://localhost") as client:
            return {
                name: await client.request(method, path, json=body)
                for name, (method, path, body) in requests.items()
            }

    try:
        return asyncio.run(scenario())
    finally:
        service.close()


def test_unknown_piece_token_is_the_vocabulary_entry(
    answers: dict[str, httpx.Response], engine: Engine
) -> None:
    response = answers["unknown"]
    assert response.status_code == 200
    rows = response.json()["results"][0]["tokens"]
    unk_id = engine._tokenizer.token_to_id("[UNK]")
    assert unk_id is not None
    unknown = [r["token_info"] for r in rows if r["token_info"]["token_id"] == unk_id]
    assert len(unknown) == 1
    assert unknown[0]["token"] == "[UNK]"
    assert UNKNOWN[unknown[0]["start"] : unknown[0]["end"]] == "\u2603"
    # The other rows are their vocabulary pieces too.
    for row in rows:
        info = row["token_info"]
        assert info["token"] == engine.vocabulary_piece(info["token_id"])


def test_empty_input_is_422(answers: dict[str, httpx.Response]) -> None:
    response = answers["empty"]
    assert response.status_code == 422
    assert "inputs[1] is an empty string" in response.text


def test_empty_metadata_is_echoed_and_absent_metadata_is_not(
    answers: dict[str, httpx.Response],
) -> None:
    assert answers["empty_metadata"].status_code == 200
    assert answers["empty_metadata"].json()["metadata"] == {}
    assert "metadata" not in answers["no_metadata"].json()


def test_health_is_the_json_string_ok(answers: dict[str, httpx.Response]) -> None:
    response = answers["health"]
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    assert response.json() == "OK!"
