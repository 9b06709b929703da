"""encoderfile's token-classification API (contracts §2) ↔ nerve types, for JSON and protobuf.

``/predict`` and gRPC ``Predict`` return one row per sub-word (special tokens dropped, ``O``
rows kept): the engine runs with strategy ``none``, no ignored labels and raw logits, and each
row's ``scores`` are the softmax of those logits. Differences from encoderfile, documented in
docs/server.md: scores are probabilities (encoderfile: logits unless a softmax transform is
configured) and offsets are Unicode code points (encoderfile: bytes).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ...decode.probs import softmax
from ...errors import InvalidInput
from ...types import Aggregation, InferenceOptions, TextResult
from ..proto import metadata_pb2, token_classification_pb2, token_pb2
from .fields import as_object, required, str_list, str_map

MODEL_TYPE = "token_classification"

# Every sub-word with its logits; probabilities are derived per row below.
PREDICT_OPTIONS = InferenceOptions(
    aggregation_strategy=Aggregation.NONE, ignore_labels=(), raw_scores=True
)


@dataclass(frozen=True)
class PredictRequest:
    texts: list[str]
    metadata: dict[str, str] | None  # None: not sent (then not echoed); {} is echoed as {}


@dataclass(frozen=True)
class TokenRow:
    token: str  # the vocabulary piece, e.g. "##zilla"
    token_id: int
    start: int
    end: int
    scores: tuple[float, ...]  # one probability per label, in id2label order
    label: str
    score: float


def parse_predict(body: object) -> PredictRequest:
    obj = as_object(body)
    texts = check_predict_texts(str_list(required(obj, "inputs"), "inputs"))
    metadata = obj.get("metadata")
    return PredictRequest(texts, str_map(metadata, "metadata") if metadata is not None else None)


def check_predict_texts(texts: list[str]) -> list[str]:
    """The texts of a Predict call (HTTP or gRPC, which must answer alike), or the error."""
    for i, text in enumerate(texts):
        if not text:
            # encoderfile answers 422 here; an empty text has no tokens to classify.
            raise InvalidInput(f"inputs[{i}] is an empty string; every input needs some text")
    return texts


def token_rows(
    result: TextResult, piece: Callable[[int], str | None] | None = None
) -> list[TokenRow]:
    """``piece``: token id → vocabulary piece. With it, ``token`` is the vocabulary's entry
    (``[UNK]`` for an unknown piece, as encoderfile answers); without, the entity's word
    (which the pipeline sets to the surface text for an unknown piece)."""
    if not result.entities:
        return []
    raw = np.asarray([e.raw for e in result.entities], dtype=np.float32)  # [n_tokens, n_labels]
    probs = softmax(raw).tolist()
    return [
        TokenRow(
            token=_piece(e.word, e.token_id, piece),
            token_id=e.token_id if e.token_id is not None else 0,
            start=e.start,
            end=e.end,
            scores=tuple(p),
            label=e.label,
            score=float(e.score),
        )
        for e, p in zip(result.entities, probs, strict=True)
    ]


def _piece(word: str, token_id: int | None, piece: Callable[[int], str | None] | None) -> str:
    if piece is None or token_id is None:
        return word
    return piece(token_id) or word


# -- JSON ------------------------------------------------------------------------------------
def predict_json(
    rows: Sequence[Sequence[TokenRow]], model_id: str, metadata: Mapping[str, str] | None
) -> dict[str, Any]:
    out: dict[str, Any] = {
        "results": [{"tokens": [_row_json(r) for r in text_rows]} for text_rows in rows],
        "model_id": model_id,
    }
    if metadata is not None:
        out["metadata"] = dict(metadata)
    return out


def _row_json(row: TokenRow) -> dict[str, Any]:
    return {
        "token_info": {
            "token": row.token,
            "token_id": row.token_id,
            "start": row.start,
            "end": row.end,
        },
        "scores": list(row.scores),
        "label": row.label,
        "score": row.score,
    }


def model_json(model_id: str, labels: Sequence[str]) -> dict[str, Any]:
    return {
        "model_id": model_id,
        "model_type": MODEL_TYPE,
        "id2label": {str(i): label for i, label in enumerate(labels)},
    }


# -- protobuf --------------------------------------------------------------------------------
def predict_proto(
    rows: Sequence[Sequence[TokenRow]], model_id: str, metadata: Mapping[str, str]
) -> token_classification_pb2.TokenClassificationResponse:
    response = token_classification_pb2.TokenClassificationResponse(model_id=model_id)
    response.metadata.update(metadata)
    for text_rows in rows:
        result = response.results.add()
        for row in text_rows:
            result.tokens.append(
                token_classification_pb2.TokenClassification(
                    token_info=token_pb2.TokenInfo(
                        token=row.token, token_id=row.token_id, start=row.start, end=row.end
                    ),
                    scores=row.scores,
                    label=row.label,
                    score=row.score,
                )
            )
    return response


def model_proto(model_id: str, labels: Sequence[str]) -> metadata_pb2.GetModelMetadataResponse:
    return metadata_pb2.GetModelMetadataResponse(
        model_id=model_id,
        model_type=metadata_pb2.TOKEN_CLASSIFICATION,
        id2label=dict(enumerate(labels)),
    )
