"""The OpenAPI 3.1 document served at ``GET /openapi.json``.

Written out by hand (the wire schemas are plain functions, not models a generator could
read), but exact: every limit in it is the running server's (``--max-client-batch-size``,
``--max-input-chars``) or the model's (window lengths, and for each window the largest
stride the tokenizer takes, found by asking the same validator that checks requests). So a
request is valid by the document exactly when the server accepts it, which schemathesis
checks in both directions (tests/reliability/test_schemathesis.py).

Two rules JSON Schema cannot say, stated in the document in words: ``/predict_tokens``
counts the texts of all its batches together against ``--max-client-batch-size`` (the
document bounds each level by it), and ``/v1/entities``' largest ``stride`` depends on the
``window`` (the table ``x-max-stride-by-window``).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ... import __version__
from ...engine.core import Engine
from ...errors import InvalidInput
from ...types import DEFAULT_AGGREGATION, Aggregation, InferenceOptions
from ..config import ServerConfig
from ..wire.native import TEXT_ONLY_FIELDS
from .middleware import PUBLIC_PATHS

# Every strategy, nerve's own ``word`` included, is accepted by every route.
_STRATEGIES = [a.value for a in Aggregation]
_FORMATS = ["nerve", "pipeline", "spacy"]
_ERROR = {
    "type": "object",
    "properties": {
        "error": {
            "type": "object",
            "properties": {"code": {"type": "string"}, "message": {"type": "string"}},
            "required": ["code", "message"],
        }
    },
    "required": ["error"],
}
_TOKEN_ROWS = {
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
}
_TOKEN_RESULT = {
    "type": "object",
    "properties": {
        "token": {"type": "string", "description": "Surface text text[start:end]."},
        "token_id": {"type": "integer", "description": "Vocabulary id; 0 for entities."},
        "start": {"type": "integer"},
        "end": {"type": "integer"},
        "results": {"type": "object", "additionalProperties": {"type": "number"}},
    },
}
# Statuses any inference POST may answer besides 200 (see nerve.server.errors.STATUSES).
# 401 is added where a key is asked for (--api-key, and not a public path); 400 on a GET is a
# missing or repeated Host.
_POST_ERRORS = (400, 413, 415, 421, 422, 429, 500, 503, 504)
_GET_ERRORS = (400, 421)


@dataclass(frozen=True)
class WindowRules:
    """What the model's tokenizer accepts as ``window``/``stride`` (see ``window_rules``)."""

    min_window: int
    max_window: int
    # window → the largest stride accepted with it (when ``truncate`` is not true)
    max_stride: dict[int, int]


def window_rules(max_length: int, accepts: Callable[[int, int], bool]) -> WindowRules:
    """The windows and strides ``accepts(window, stride)`` takes (the request validator).

    Strides are found by bisection: a validator that accepts a stride accepts every smaller
    one. A window with no accepted stride at all is not a valid window.
    """
    max_stride: dict[int, int] = {}
    for window in range(1, max_length + 1):
        if not accepts(window, 0):
            continue
        low, high = 0, max_length  # accepts(window, low) holds; find the largest
        while low < high:
            middle = (low + high + 1) // 2
            if accepts(window, middle):
                low = middle
            else:
                high = middle - 1
        max_stride[window] = low
    return WindowRules(min(max_stride), max(max_stride), max_stride)


def engine_window_rules(engine: Engine) -> WindowRules:
    """``window_rules`` of the server's request validation: the engine's (InferenceOptions,
    then the text encoder's window settings) and the server's bound on overlapping work
    (a stride of at most ``MAX_STRIDE_FRACTION`` of a window's content tokens)."""
    from ..service import largest_stride

    def accepts(window: int, stride: int) -> bool:
        try:
            length, _ = engine.text_encoder.settings(InferenceOptions(window=window, stride=stride))
        except InvalidInput:
            return False
        return stride <= largest_stride(engine, length)

    return window_rules(engine.text_encoder.max_length, accepts)


def _nullable(schema: dict[str, Any]) -> dict[str, Any]:
    """Null is read as "not given" by every request field but the texts."""
    return {"anyOf": [schema, {"type": "null"}]}


class _Schemas:
    def __init__(self, config: ServerConfig, rules: WindowRules) -> None:
        self.config = config
        self.rules = rules
        self.text = {"type": "string", "maxLength": config.max_input_chars}
        self.texts = {
            "type": "array",
            "items": self.text,
            "minItems": 1,
            "maxItems": config.max_client_batch_size,
        }

    def predict_tokens(self) -> dict[str, Any]:
        limit = self.config.max_client_batch_size
        batch = {"type": "array", "items": self.text, "maxItems": limit}  # may be empty
        return {
            "type": "object",
            "required": ["inputs"],
            "properties": {
                "inputs": {
                    "description": "Batches of texts ([[...]]); a flat list of texts is accepted "
                    f"too. At most {limit} batches, and {limit} texts in all "
                    "(--max-client-batch-size).",
                    "type": "array",
                    "minItems": 1,
                    "maxItems": limit,
                    "items": {"oneOf": [self.text, batch]},
                    # Batches may be empty, but one text at least in all.
                    "contains": {"anyOf": [{"type": "string"}, {"type": "array", "minItems": 1}]},
                },
                "truncate": _nullable({"type": "boolean", "default": False}),
                "truncation_direction": _nullable(_name_in_any_case(["right", "left"])),
                "raw_scores": _nullable({"type": "boolean", "default": False}),
                "aggregation_strategy": _nullable(_name_in_any_case(_STRATEGIES, "none")),
            },
        }

    def predict(self) -> dict[str, Any]:
        return {
            "type": "object",
            "required": ["inputs"],
            "properties": {
                # encoderfile answers 422 for an empty text; so does nerve on this route.
                "inputs": {**self.texts, "items": {**self.text, "minLength": 1}},
                "metadata": _nullable(
                    {"type": "object", "additionalProperties": {"type": "string"}}
                ),
            },
        }

    def entities(self) -> dict[str, Any]:
        """Exactly one of ``inputs`` / ``words`` (null counts as absent); no unknown field."""
        words = {
            "type": "array",
            "items": {"type": "array", "items": self.text},
            "minItems": 1,
            "maxItems": self.config.max_client_batch_size,
        }
        only = {
            "inputs": {
                "required": ["inputs"],
                "properties": {"inputs": self.texts, "words": {"type": "null"}},
            },
            "words": {
                "required": ["words"],
                "properties": {
                    "words": words,
                    "inputs": {"type": "null"},
                    # Entity-shaping fields do not apply to words: refused unless null.
                    **{name: {"type": "null"} for name in TEXT_ONLY_FIELDS},
                },
            },
        }
        return {
            "type": "object",
            "description": "Exactly one of inputs (texts) / words (pre-split sentences).",
            "additionalProperties": False,
            "properties": {
                "inputs": _nullable(self.texts),
                "words": _nullable(words),
                "aggregation_strategy": _nullable(
                    _name_in_any_case(_STRATEGIES, DEFAULT_AGGREGATION.value)
                ),
                "ignore_labels": _nullable(
                    {"type": "array", "items": {"type": "string"}, "default": ["O"]}
                ),
                "window": _nullable(
                    {
                        "type": "integer",
                        "minimum": self.rules.min_window,
                        "maximum": self.rules.max_window,
                        "description": "Window length in tokens, special tokens included.",
                    }
                ),
                "stride": _nullable(
                    {
                        "type": "integer",
                        "minimum": 0,
                        "maximum": max(self.rules.max_stride.values()),
                        "description": "Tokens shared by consecutive windows. Unless truncate "
                        "is true, at most x-max-stride-by-window[window] (window absent: "
                        f"{self.rules.max_window}).",
                    }
                ),
                "truncate": _nullable({"type": "boolean", "default": False}),
                "truncation_direction": _nullable(_name_in_any_case(["right", "left"])),
                "raw_scores": _nullable({"type": "boolean", "default": False}),
                "format": _nullable(_name_in_any_case(_FORMATS, "nerve")),
            },
            "oneOf": [only["inputs"], only["words"]],
            # window → largest stride (unless truncate is true): one rule per window length,
            # which JSON Schema can only say as hundreds of branches no generator handles.
            "x-max-stride-by-window": {str(w): m for w, m in self.rules.max_stride.items()},
        }


def _name_in_any_case(names: list[str], default: str | None = None) -> dict[str, Any]:
    """A string that is one of ``names`` in any case, with blanks around it: what the server
    takes (it strips and lowercases these fields; contracts.md: "accept any case"). An enum
    would refuse "Left" and "MAX", which the server answers."""
    alternatives = "|".join(
        "".join(f"[{c.lower()}{c.upper()}]" if c.isalpha() else re.escape(c) for c in name)
        for name in names
    )
    schema: dict[str, Any] = {
        "type": "string",
        "pattern": rf"^\s*(?:{alternatives})\s*$",
        "examples": names,
        "description": f"One of {', '.join(names)}, in any case.",
    }
    if default is not None:
        schema["default"] = default
    return schema


def _json(schema: dict[str, Any]) -> dict[str, Any]:
    return {"content": {"application/json": {"schema": schema}}}


def _ref(name: str) -> dict[str, Any]:
    return {"$ref": f"#/components/schemas/{name}"}


def _errors(*codes: int) -> dict[str, Any]:
    return {str(c): {"description": "error", **_json(_ref("Error"))} for c in codes}


def openapi_document(config: ServerConfig, rules: WindowRules) -> dict[str, Any]:
    schemas = _Schemas(config, rules)
    keyed = (401,) if config.api_key is not None else ()

    def _post(summary: str, request: str, response: dict[str, Any]) -> dict[str, Any]:
        return {
            "post": {
                "summary": summary,
                "requestBody": {"required": True, **_json(_ref(request))},
                "responses": {
                    "200": {"description": "ok", **_json(response)},
                    **_errors(*sorted((*_POST_ERRORS, *keyed))),
                },
            }
        }

    def _get(
        summary: str, content_type: str, schema: dict[str, Any], *errors: int
    ) -> dict[str, Any]:
        ok = {"description": "ok", "content": {content_type: {"schema": schema}}}
        codes = sorted({*_GET_ERRORS, *errors, *keyed})
        return {"get": {"summary": summary, "responses": {"200": ok, **_errors(*codes)}}}

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
            'Liveness: the JSON string "OK!" while the model worker runs (as encoderfile)',
            "application/json",
            {"type": "string"},
            503,
        ),
        "/metrics": _get("Prometheus metrics", "text/plain", {"type": "string"}),
        "/openapi.json": _get("This document", "application/json", {"type": "object"}),
        "/": _get("Demo page", "text/html", {"type": "string"}),
    }
    for path in PUBLIC_PATHS & paths.keys():  # served without the key
        for operation in paths[path].values():
            operation["responses"].pop("401", None)
    components = {
        "Error": _ERROR,
        "PredictTokensRequest": schemas.predict_tokens(),
        "TokenResult": _TOKEN_RESULT,
        "PredictRequest": schemas.predict(),
        "PredictResponse": {
            "type": "object",
            "properties": {
                "results": {"type": "array", "items": _ref("TokenRows")},
                "model_id": {"type": "string"},
                "metadata": {"type": "object", "additionalProperties": {"type": "string"}},
            },
        },
        "TokenRows": _TOKEN_ROWS,
        "ModelResponse": {
            "type": "object",
            "properties": {
                "model_id": {"type": "string"},
                "model_type": {"type": "string", "enum": ["token_classification"]},
                "id2label": {"type": "object", "additionalProperties": {"type": "string"}},
            },
        },
        "EntitiesRequest": schemas.entities(),
    }
    return {
        "openapi": "3.1.0",
        "info": {"title": "nerve", "version": __version__},
        "paths": paths,
        "components": {"schemas": components},
    }
