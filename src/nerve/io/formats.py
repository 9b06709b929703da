"""Render results as JSON, CoNLL (word per line, IOB2) or a displaCy-like HTML page."""

from __future__ import annotations

import html
import json
import re
from collections.abc import Iterable

from ..types import TextResult

_WORD = re.compile(r"\S+")
# One colour per label, stable across runs (labels hash to a palette slot).
_PALETTE = [
    "#7aecec",
    "#feca74",
    "#aa9cfc",
    "#ff9561",
    "#bfeeb7",
    "#c887fb",
    "#9cc9cc",
    "#ffeb80",
    "#e4e7d2",
    "#fc9ce7",
    "#bfe1d9",
    "#ddd",
]


def label_colour(label: str, labels_seen: list[str]) -> str:
    if label not in labels_seen:
        labels_seen.append(label)
    return _PALETTE[labels_seen.index(label) % len(_PALETTE)]


def to_json_line(result: TextResult) -> str:
    return json.dumps(result.to_dict(), ensure_ascii=False)


def to_conll(result: TextResult) -> str:
    """Whitespace words with IOB2 tags: a word takes the type of the entity it overlaps."""
    lines = []
    ents = sorted(result.entities, key=lambda e: e.start)
    prev_entity = None
    for match in _WORD.finditer(result.text):
        s, e = match.span()
        hit = next((x for x in ents if x.start < e and x.end > s), None)
        if hit is None:
            tag = "O"
        else:
            label = hit.label.split("-", 1)[-1] if hit.index is not None else hit.label
            tag = ("I-" if hit is prev_entity else "B-") + label
        prev_entity = hit
        lines.append(f"{match.group()}\t{tag}")
    return "\n".join(lines) + "\n"


def to_html(results: Iterable[TextResult]) -> str:
    """A standalone page (no external assets) with entities highlighted inline."""
    seen: list[str] = []
    blocks = []
    for result in results:
        parts, pos = [], 0
        for ent in sorted(result.entities, key=lambda e: e.start):
            if ent.start < pos:
                continue  # overlapping token-level rows: show the first
            parts.append(html.escape(result.text[pos : ent.start]))
            colour = label_colour(ent.label, seen)
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
