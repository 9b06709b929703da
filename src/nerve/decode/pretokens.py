"""The pipeline's ``gather_pre_entities``, as arrays: the non-special tokens of one window."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import InvalidInput
from .tokens import DecodeContext, WindowTokens

_SPACE = 0x20  # only U+0020 counts: the pipeline tests `" " in text[...]`, not str.isspace


@dataclass(frozen=True)
class PreTokens:
    """The non-special tokens of one window, in window order (m = their number)."""

    positions: np.ndarray  # int64 [m]: index in the window (specials included)
    ids: np.ndarray  # int64 [m]
    starts: np.ndarray  # int64 [m]
    ends: np.ndarray  # int64 [m]
    is_subword: np.ndarray  # bool [m]
    words: np.ndarray  # object [m] of str: token strings; surface text for the unknown token
    scores: np.ndarray  # float32 [m, n_labels]

    def __len__(self) -> int:
        return int(self.positions.shape[0])


def gather(text: str, window: WindowTokens, scores: np.ndarray, ctx: DecodeContext) -> PreTokens:
    """Keep the non-special tokens and decide, for each, whether it continues a word."""
    # scores: [n_tokens, n_labels]
    scores = np.asarray(scores, dtype=np.float32)
    if scores.ndim != 2 or scores.shape != (len(window), len(ctx.labels)):
        raise InvalidInput(
            f"scores of shape {scores.shape} do not fit a window of {len(window)} tokens "
            f"and a model with {len(ctx.labels)} labels"
        )
    positions = np.flatnonzero(~window.special)
    ids = window.ids[positions]
    starts = window.offsets[positions, 0]
    ends = window.offsets[positions, 1]
    words = np.array(window.tokens, dtype=object)[positions]
    if ctx.wordpiece_subwords:
        is_subword = _length_rule(words, starts, ends)
    else:
        is_subword = _space_rule(text, starts)
    if ctx.unk_id is not None:
        # The unknown token reports its surface text and always starts a word.
        unknown = np.flatnonzero(ids == ctx.unk_id)
        is_subword[unknown] = False
        for i in unknown.tolist():
            words[i] = text[int(starts[i]) : int(ends[i])]
    return PreTokens(positions, ids, starts, ends, is_subword, words, scores[positions])


def _length_rule(words: np.ndarray, starts: np.ndarray, ends: np.ndarray) -> np.ndarray:
    """WordPiece: "##ing" is longer than its surface "ing", so differing lengths mark sub-words."""
    lengths = np.fromiter(map(len, words), dtype=np.int64, count=len(words))
    return np.asarray(lengths != ends - starts, dtype=bool)


def _space_rule(text: str, starts: np.ndarray) -> np.ndarray:
    """The pipeline's fallback: a sub-word starts after position 0 and touches no space.

    Exactly ``start > 0 and " " not in text[start - 1 : start + 1]``, evaluated on the
    code points of the window's own stretch of text only (not the whole text, which may be
    much longer than one window).
    """
    if starts.shape[0] == 0:
        return np.zeros(0, dtype=bool)
    lo = max(int(starts.min()) - 1, 0)
    hi = min(int(starts.max()) + 1, len(text))
    code_points = np.frombuffer(text[lo:hi].encode("utf-32-le"), dtype=np.uint32)
    # One False past the end, for a token starting at len(text) (its slice has one char).
    space = np.zeros(hi - lo + 1, dtype=bool)
    space[: hi - lo] = code_points == _SPACE
    after_start = starts > 0
    before = space[np.where(after_start, starts - 1 - lo, 0)]
    at = space[np.clip(starts - lo, 0, hi - lo)]
    return after_start & ~before & ~at
