"""nerve's own ``POST /v1/entities``: every engine option, three output formats.

Request: exactly one of ``inputs`` (texts) or ``words`` (pre-split sentences, one label per
word back), plus ``aggregation_strategy``, ``ignore_labels``, ``stride``, ``window``,
``truncate``, ``truncation_direction``, ``raw_scores`` and ``format`` (nerve | pipeline |
spacy). Unknown fields are refused, so a typo does not silently fall back to a default; so are
the fields that shape entities when ``words`` is sent.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ...errors import InvalidInput
from ...types import DEFAULT_AGGREGATION, Aggregation, InferenceOptions, TextResult, WordLabels
from .fields import as_object, check_known, get_bool, get_int, get_str, json_type, str_list

FORMATS = ("nerve", "pipeline", "spacy")
FIELDS = (
    "inputs",
    "words",
    "aggregation_strategy",
    "ignore_labels",
    "stride",
    "window",
    "truncate",
    "truncation_direction",
    "raw_scores",
    "format",
)
# What shapes entities, which ``words`` requests do not get (one label per word comes back):
# refused with them rather than ignored, like any other field that would change nothing.
TEXT_ONLY_FIELDS = ("aggregation_strategy", "ignore_labels", "raw_scores", "format")


@dataclass(frozen=True)
class EntitiesRequest:
    texts: list[str] | None  # exactly one of texts / words is set
    words: list[list[str]] | None
    options: InferenceOptions
    format: str


def parse_entities(body: object) -> EntitiesRequest:
    obj = as_object(body)
    check_known(obj, FIELDS)
    has_texts, has_words = obj.get("inputs") is not None, obj.get("words") is not None
    if has_texts == has_words:
        raise InvalidInput("send exactly one of 'inputs' (texts) or 'words' (pre-split sentences)")
    if has_words:
        given = [name for name in TEXT_ONLY_FIELDS if obj.get(name) is not None]
        if given:
            raise InvalidInput(
                f"{', '.join(repr(n) for n in given)} appl{'ies' if len(given) == 1 else 'y'} "
                "only to 'inputs' (texts); 'words' "
                "gets one label per word back, shaped only by 'window', 'stride' and 'truncate'"
            )
    texts = str_list(obj["inputs"], "inputs") if has_texts else None
    words = _word_lists(obj["words"]) if has_words else None
    return EntitiesRequest(texts, words, _options(obj), _format(obj))


def _options(obj: Mapping[str, Any]) -> InferenceOptions:
    ignore = obj.get("ignore_labels")
    return InferenceOptions(
        aggregation_strategy=Aggregation.parse(
            get_str(obj, "aggregation_strategy", DEFAULT_AGGREGATION.value)
        ),
        ignore_labels=tuple(str_list(ignore, "ignore_labels")) if ignore is not None else ("O",),
        truncate=get_bool(obj, "truncate", False),
        truncation_direction=get_str(obj, "truncation_direction", "right"),
        window=get_int(obj, "window"),
        stride=get_int(obj, "stride"),
        raw_scores=get_bool(obj, "raw_scores", False),
    )


def _format(obj: Mapping[str, Any]) -> str:
    fmt = get_str(obj, "format", "nerve").strip().lower()
    if fmt not in FORMATS:
        raise InvalidInput(f"unknown format {fmt!r}; expected one of: {', '.join(FORMATS)}")
    return fmt


def _word_lists(value: object) -> list[list[str]]:
    if not isinstance(value, list):
        raise InvalidInput(f"'words' must be an array of arrays of strings, got {json_type(value)}")
    return [str_list(sentence, f"words[{i}]") for i, sentence in enumerate(value)]


def render_entities(results: Sequence[TextResult], fmt: str, model_id: str) -> dict[str, Any]:
    if fmt == "pipeline":
        rendered: list[Any] = [r.to_pipeline() for r in results]
    elif fmt == "spacy":
        rendered = [r.to_spacy() for r in results]
    else:
        rendered = [r.to_dict() for r in results]
    return {"model_id": model_id, "format": fmt, "results": rendered}


def render_words(results: Sequence[WordLabels], model_id: str) -> dict[str, Any]:
    return {
        "model_id": model_id,
        "format": "words",
        "results": [_word_result(r) for r in results],
    }


def _word_result(r: WordLabels) -> dict[str, Any]:
    out: dict[str, Any] = {
        "words": list(r.words),
        "labels": list(r.labels),
        "scores": list(r.scores),
    }
    if r.read_span is not None:  # truncated: the words outside were never read
        out["read_span"] = list(r.read_span)
    return out
