"""Wire conversions without a server: parsing rules and the documented output choices."""

from __future__ import annotations

from pathlib import Path

import pytest

import nerve
from nerve.errors import InvalidInput
from nerve.server.wire.baseten import parse_predict_tokens, render_predict_tokens
from nerve.server.wire.encoderfile import parse_predict, predict_json, predict_proto, token_rows
from nerve.server.wire.native import parse_entities
from nerve.types import Aggregation
from support.tiny_models import make_model


def test_baseten_accepts_nested_flat_and_mixed_inputs() -> None:
    request = parse_predict_tokens({"inputs": [["a", "b"], "c", []]})
    assert request.texts == ["a", "b", "c"]
    # Defaults: the pipeline's (no aggregation), no truncation, probabilities.
    assert request.options.aggregation_strategy is Aggregation.NONE
    assert not request.options.truncate and not request.options.raw_scores


def test_baseten_direction_is_case_insensitive() -> None:
    request = parse_predict_tokens({"inputs": [["a"]], "truncation_direction": "LEFT"})
    assert request.options.truncation_direction == "left"


def test_native_requires_exactly_one_input_kind() -> None:
    with pytest.raises(InvalidInput, match="exactly one"):
        parse_entities({})
    request = parse_entities({"words": [["New", "York"]], "window": 64, "ignore_labels": None})
    assert request.words == [["New", "York"]] and request.texts is None
    assert request.options.window == 64
    # What shapes entities does nothing for words: refused, not silently dropped.
    with pytest.raises(InvalidInput, match="'ignore_labels' applies only to 'inputs'"):
        parse_entities({"words": [["New", "York"]], "ignore_labels": []})


def test_encoderfile_metadata_must_be_strings() -> None:
    assert parse_predict({"inputs": ["a"], "metadata": {"k": "v"}}).metadata == {"k": "v"}
    with pytest.raises(InvalidInput, match="metadata.k"):
        parse_predict({"inputs": ["a"], "metadata": {"k": 1}})


def test_baseten_token_is_the_surface_text_for_uncased_models(tmp_path: Path) -> None:
    engine = nerve.load(make_model(tmp_path / "uncased", "bert-uncased"))
    text = "Zürich MEETS Paris"
    result = engine(text, aggregation_strategy="none", ignore_labels=[])
    entries = render_predict_tokens([result], engine.labels, raw_scores=False)[0]
    assert [e["token"] for e in entries] == [text[e.start : e.end] for e in result.entities]
    # The pipeline's ``word`` is the lower-cased, accent-stripped piece; ``token`` is not.
    words = [e.word.removeprefix("##") for e in result.entities]
    assert [e["token"] for e in entries] != words
    assert "".join(e["token"] for e in entries) == text.replace(" ", "")


def test_encoderfile_json_and_proto_carry_the_same_rows(tmp_path: Path) -> None:
    engine = nerve.load(make_model(tmp_path / "cased", "bert"))
    results = engine(
        ["Tim Cook in Berlin", "Paris"],
        aggregation_strategy="none",
        ignore_labels=[],
        raw_scores=True,
    )
    rows = [token_rows(r) for r in results]
    as_json = predict_json(rows, "m", {"k": "v"})
    as_proto = predict_proto(rows, "m", {"k": "v"})
    assert as_json["metadata"] == dict(as_proto.metadata) == {"k": "v"}
    for json_result, proto_result in zip(as_json["results"], as_proto.results, strict=True):
        for j, p in zip(json_result["tokens"], proto_result.tokens, strict=True):
            assert j["token_info"]["token_id"] == p.token_info.token_id
            assert (j["token_info"]["start"], j["token_info"]["end"]) == (
                p.token_info.start,
                p.token_info.end,
            )
            assert j["label"] == p.label
            assert list(p.scores) == pytest.approx(j["scores"], abs=1e-6)
