"""The real ``baseten-performance-client`` against ``POST /predict_tokens`` (contracts §1)."""

from __future__ import annotations

import pytest

from nerve.engine.core import Engine

from .cases import LONG_TEXT, STRATEGIES, TEXTS, assert_same_entries, expected_entries
from .procs import ServerProcess

baseten = pytest.importorskip("baseten_performance_client")


@pytest.mark.parametrize("raw_scores", [False, True])
@pytest.mark.parametrize("strategy", STRATEGIES)
def test_performance_client_gets_the_python_api_entities(
    server: ServerProcess, engine: Engine, strategy: str, raw_scores: bool
) -> None:
    client = baseten.PerformanceClient(base_url=server.url, api_key="unused")
    texts = [*TEXTS, LONG_TEXT]
    payloads = [
        {
            "inputs": [[text]],
            "truncate": False,
            "truncation_direction": "Right",
            "raw_scores": raw_scores,
            "aggregation_strategy": strategy,
        }
        for text in texts
    ]
    response = client.batch_post(url_path="/predict_tokens", payloads=payloads)
    assert len(response.data) == len(texts)
    for text, data in zip(texts, response.data, strict=True):
        assert len(data) == 1  # one result list per input text
        assert_same_entries(data[0], expected_entries(engine, text, strategy, raw_scores))
    if strategy != "none":
        labels = {label for data in response.data for e in data[0] for label in e["results"]}
        # Aggregated entities carry entity types (no B-/I-) unless raw logits were asked for.
        assert raw_scores or not any(label.startswith(("B-", "I-")) for label in labels)


def test_nested_batches_and_flat_lists_flatten_in_order(
    server: ServerProcess, engine: Engine
) -> None:
    client = baseten.PerformanceClient(base_url=server.url, api_key="unused")
    nested = {"inputs": [[TEXTS[0], TEXTS[1]], [TEXTS[2]]], "aggregation_strategy": "simple"}
    flat = {"inputs": [TEXTS[0], TEXTS[1], TEXTS[2]], "aggregation_strategy": "simple"}
    response = client.batch_post(url_path="/predict_tokens", payloads=[nested, flat])
    for data in response.data:
        assert len(data) == 3
        for text, entries in zip(TEXTS[:3], data, strict=True):
            assert_same_entries(entries, expected_entries(engine, text, "simple", False))


def test_truncate_cuts_at_the_window_in_either_direction(
    server: ServerProcess, engine: Engine
) -> None:
    client = baseten.PerformanceClient(base_url=server.url, api_key="unused")
    payloads = [
        {
            "inputs": [[LONG_TEXT]],
            "truncate": True,
            "truncation_direction": direction,
            "aggregation_strategy": "first",
        }
        for direction in ("Right", "LEFT")
    ]
    right, left = client.batch_post(url_path="/predict_tokens", payloads=payloads).data
    want_right = engine(LONG_TEXT, aggregation_strategy="first", truncate=True)
    want_left = engine(
        LONG_TEXT, aggregation_strategy="first", truncate=True, truncation_direction="left"
    )
    assert [(e["start"], e["end"]) for e in right[0]] == [
        (e.start, e.end) for e in want_right.entities
    ]
    assert [(e["start"], e["end"]) for e in left[0]] == [
        (e.start, e.end) for e in want_left.entities
    ]
    # Right truncation keeps the beginning, left truncation the end of the text.
    assert max(e["end"] for e in right[0]) < len(LONG_TEXT) // 2
    assert min(e["start"] for e in left[0]) > len(LONG_TEXT) // 2
