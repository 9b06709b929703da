"""nerve's own ``POST /v1/entities`` (every engine option) and ``GET /metrics``."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from nerve.engine.core import Engine

from .cases import LONG_TEXT, STRATEGIES, TEXTS, assert_json_close
from .procs import ServerProcess


def entities(server: ServerProcess, **body: Any) -> dict[str, Any]:
    response = httpx.post(f"{server.url}/v1/entities", json=body, timeout=30)
    assert response.status_code == 200, response.text
    payload: dict[str, Any] = response.json()
    return payload


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_nerve_format_equals_the_python_api(
    server: ServerProcess, engine: Engine, strategy: str
) -> None:
    texts = [*TEXTS, LONG_TEXT]
    got = entities(server, inputs=texts, aggregation_strategy=strategy)
    assert got["model_id"] == engine.model_id and got["format"] == "nerve"
    want = [r.to_dict() for r in engine(texts, aggregation_strategy=strategy)]
    assert_json_close(got["results"], want)


def test_pipeline_and_spacy_formats(server: ServerProcess, engine: Engine) -> None:
    text = TEXTS[0]
    result = engine(text, aggregation_strategy="max")
    pipeline = entities(server, inputs=[text], aggregation_strategy="max", format="pipeline")
    assert_json_close(pipeline["results"], [result.to_pipeline()])
    spacy = entities(server, inputs=[text], aggregation_strategy="max", format="spacy")
    assert spacy["results"] == [result.to_spacy()]


def test_every_engine_option_reaches_the_engine(server: ServerProcess, engine: Engine) -> None:
    options: dict[str, Any] = {
        "aggregation_strategy": "average",
        "ignore_labels": ["O", "MISC"],
        "window": 24,
        "stride": 5,
        "raw_scores": True,
    }
    got = entities(server, inputs=[LONG_TEXT], **options)["results"][0]
    want = engine(LONG_TEXT, **options).to_dict()
    assert_json_close(got, want)
    assert all(e["label"] != "MISC" for e in got["entities"])
    assert all(len(e["raw_scores"]) == len(engine.labels) for e in got["entities"])


def test_truncate_left(server: ServerProcess, engine: Engine) -> None:
    got = entities(server, inputs=[LONG_TEXT], truncate=True, truncation_direction="left")
    want = engine(LONG_TEXT, truncate=True, truncation_direction="left").to_dict()
    assert_json_close(got["results"][0], want)


def test_presplit_words_get_one_label_per_word(server: ServerProcess, engine: Engine) -> None:
    sentences = [text.split() for text in TEXTS if text] + [LONG_TEXT.split()]
    got = entities(server, words=sentences)
    assert got["format"] == "words"
    for sentence, result, want in zip(
        sentences, got["results"], engine.predict_words(sentences), strict=True
    ):
        assert result["words"] == sentence
        assert result["labels"] == list(want.labels)
        assert result["scores"] == pytest.approx(list(want.scores), abs=1e-6)
    # Null counts as absent, for the entity-only fields too (refused with words otherwise).
    nulls = {"format": None, "raw_scores": None, "aggregation_strategy": None}
    assert entities(server, words=sentences[:1], **nulls)["results"] == got["results"][:1]
    assert all("read_span" not in r for r in got["results"])  # nothing was cut


def test_truncated_words_carry_the_read_span(server: ServerProcess, engine: Engine) -> None:
    words = LONG_TEXT.split() * 4
    got = entities(server, words=[words], truncate=True)["results"][0]
    (want,) = engine.predict_words([words], truncate=True)
    assert want.read_span is not None and want.read_span[1] < len(words)
    assert got["read_span"] == list(want.read_span)
    assert got["labels"] == list(want.labels)


def metric_value(text: str, name: str) -> float:
    """The value of one exposed series, ``name`` including its labels as Prometheus prints them."""
    for line in text.splitlines():
        series, _, value = line.rpartition(" ")
        if series == name:
            return float(value)
    raise AssertionError(f"{name} not in /metrics")


def test_metrics_show_stages_batches_and_queue(server: ServerProcess) -> None:
    entities(server, inputs=TEXTS[:3])
    response = httpx.get(f"{server.url}/metrics", timeout=10)
    assert response.headers["content-type"].startswith("text/plain")
    text = response.text
    for stage in ("tokenize", "queue", "model", "decode"):
        assert metric_value(text, f'nerve_stage_duration_seconds_count{{stage="{stage}"}}') >= 1
    assert metric_value(text, "nerve_batch_tokens_count") >= 1
    assert metric_value(text, "nerve_batch_requests_count") >= 1
    assert metric_value(text, 'nerve_requests_total{route="/v1/entities",status="200"}') >= 1
    assert metric_value(text, "nerve_queue_depth") >= 0
    assert metric_value(text, "nerve_requests_in_flight") == 0
