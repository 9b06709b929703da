"""Sentence windows: whole sentences per window, never across a paragraph break."""

from __future__ import annotations

import re

import numpy as np
import pytest

from nerve.errors import InvalidInput
from nerve.text.sentence_windows import sentence_ranges
from nerve.types import InferenceOptions


def _offsets(text: str) -> np.ndarray:
    # A stand-in tokenizer: words and single punctuation marks.
    return np.array([m.span() for m in re.finditer(r"\w+|[^\w\s]", text)], dtype=np.int64)


def _sentence(n: int, name: str) -> str:
    return f"{name} " + " ".join(f"w{i}" for i in range(n - 2)) + "."


def test_a_text_that_fits_is_one_window_whatever_its_breaks() -> None:
    text = "Paris is big.\n\nBerlin too."
    assert sentence_ranges(text, _offsets(text), 64, 8) == [(0, 7)]


def test_windows_hold_whole_sentences_and_never_cross_a_paragraph() -> None:
    paragraphs = [" ".join(_sentence(6, f"S{p}x{s}") for s in range(4)) for p in range(3)]
    text = "\n\n".join(paragraphs)
    offsets = _offsets(text)
    ranges = sentence_ranges(text, offsets, 14, 4)
    # Tokens of each paragraph: [start, end)
    para_starts = [text.index(p) for p in paragraphs]
    para_of = np.searchsorted(para_starts, offsets[:, 0], side="right") - 1
    covered = []
    for a, b in ranges:
        assert 0 < b - a <= 14
        assert len(set(para_of[a:b].tolist())) == 1, (a, b)  # one paragraph per window
        assert text[offsets[a, 0]].startswith("S")  # starts a sentence
        assert text[offsets[b - 1, 0]] == "."  # ends one
        covered.extend(range(a, b))
    assert covered == list(range(len(offsets)))  # every token once, in order
    # Two 6-token sentences fit a 14-token window, three do not.
    assert [b - a for a, b in ranges] == [12, 12] * 3


def test_a_sentence_longer_than_the_window_is_cut_with_overlap() -> None:
    text = _sentence(30, "Long") + " " + _sentence(5, "Short")
    offsets = _offsets(text)
    ranges = sentence_ranges(text, offsets, 12, 4)
    long_end = 30
    inside = [r for r in ranges if r[0] < long_end]
    assert inside[0][0] == 0 and inside[-1][1] == long_end
    for (_, b1), (a2, _) in zip(inside, inside[1:], strict=False):
        assert b1 - a2 == 4  # consecutive token windows share ``stride`` tokens
    assert ranges[-1] == (long_end, len(offsets))  # the next sentence starts fresh


def test_abbreviations_without_a_capital_after_are_no_cut() -> None:
    text = "He paid $5 vs. the others. " * 6
    offsets = _offsets(text)
    for a, _ in sentence_ranges(text, offsets, 20, 4)[1:]:
        assert text[offsets[a, 0] : offsets[a, 1]] == "He"


def test_windowing_option_is_checked() -> None:
    with pytest.raises(InvalidInput, match="windowing"):
        InferenceOptions(windowing="paragraphs")


def _boundaries_one_gap_at_a_time(text: str, offsets: np.ndarray) -> tuple[list[int], list[int]]:
    """The rule of the module docstring, applied to each gap between tokens in turn: what
    the vectorized ``_boundaries`` must equal."""
    from nerve.text.sentence_windows import _PARAGRAPH_BREAK, _SENTENCE_END, _SENTENCE_START

    breaks, cuts = [], []
    for i in range(1, len(offsets)):
        prev_end, start = int(offsets[i - 1, 1]), int(offsets[i, 0])
        gap = text[prev_end:start]
        if start <= prev_end or gap.strip():
            continue
        if _PARAGRAPH_BREAK.search(gap):
            breaks.append(i)
        elif "\n" in gap or (
            _SENTENCE_END.search(text[max(0, prev_end - 4) : prev_end])
            and _SENTENCE_START.match(text, start)
        ):
            cuts.append(i)
    return breaks, cuts


def test_boundaries_match_the_rule_applied_gap_by_gap_on_random_texts() -> None:
    from nerve.text.sentence_windows import _boundaries

    rng = np.random.default_rng(5)
    pieces = ["Paris", "the", "9", "É", "x", ".", "!", "?", "\u2026", '"', "'", "\u201d",
              ")", "(", "[", "]", ",", "\u00e9t\u00e9", "\U0001f600", "\x00"]  # fmt: skip
    gaps = [" ", " ", " ", " ", "", "  ", "\n", "\n\n", " \n \n", "\t", "\x07", "\n\x07\n"]
    checked = 0
    for _ in range(300):
        parts = [str(rng.choice(pieces)) + str(rng.choice(gaps)) for _ in range(60)]
        text = "".join(parts)
        # Control characters are dropped, as real tokenizers drop them: gaps that are not
        # only whitespace.
        found = re.finditer(r"\w+|[^\w\s\x00-\x1f]", text)
        offsets = np.array([m.span() for m in found], dtype=np.int64).reshape(-1, 2)
        if len(offsets) < 2:
            continue
        breaks, cuts = _boundaries(text, offsets)
        want_breaks, want_cuts = _boundaries_one_gap_at_a_time(text, offsets)
        assert np.flatnonzero(breaks).tolist() == want_breaks, text
        assert np.flatnonzero(cuts).tolist() == want_cuts, text
        checked += len(want_breaks) + len(want_cuts)
    assert checked > 1000  # the random texts do hold many breaks and cuts
