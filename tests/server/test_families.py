"""A DeBERTa-v3 and a ModernBERT model served by the real ``nerve serve`` (one HTTP route)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

import nerve

from .cases import LONG_TEXT, TEXTS, assert_json_close
from .procs import ServerProcess, start_server


@pytest.fixture(scope="module", params=["deberta-v3", "modernbert"])
def family_server(
    request: pytest.FixtureRequest, family_model_dir: Any, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[ServerProcess, Path]]:
    model_dir = family_model_dir(request.param)
    proc = start_server(model_dir, tmp_path_factory.mktemp("family-logs"), "--threads", "1")
    yield proc, model_dir
    proc.stop()


@pytest.mark.parametrize("strategy", ["simple", "first"])
def test_entities_route_equals_the_python_api(
    family_server: tuple[ServerProcess, Path], strategy: str
) -> None:
    server, model_dir = family_server
    texts = [*TEXTS, LONG_TEXT]
    response = httpx.post(
        f"{server.url}/v1/entities",
        json={"inputs": texts, "aggregation_strategy": strategy},
        timeout=60,
    )
    assert response.status_code == 200, response.text
    want = [r.to_dict() for r in nerve.load(model_dir)(texts, aggregation_strategy=strategy)]
    assert any(r["entities"] for r in want)
    assert_json_close(response.json()["results"], want)
