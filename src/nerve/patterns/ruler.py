"""``Patterns``: phrase patterns applied after the model's decode, with an overlap policy.

Overlap policies, when a pattern match and a model entity share any character:

- ``rules`` (the default): the pattern match is kept, the model entity dropped. Patterns are
  how a user corrects the model without retraining ("Amazon Web Services is one ORG, whatever
  the model thinks"), so a rule that loses to the very prediction it was written to fix would
  be useless; entities the rules do not touch are left as the model found them.
- ``model``: the model entity is kept, the pattern match dropped (patterns only fill gaps).
- ``longest``: the longer span wins; on equal length the pattern match wins.

Pattern matches carry score 1.0 and their pattern's ``id`` (``Entity.pattern_id``).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from ..errors import InvalidInput
from ..types import Entity
from .matcher import Match, PhraseMatcher
from .reader import Pattern, read_patterns

OVERLAP_POLICIES = ("rules", "model", "longest")
DEFAULT_OVERLAP = "rules"


def check_overlap(overlap: object) -> str:
    if overlap not in OVERLAP_POLICIES:
        raise InvalidInput(
            f"unknown patterns overlap policy {overlap!r}; expected one of "
            f"{', '.join(OVERLAP_POLICIES)}"
        )
    return str(overlap)


class Patterns:
    """Phrase patterns and the policy that merges their matches with the model's entities."""

    def __init__(self, patterns: Sequence[Pattern], *, overlap: str = DEFAULT_OVERLAP) -> None:
        self.overlap = check_overlap(overlap)
        if isinstance(patterns, (str, bytes)) or not isinstance(patterns, Iterable):
            raise InvalidInput(
                "Patterns takes a list of Pattern objects (Patterns.from_jsonl reads a file), "
                f"got {type(patterns).__name__}"
            )
        self._patterns = tuple(patterns)
        for i, item in enumerate(self._patterns):
            if not isinstance(item, Pattern):
                raise InvalidInput(
                    f"Patterns takes Pattern objects; item {i} is a {type(item).__name__} "
                    "(Pattern(label, text) makes one)"
                )
        self._matcher = PhraseMatcher(self._patterns)

    @classmethod
    def from_jsonl(
        cls, path: str | Path, *, overlap: str = DEFAULT_OVERLAP, ignore_case: bool = False
    ) -> Patterns:
        """Patterns of a JSONL file; ``ignore_case`` applies to lines that do not set it."""
        check_overlap(overlap)
        return cls(read_patterns(path, ignore_case=ignore_case), overlap=overlap)

    def __len__(self) -> int:
        return len(self._patterns)

    def __reduce__(self) -> tuple[Any, ...]:
        # Travel as the pattern list (an engine pickles for multiprocessing / Ray); the
        # automata are rebuilt on the receiving side.
        return _rebuild, (self._patterns, self.overlap)

    @property
    def patterns(self) -> tuple[Pattern, ...]:
        return self._patterns

    def find(self, text: str) -> list[Entity]:
        """The pattern matches of ``text`` alone, as entities."""
        return [_entity(text, m) for m in self._matcher.matches(text)]

    def apply(
        self, text: str, entities: Sequence[Entity], ignore_labels: Sequence[str] = ()
    ) -> tuple[Entity, ...]:
        """The model's ``entities`` of ``text`` merged with the pattern matches."""
        rules = [e for e in self.find(text) if e.label not in ignore_labels]
        if not rules:
            return tuple(entities)
        return merge(list(entities), rules, self.overlap)


def _rebuild(patterns: tuple[Pattern, ...], overlap: str) -> Patterns:
    return Patterns(patterns, overlap=overlap)


def _entity(text: str, m: Match) -> Entity:
    return Entity(
        label=m.pattern.label,
        score=1.0,
        start=m.start,
        end=m.end,
        word=text[m.start : m.end],
        pattern_id=m.pattern.id,
    )


def _overlaps(a: Entity, b: Entity) -> bool:
    return a.start < b.end and b.start < a.end


def merge(model: list[Entity], rules: list[Entity], overlap: str) -> tuple[Entity, ...]:
    """Both lists are non-overlapping within themselves; the result is too, by start."""
    if overlap == "rules":
        kept = rules + [e for e in model if not any(_overlaps(e, r) for r in rules)]
    elif overlap == "model":
        kept = model + [r for r in rules if not any(_overlaps(r, e) for e in model)]
    else:  # longest: longer first, rules before model on a tie, then greedy
        ranked = sorted(
            [(r, 0) for r in rules] + [(e, 1) for e in model],
            key=lambda x: (x[0].start - x[0].end, x[1], x[0].start),
        )
        kept = []
        for e, _ in ranked:
            if not any(_overlaps(e, k) for k in kept):
                kept.append(e)
    return tuple(sorted(kept, key=lambda e: e.start))
