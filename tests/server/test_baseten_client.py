"""The real ``baseten-performance-client`` against ``POST /predict_tokens`` (contracts §1)."""

from __future__ import annotations

from typing import Any

import pytest

from nerve.engine.core import Engine

from .cases import LONG_TEXT, STRATEGIES, TEXTS
from .procs import ServerProcess

baseten = pytest.importorskip("baseten_performance_client")


def expected_entries(engine: Engine, text: str, strategy: str, raw: bool) -> list[dict[str, Any]]:
    """What /predict_tokens must answer, computed with the Python API on the same model."""
    result = engine(text, aggregation_strategy=strategy, raw_scores=raw)
    entries = []
    for e in result.entities:
        assert e.raw is not None or not raw
        scores = dict(zip(engine.labels, e.raw, strict=True)) if raw else {e.label: e.score}
        entries.append(
            {
                "token": text[e.start : e.end],
                "token_id": e.token_id if strategy == "none" else 0,
                "start": e.start,
                "end": e.end,
                "results": scores,
            }
        )
    return entries


def assert_same_entries(got: list[dict[str, Any]], want: list[dict[str, Any]]) -> None:
    assert [(g["token"], g["token_id"], g["start"], g["end"]) for g in got] == [
        (w["token"], w["token_id"], w["start"], w["end"]) for w in want
    ]
    for g, w in zip(got, want, strict=True):
        assert list(g["results"]) == list(w["results"])  # same labels, same order
        assert g["results"] == pytest.approx(w["results"], abs=1e-5)


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
    assert [(e["start"], e["end"]) for e in left[0]] == [(e.start, e.end) for e in want_left.entities]
    # Right truncation keeps the beginning, left truncation the end of the text.
    assert max(e["end"] for e in right[0]) < len(LONG_TEXT) // 2
    assert min(e["start"] for e in left[0]) > len(LONG_TEXT) // 2
