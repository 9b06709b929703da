"""Where a long text's windows begin and end when they follow its sentences and paragraphs.

The pipeline cuts a long text into token windows that overlap by ``stride`` wherever the
count falls, so the same paragraph is cut differently, and labelled differently, depending on
what precedes it. Sentence windows instead:

- never cross a paragraph break (a blank line): a paragraph's windows depend only on the
  paragraph, so it gets the same entities wherever it falls in a document;
- pack whole sentences greedily from the paragraph's start, as the model saw text in
  training (single sentences and runs of consecutive sentences);
- cut only a sentence longer than the window, into token windows overlapping by ``stride``
  (stitched back as before: each token from the window where it has the most context).

A text that fits in one window is one window whatever its breaks (short texts keep exactly
the pipeline's single-window answer). Sentence ends are found from the text between tokens,
not by a language model: a cut candidate follows ``.``/``!``/``?`` (and closing quotes or
brackets) when whitespace and a capital letter, digit or opening quote come next, or any
line break. A wrong candidate (an abbreviation) only matters if a window ends there.
"""

from __future__ import annotations

import re

import numpy as np

__all__ = ["sentence_ranges"]

_PARAGRAPH_BREAK = re.compile(r"\n[^\S\n]*\n")
_SENTENCE_END = re.compile(r"[.!?\u2026][\"'\u2019\u201d)\]]*$")
_SENTENCE_START = re.compile(r"[\"'\u2018\u201c(\[]*[A-Z0-9\u00c0-\u024f]")


def sentence_ranges(
    text: str, offsets: np.ndarray, budget: int, stride: int
) -> list[tuple[int, int]]:
    """[start, end) ranges over the ``n`` content tokens (``offsets`` [n, 2] into ``text``)
    with at most ``budget`` tokens each; consecutive ranges overlap only inside a sentence
    longer than ``budget`` (by ``stride`` tokens)."""
    n = int(offsets.shape[0])
    if n <= budget:
        return [(0, n)] if n else []
    breaks, cuts = _boundaries(text, offsets)
    ranges: list[tuple[int, int]] = []
    paragraph_ends = [*np.flatnonzero(breaks).tolist(), n]
    start = 0
    for end in paragraph_ends:
        ranges.extend(_pack(start, end, cuts, budget, stride))
        start = end
    return ranges


# The characters ``_SENTENCE_END`` can end with: a gap of one space after any other character
# is no boundary of any kind (the case of most gaps, decided without Python per token).
_SENTENCE_END_LAST = np.array(sorted(map(ord, ".!?\u2026\"'\u2019\u201d)]")), dtype=np.uint32)


def _boundaries(text: str, offsets: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per token i: a paragraph break before it, and a sentence cut allowed before it."""
    n = int(offsets.shape[0])
    breaks = np.zeros(n, dtype=bool)
    cuts = np.zeros(n, dtype=bool)
    if n < 2:
        return breaks, cuts
    prev_ends, starts = offsets[:-1, 1], offsets[1:, 0]
    gaps = starts > prev_ends  # no gap: pieces of one word
    codes = np.frombuffer(text.encode("utf-32-le", "surrogatepass"), dtype=np.uint32)
    last = max(len(codes) - 1, 0)
    one_space = (starts - prev_ends == 1) & (codes[np.minimum(prev_ends, last)] == ord(" "))
    after_end = np.isin(codes[np.clip(prev_ends - 1, 0, last)], _SENTENCE_END_LAST)
    plain = one_space & ~after_end & (prev_ends > 0)
    for j in np.flatnonzero(gaps & ~plain).tolist():
        i = j + 1
        prev_end, start = int(prev_ends[j]), int(starts[j])
        gap = text[prev_end:start]
        if gap.strip():
            continue  # text the tokenizer dropped (control characters): not a boundary
        if _PARAGRAPH_BREAK.search(gap):
            breaks[i] = True
        elif "\n" in gap or (
            _SENTENCE_END.search(text[max(0, prev_end - 4) : prev_end])
            and _SENTENCE_START.match(text, start)
        ):
            cuts[i] = True
    return breaks, cuts


def _pack(
    start: int, end: int, cuts: np.ndarray, budget: int, stride: int
) -> list[tuple[int, int]]:
    """Windows over tokens [start, end) of one paragraph (see the module docstring)."""
    out: list[tuple[int, int]] = []
    while end - start > budget:
        # The last sentence cut that leaves a window of at most ``budget`` tokens.
        fits = np.flatnonzero(cuts[start + 1 : start + budget + 1])
        if fits.size:
            cut = start + 1 + int(fits[-1])
            out.append((start, cut))
            start = cut
            continue
        # One sentence longer than the window: token windows overlapping by ``stride``
        # up to the sentence's end (or the paragraph's).
        later = np.flatnonzero(cuts[start + budget + 1 : end])
        sentence_end = start + budget + 1 + int(later[0]) if later.size else end
        step = budget - stride
        while sentence_end - start > budget:
            out.append((start, start + budget))
            start += step
        out.append((start, sentence_end))
        start = sentence_end
    if end > start:
        out.append((start, end))
    return out
