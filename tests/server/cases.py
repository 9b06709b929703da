"""Texts the server tests send, and how to compare server answers with the Python API."""

from __future__ import annotations

from typing import Any

import pytest

from nerve.engine.core import Engine

STRATEGIES = ("none", "simple", "first", "average", "max")

TEXTS = [
    "Apple is looking at buying U.K. startup for $1 billion",
    "Mozilla is headquartered in San Fancisco, CA",
    "Yvon Chouinard founded Patagonia in 1957.",
    "The Eiffel Tower is located in Paris, France.",
    "Zürich and São Paulo are cities; café crème costs 4.50 euros.",
    "東京 is the capital of Japan 😀 and 北京 of China.",
    "",
]

# Longer than the tiny model's 64-token window: served through overlapping windows.
LONG_TEXT = " ".join(
    ["Peter Blackburn met Angela Merkel in Berlin on Monday."] * 6
    + ["Tim Cook presented the new iPhone at Apple Park in California."] * 4
)


def assert_json_close(got: object, want: object, tol: float = 1e-5, path: str = "$") -> None:
    """Equal JSON-like values, floats compared within ``tol`` (they cross float32 and text)."""
    if isinstance(want, float) and isinstance(got, (int, float)) and not isinstance(got, bool):
        assert abs(got - want) <= tol, f"{path}: {got} != {want}"
    elif isinstance(want, dict):
        assert isinstance(got, dict) and list(got) == list(want), f"{path}: keys {got} != {want}"
        for key in want:
            assert_json_close(got[key], want[key], tol, f"{path}.{key}")
    elif isinstance(want, (list, tuple)):
        assert isinstance(got, list) and len(got) == len(want), f"{path}: {got} != {want}"
        for i, (g, w) in enumerate(zip(got, want, strict=True)):
            assert_json_close(g, w, tol, f"{path}[{i}]")
    else:
        assert got == want, f"{path}: {got!r} != {want!r}"


def expected_entries(engine: Engine, text: str, strategy: str, raw: bool) -> list[dict[str, Any]]:
    """What /predict_tokens must answer, computed with the Python API on the same model."""
    result = engine(text, aggregation_strategy=strategy, raw_scores=raw)
    entries = []
    for e in result.entities:
        scores = {e.label: e.score}
        if raw:
            assert e.raw is not None
            scores = dict(zip(engine.labels, e.raw, strict=True))
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
