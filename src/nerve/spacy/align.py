"""nerve entities (character offsets) → spaCy spans (token boundaries).

nerve finds entities on its model's sub-word tokens, spaCy's tokenizer cuts the same text
differently, so an entity's characters need not fall on spaCy token boundaries ("U.K.-based":
nerve's LOC is "U.K.", spaCy's token is the whole word). ``alignment_mode`` decides, as in
``Doc.char_span``:

- ``expand`` (the default): the span grows to the tokens it touches, so no entity is lost;
- ``contract``: the span shrinks to the tokens wholly inside it (dropped if none are);
- ``strict``: entities that do not fall exactly on token boundaries are dropped.

Expanded spans can overlap each other (two entities inside one spaCy token); ``doc.ents``
cannot hold overlapping spans, so the longer one is kept (``spacy.util.filter_spans``).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from spacy.tokens import Doc, Span
from spacy.util import filter_spans

from ..types import Entity

ALIGNMENT_MODES = ("expand", "contract", "strict")


def entity_spans(doc: Doc, entities: Iterable[Entity], alignment_mode: str) -> list[Span]:
    """The entities as non-overlapping spans of ``doc``; those that cannot align are left out."""
    spans = []
    for e in entities:
        span = doc.char_span(
            e.start,
            e.end,
            label=e.label,
            alignment_mode=alignment_mode,
            span_id=e.pattern_id or 0,
        )
        if span is not None and len(span) > 0:
            spans.append(span)
    return filter_spans(spans)


def merged_ents(existing: Sequence[Span], new: Sequence[Span], overwrite: bool) -> list[Span]:
    """``new`` replaces ``existing`` (overwrite), or only fills the gaps between them."""
    if overwrite:
        return list(new)
    taken = [(s.start, s.end) for s in existing]
    kept = [s for s in new if all(s.end <= a or b <= s.start for a, b in taken)]
    return sorted([*existing, *kept], key=lambda s: s.start)
