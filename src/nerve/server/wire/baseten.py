"""Baseten BEI ``POST /predict_tokens`` (contracts §1) ↔ nerve types.

Request: ``{"inputs": [["text", ...], ...], "truncate", "truncation_direction", "raw_scores",
"aggregation_strategy"}``; a flat ``["a", "b"]`` is accepted as two texts. Response: one list
per text (flattened in order) of ``{"token", "token_id", "start", "end", "results"}``.

``token`` is always the surface text ``text[start:end]`` (Baseten's own example reports
"Apple" for the entity Apple), so it is exact for uncased models and sub-words too.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from ...errors import InvalidInput
from ...types import Aggregation, Entity, InferenceOptions, TextResult
from .fields import as_object, get_bool, get_str, json_type, required

# The transformers pipeline's default; Baseten's docs always send the field explicitly.
DEFAULT_STRATEGY = "none"


@dataclass(frozen=True)
class PredictTokensRequest:
    texts: list[str]
    options: InferenceOptions
    batches: int  # entries of ``inputs`` (batches or lone texts; a batch may be empty)


def parse_predict_tokens(body: object) -> PredictTokensRequest:
    obj = as_object(body)
    inputs = required(obj, "inputs")
    texts = _flatten_inputs(inputs)
    options = InferenceOptions(
        aggregation_strategy=Aggregation.parse(
            get_str(obj, "aggregation_strategy", DEFAULT_STRATEGY)
        ),
        truncate=get_bool(obj, "truncate", False),
        truncation_direction=get_str(obj, "truncation_direction", "right"),
        raw_scores=get_bool(obj, "raw_scores", False),
    )
    batches = len(inputs) if isinstance(inputs, list) else 0  # a list: _flatten_inputs checked
    return PredictTokensRequest(texts, options, batches)


def _flatten_inputs(inputs: object) -> list[str]:
    """``[["a", "b"], ["c"]]`` → a, b, c; a string element stands for itself."""
    if not isinstance(inputs, list):
        raise InvalidInput(
            f"'inputs' must be an array of arrays of strings, got {json_type(inputs)}"
        )
    texts: list[str] = []
    for i, batch in enumerate(inputs):
        if isinstance(batch, str):
            texts.append(batch)
        elif isinstance(batch, list):
            for j, text in enumerate(batch):
                if not isinstance(text, str):
                    raise InvalidInput(
                        f"'inputs[{i}][{j}]' must be a string, got {json_type(text)}"
                    )
                texts.append(text)
        else:
            raise InvalidInput(
                f"'inputs[{i}]' must be a string or an array of strings, got {json_type(batch)}"
            )
    return texts


def render_predict_tokens(
    results: Sequence[TextResult], labels: Sequence[str], raw_scores: bool
) -> list[list[dict[str, Any]]]:
    return [
        [_entry(result.text, e, labels, raw_scores) for e in result.entities] for result in results
    ]


def _entry(text: str, entity: Entity, labels: Sequence[str], raw_scores: bool) -> dict[str, Any]:
    if raw_scores and entity.raw is not None:
        # Logits of every model label (BIO labels), averaged over an entity's sub-words.
        scores = {label: float(x) for label, x in zip(labels, entity.raw, strict=True)}
    else:
        scores = {entity.label: float(entity.score)}
    return {
        "token": text[entity.start : entity.end],
        "token_id": entity.token_id if entity.token_id is not None else 0,
        "start": entity.start,
        "end": entity.end,
        "results": scores,
    }
