"""The OpenAPI 3.1 document served at ``GET /openapi.json`` (written out by hand: the wire
schemas are plain functions, not models a generator could read)."""

from __future__ import annotations

import functools
from typing import Any

from ... import __version__
from ...types import DEFAULT_AGGREGATION, Aggregation

_STRATEGY = {"type": "string", "enum": [a.value for a in Aggregation]}
_TEXTS = {"type": "array", "items": {"type": "string"}}
_ERROR = {
    "type": "object",
    "properties": {
        "error": {
            "type": "object",
            "properties": {"code": {"type": "string"}, "message": {"type": "string"}},
            "required": ["code", "message"],
        }
    },
}
_SCHEMAS: dict[str, Any] = {
    "Error": _ERROR,
    "PredictTokensRequest": {
        "type": "object",
        "required": ["inputs"],
        "properties": {
            "inputs": {
                "description": "Batches of texts ([[...]]); a flat list of texts is accepted too.",
                "type": "array",
                "items": {"oneOf": [_TEXTS, {"type": "string"}]},
            },
            "truncate": {"type": "boolean", "default": False},
            "truncation_direction": {"type": "string", "enum": ["Right", "Left"]},
            "raw_scores": {"type": "boolean", "default": False},
            "aggregation_strategy": {**_STRATEGY, "default": "none"},
        },
    },
    "TokenResult": {
        "type": "object",
        "properties": {
            "token": {"type": "string", "description": "Surface text text[start:end]."},
            "token_id": {"type": "integer", "description": "Vocabulary id; 0 for entities."},
            "start": {"type": "integer"},
            "end": {"type": "integer"},
            "results": {"type": "object", "additionalProperties": {"type": "number"}},
        },
    },
    "PredictRequest": {
        "type": "object",
        "required": ["inputs"],
        "properties": {
            "inputs": _TEXTS,
            "metadata": {"type": "object", "additionalProperties": {"type": "string"}},
        },
    },
    "PredictResponse": {
        "type": "object",
        "properties": {
            "results": {"type": "array", "items": {"$ref": "#/components/schemas/TokenRows"}},
            "model_id": {"type": "string"},
            "metadata": {"type": "object", "additionalProperties": {"type": "string"}},
        },
    },
    "TokenRows": {
        "type": "object",
        "properties": {
            "tokens": {
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {
                        "token_info": {
                            "type": "object",
                            "properties": {
                                "token": {"type": "string"},
                                "token_id": {"type": "integer"},
                                "start": {"type": "integer"},
                                "end": {"type": "integer"},
                            },
                        },
                        "scores": {"type": "array", "items": {"type": "number"}},
                        "label": {"type": "string"},
                        "score": {"type": "number"},
                    },
                },
            }
        },
    },
    "ModelResponse": {
        "type": "object",
        "properties": {
            "model_id": {"type": "string"},
            "model_type": {"type": "string", "enum": ["token_classification"]},
            "id2label": {"type": "object", "additionalProperties": {"type": "string"}},
        },
    },
    "EntitiesRequest": {
        "type": "object",
        "description": "Exactly one of inputs / words.",
        "properties": {
            "inputs": _TEXTS,
            "words": {"type": "array", "items": _TEXTS},
            "aggregation_strategy": {**_STRATEGY, "default": DEFAULT_AGGREGATION.value},
            "ignore_labels": {**_TEXTS, "default": ["O"]},
            "stride": {"type": "integer", "minimum": 0},
            "window": {"type": "integer", "minimum": 3},
            "truncate": {"type": "boolean", "default": False},
            "truncation_direction": {"type": "string", "enum": ["right", "left"]},
            "raw_scores": {"type": "boolean", "default": False},
            "format": {"type": "string", "enum": ["nerve", "pipeline", "spacy"]},
        },
    },
}


def _json(schema: dict[str, Any]) -> dict[str, Any]:
    return {"content": {"application/json": {"schema": schema}}}


def _ref(name: str) -> dict[str, Any]:
    return {"$ref": f"#/components/schemas/{name}"}


def _errors(*codes: int) -> dict[str, Any]:
    return {str(c): {"description": "error", **_json(_ref("Error"))} for c in codes}


_INFER_ERRORS = (400, 401, 413, 422, 429, 500, 503, 504)


def _post(summary: str, request: str, response: dict[str, Any]) -> dict[str, Any]:
    return {
        "post": {
            "summary": summary,
            "requestBody": {"required": True, **_json(_ref(request))},
            "responses": {
                "200": {"description": "ok", **_json(response)},
                **_errors(*_INFER_ERRORS),
            },
        }
    }


def _get(summary: str, content_type: str, schema: dict[str, Any]) -> dict[str, Any]:
    ok = {"description": "ok", "content": {content_type: {"schema": schema}}}
    return {"get": {"summary": summary, "responses": {"200": ok}}}


@functools.cache
def openapi_document() -> dict[str, Any]:
    paths = {
        "/predict_tokens": _post(
            "Baseten BEI token classification",
            "PredictTokensRequest",
            {"type": "array", "items": {"type": "array", "items": _ref("TokenResult")}},
        ),
        "/predict": _post(
            "encoderfile token classification", "PredictRequest", _ref("PredictResponse")
        ),
        "/v1/entities": _post("nerve entities, all options", "EntitiesRequest", {"type": "object"}),
        "/model": _get("Model metadata", "application/json", _ref("ModelResponse")),
        "/health": _get(
            "Liveness: OK while the model worker runs", "text/plain", {"type": "string"}
        ),
        "/metrics": _get("Prometheus metrics", "text/plain", {"type": "string"}),
        "/": _get("Demo page", "text/html", {"type": "string"}),
    }
    return {
        "openapi": "3.1.0",
        "info": {"title": "nerve", "version": __version__},
        "paths": paths,
        "components": {"schemas": _SCHEMAS},
    }
