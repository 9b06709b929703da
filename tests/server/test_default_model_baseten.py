"""Baseten's documented request, through the real performance client, on the default model.

Baseten's docs show ``Apple`` (ORG) and ``U.K.`` (27–31, LOC) as one entity for
``aggregation_strategy: "max"``. The default model labels every sub-word (docs/default-model.md),
so the pipeline's strategies keep the word whole: ``U.K.`` must not come back as ``U`` and ``K``.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from nerve.model.resolve import default_model_dir

from .procs import ServerProcess, start_server

baseten = pytest.importorskip("baseten_performance_client")

TEXT = "Apple is looking at buying U.K. startup for $1 billion"


@pytest.fixture(scope="module")
def default_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    proc = start_server(
        default_model_dir(), tmp_path_factory.mktemp("default-server"), "--threads", "1"
    )
    try:
        yield proc
    finally:
        proc.stop()


def test_documented_request_returns_whole_entities(default_server: ServerProcess) -> None:
    client = baseten.PerformanceClient(base_url=default_server.url, api_key="unused")
    strategies = ["max", "first", "average", "simple"]
    payloads = [
        {
            "inputs": [[TEXT]],
            "truncate": True,
            "truncation_direction": "Right",
            "raw_scores": False,
            "aggregation_strategy": strategy,
        }
        for strategy in strategies
    ]
    response = client.batch_post(url_path="/predict_tokens", payloads=payloads)
    for strategy, data in zip(strategies, response.data, strict=True):
        spans = [(e["token"], e["start"], e["end"], _label(e)) for e in data[0]]
        assert spans == [("Apple", 0, 5, "ORG"), ("U.K.", 27, 31, "LOC")], strategy


def _label(entry: dict) -> str:  # type: ignore[type-arg]
    (label,) = entry["results"]  # one label per entity when raw_scores is false
    return str(label)


WHOLE_WORDS = [
    ("Apple is looking at buying U.K. startup for $1 billion", [("U.K.", "LOC")]),
    ("Hewlett-Packard opened an office in San Francisco.", [("San Francisco", "LOC")]),
]


@pytest.mark.parametrize("strategy", ["simple", "first", "average", "max"])
def test_native_route_and_encoderfile_route_keep_words_whole(
    default_server: ServerProcess, strategy: str
) -> None:
    import httpx

    texts = [t for t, _ in WHOLE_WORDS]
    body = {"inputs": texts, "aggregation_strategy": strategy}
    response = httpx.post(default_server.url + "/v1/entities", json=body, timeout=30)
    assert response.status_code == 200, response.text
    for (text, expected), result in zip(WHOLE_WORDS, response.json()["results"], strict=True):
        found = {(e["text"], e["label"]) for e in result["entities"]}
        assert set(expected) <= found, (strategy, text, found)
    # encoderfile's /predict is token-level: every piece of "U.K." carries a LOC label.
    response = httpx.post(default_server.url + "/predict", json={"inputs": texts[:1]}, timeout=30)
    assert response.status_code == 200, response.text
    rows = response.json()["results"][0]["tokens"]
    pieces = [t for t in rows if 27 <= t["token_info"]["start"] < 31]
    assert [p["token_info"]["token"] for p in pieces] == ["u", ".", "k", "."]
    assert all(p["label"].endswith("-LOC") for p in pieces), pieces
