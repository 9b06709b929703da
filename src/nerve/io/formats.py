"""Render results as JSON, CoNLL (word per line, IOB2) or a displaCy-like HTML page."""

from __future__ import annotations

import html
import itertools
import re
from collections.abc import Iterable, Mapping
from typing import Any

from ..decode.tokens import split_tag
from ..types import TextResult
from .json_out import dumps
from .palette import label_colour

_WORD = re.compile(r"\S+")
# The CoNLL tag of a word the model never read (cut off by ``truncate``): not "O", which
# would claim the model saw the word and found no entity there.
NOT_READ = "_"


def to_record(result: TextResult, fields: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The output record of one text: the input's own fields (JSONL/Parquet ``id``,
    metadata...) first, then ``text`` and ``entities``."""
    return {**(fields or {}), **result.to_dict()}


def to_json_line(result: TextResult, fields: Mapping[str, Any] | None = None) -> str:
    return dumps(to_record(result, fields))


def to_conll(result: TextResult) -> str:
    """Whitespace words with IOB2 tags: a word takes the tag of the first entity it overlaps.

    Entities (any aggregation but ``none``) carry a type: a word gets ``B-`` where its entity
    starts and ``I-`` after. Token rows (``none``) carry the model's own tag, which a word
    keeps, so that two entities side by side stay two (``B-PER B-PER``) as the model said;
    an ``I-`` that continues nothing becomes ``B-`` (IOB2), and an ``O`` row (``--keep-o``)
    is ``O``. A word outside ``result.read_span`` (cut off by truncation) is ``NOT_READ``.
    One pass over words and entities together: linear in the text."""
    lines = []
    read_from, read_to = result.read_span or (0, len(result.text))
    ents = sorted(result.entities, key=lambda e: e.start)
    first = 0  # entities before this one end before the current word
    prev_entity = None
    prev_type: str | None = None  # the entity type of the previous word's tag
    for match in _WORD.finditer(result.text):
        s, e = match.span()
        while first < len(ents) and ents[first].end <= s:
            first += 1
        hit = None
        for x in itertools.islice(ents, first, None):
            if x.start >= e:
                break
            if x.end > s:
                hit = x
                break
        if s >= read_to or e <= read_from:
            prev_entity, prev_type = None, None
            lines.append(f"{match.group()}\t{NOT_READ}")
            continue
        if hit is None:
            tag, prev_type = "O", None
        elif hit.index is not None:  # a token row: the model's tag
            if hit.label == "O":
                tag, prev_type = "O", None
            else:
                # As the pipeline reads a tag: only a leading B-/I- is a prefix (a type may
                # hold "-", as DATE-TIME does), and a tag without one (IO labels) continues.
                begins, kind = split_tag(hit.label)
                inside = hit is prev_entity or (not begins and kind == prev_type)
                tag, prev_type = ("I-" if inside else "B-") + kind, kind
        else:
            tag = ("I-" if hit is prev_entity else "B-") + hit.label
            prev_type = hit.label
        prev_entity = hit
        lines.append(f"{match.group()}\t{tag}")
    return "\n".join(lines) + "\n"


def to_html(results: Iterable[TextResult]) -> str:
    """A standalone page (no external assets) with entities highlighted inline."""
    blocks = []
    for result in results:
        parts, pos = [], 0
        for ent in sorted(result.entities, key=lambda e: e.start):
            if ent.start < pos:
                continue  # overlapping token-level rows: show the first
            parts.append(html.escape(result.text[pos : ent.start]))
            colour = label_colour(ent.label)
            parts.append(
                f'<mark class="ent" style="background:{colour}" title="{html.escape(ent.label)} '
                f'{ent.score:.3f}">{html.escape(result.text[ent.start : ent.end])}'
                f'<span class="lbl">{html.escape(ent.label)}</span></mark>'
            )
            pos = ent.end
        parts.append(html.escape(result.text[pos:]))
        blocks.append(f'<div class="doc">{"".join(parts)}</div>')
    style = (
        "body{font-family:sans-serif;line-height:2.4;margin:2em}"
        ".doc{margin-bottom:1.5em;border-bottom:1px solid #eee}"
        ".ent{padding:.2em .35em;border-radius:.35em}"
        ".lbl{font-size:.65em;font-weight:bold;margin-left:.4em;text-transform:uppercase}"
    )
    return (
        '<!DOCTYPE html><html><head><meta charset="utf-8"><title>nerve entities</title>'
        f"<style>{style}</style></head><body>{''.join(blocks)}</body></html>\n"
    )
