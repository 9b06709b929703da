"""Everyday checks: short texts a new user types in the first minutes, and what they expect.

Written for nerve (nothing from CoNLL): greetings that hold no entity, lower-case brand
names, a tech company and a Finnish city the news corpus of 1996 never saw, a multi-word
product organisation, and emoji next to a name as social media writes them. A case passes
when the engine returns exactly the expected (surface text, type) set. The default model's
pass rate is recorded in its card (docs/default-model.md) and pinned by a test.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

__all__ = ["CASES", "EverydayCase", "EverydayResult", "run_everyday"]


@dataclass(frozen=True)
class EverydayCase:
    text: str
    expected: frozenset[tuple[str, str]]  # (surface text, entity type)


def _case(text: str, *expected: tuple[str, str]) -> EverydayCase:
    return EverydayCase(text, frozenset(expected))


CASES: tuple[EverydayCase, ...] = (
    _case("hello world"),
    _case("starbucks", ("starbucks", "ORG")),
    _case("Nvidia", ("Nvidia", "ORG")),
    _case("Amazon Web Services", ("Amazon Web Services", "ORG")),
    _case("Espoo", ("Espoo", "LOC")),
    _case("🚀 Elon Musk says the launch went well", ("Elon Musk", "PER")),
    _case("good morning everyone"),
    _case("thanks for your help, see you tomorrow!"),
    _case("🔥 Taylor Swift adds three more concert dates", ("Taylor Swift", "PER")),
    _case("We flew from Helsinki to Berlin", ("Helsinki", "LOC"), ("Berlin", "LOC")),
    _case("i grabbed a coffee at starbucks", ("starbucks", "ORG")),
    _case("Nvidia shares rose 3% on Tuesday", ("Nvidia", "ORG")),
    _case("Our site runs on Amazon Web Services", ("Amazon Web Services", "ORG")),
    _case("Nokia is based in Espoo", ("Nokia", "ORG"), ("Espoo", "LOC")),
    _case("lol same, can't wait for the weekend"),
    _case("Meeting with Sarah Chen at 3pm 👍", ("Sarah Chen", "PER")),
)


@dataclass(frozen=True)
class EverydayResult:
    strategy: str
    passed: int
    failures: tuple[tuple[str, frozenset[tuple[str, str]]], ...]  # (text, what came back)

    @property
    def total(self) -> int:
        return self.passed + len(self.failures)

    def to_dict(self) -> dict[str, Any]:
        return {
            "strategy": self.strategy,
            "passed": self.passed,
            "total": self.total,
            "failures": [{"text": t, "got": sorted(got)} for t, got in self.failures],
        }


def run_everyday(
    engine: Any, strategy: str, cases: Sequence[EverydayCase] = CASES
) -> EverydayResult:
    """Run every case through ``engine`` under ``strategy`` and compare the entity sets.

    One text per call: the default model's dynamic int8 scales depend on batch-mates, and a
    check must not pass or fail with the company a text keeps.
    """
    results = [engine(c.text, aggregation_strategy=strategy) for c in cases]
    passed, failures = 0, []
    for case, result in zip(cases, results, strict=True):
        got = frozenset((result.text[e.start : e.end], e.label) for e in result.entities)
        if got == case.expected:
            passed += 1
        else:
            failures.append((case.text, got))
    return EverydayResult(strategy, passed, tuple(failures))
