"""The everyday check set and the window-position consistency measure (on a fake engine)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from nerve.eval.consistency import PARAGRAPHS, build_document, measure_consistency
from nerve.eval.everyday import CASES, EverydayCase, run_everyday


@dataclass
class _Entity:
    start: int
    end: int
    label: str


@dataclass
class _Result:
    text: str
    entities: list[_Entity] = field(default_factory=list)


class CapitalisedWords:
    """Tags every capitalised word as ORG; with ``flaky_after`` it drops entities past that
    offset, like a model whose answer depends on where a window falls."""

    def __init__(self, flaky_after: int | None = None) -> None:
        self.flaky_after = flaky_after

    def __call__(self, text: str, **options: Any) -> _Result:
        found = [
            _Entity(m.start(), m.end(), "ORG")
            for m in re.finditer(r"\b[A-Z]\w+", text)
            if self.flaky_after is None or m.start() < self.flaky_after
        ]
        return _Result(text, found)


def test_everyday_counts_exact_entity_sets() -> None:
    cases = (
        EverydayCase("hello world", frozenset()),
        EverydayCase("Nvidia", frozenset({("Nvidia", "ORG")})),
        EverydayCase("Espoo", frozenset({("Espoo", "LOC")})),
    )
    result = run_everyday(CapitalisedWords(), "simple", cases)
    assert (result.passed, result.total) == (2, 3)
    assert result.failures == (("Espoo", frozenset({("Espoo", "ORG")})),)
    assert result.to_dict()["failures"] == [{"text": "Espoo", "got": [("Espoo", "ORG")]}]


def test_everyday_cases_are_well_formed() -> None:
    for case in CASES:
        for surface, label in case.expected:
            assert surface in case.text and label in {"PER", "ORG", "LOC", "MISC"}


def test_document_places_every_paragraph_at_several_offsets() -> None:
    text, where = build_document(PARAGRAPHS, 3)
    assert len(where) == 3 * len(PARAGRAPHS)
    for index, start in where:
        assert text[start : start + len(PARAGRAPHS[index])] == PARAGRAPHS[index]
    offsets = {i: {s for j, s in where if j == i} for i in range(len(PARAGRAPHS))}
    assert all(len(v) == 3 for v in offsets.values())


def test_consistency_is_one_for_a_position_free_tagger_and_drops_otherwise() -> None:
    steady = measure_consistency(CapitalisedWords(), "simple", repeats=4)
    assert steady.occurrence_rate == steady.paragraph_rate == 1.0
    text, _ = build_document(PARAGRAPHS, 4)
    flaky = measure_consistency(CapitalisedWords(flaky_after=len(text) // 2), "simple", repeats=4)
    assert flaky.paragraph_rate < 1.0 and flaky.occurrence_rate < 1.0
    assert max(flaky.variants.values()) == 2
