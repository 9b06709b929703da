"""The pipeline's ``aggregate_words``: one label per word for first / average / max."""

from __future__ import annotations

import numpy as np

from ..types import Aggregation
from .groups import Units, segment_nanmean
from .pretokens import PreTokens
from .tokens import DecodeContext


def word_starts(is_subword: np.ndarray) -> np.ndarray:
    """Index of each word's first token: the first token always opens a word (even a sub-word,
    e.g. "##ing" at the head of a later window), then every token that is not a sub-word."""
    # is_subword: [m] bool -> [w] int64
    opens = ~is_subword
    if opens.shape[0]:
        opens[0] = True
    return np.flatnonzero(opens)


def aggregate_words(pre: PreTokens, strategy: Aggregation, ctx: DecodeContext) -> Units:
    """Force one label per word, chosen by ``strategy``; each word becomes one unit."""
    m = len(pre)
    firsts = word_starts(pre.is_subword)  # [w]
    lasts = np.append(firsts[1:], m) - 1  # [w]
    if strategy is Aggregation.FIRST:
        label_ids, scores = _pick_token(pre.scores, firsts)
    elif strategy is Aggregation.MAX:
        label_ids, scores = _pick_token(pre.scores, _max_tokens(pre.scores, firsts))
    elif strategy is Aggregation.AVERAGE:
        mean = segment_nanmean(pre.scores, firsts)  # [w, n_labels]
        label_ids = mean.argmax(axis=1)
        scores = mean[np.arange(firsts.shape[0]), label_ids]
    else:
        raise ValueError(f"{strategy.value!r} is not a word aggregation strategy")
    # Each word's string is join_tokens of its pieces; grouping joins these strings again.
    words = np.empty(firsts.shape[0], dtype=object)
    for w, (first, last) in enumerate(zip(firsts.tolist(), lasts.tolist(), strict=True)):
        words[w] = ctx.join_tokens(pre.words[first : last + 1].tolist())
    return Units(label_ids, scores, pre.starts[firsts], pre.ends[lasts], words)


def _pick_token(scores: np.ndarray, tokens: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Argmax label and its score of the given token rows."""
    # scores: [m, n_labels]; tokens: [w] -> ([w] int64, [w] float32)
    rows = scores[tokens]
    label_ids = rows.argmax(axis=1)
    return label_ids, rows[np.arange(rows.shape[0]), label_ids]


def _max_tokens(scores: np.ndarray, firsts: np.ndarray) -> np.ndarray:
    """Per word, the first token whose top score is the word's highest (Python's ``max``).

    NaN never compares greater, so Python's ``max`` ignores NaN tokens, except that a NaN
    first token is never replaced: ``fmax`` and the final override reproduce both.
    """
    # scores: [m, n_labels]; firsts: [w] -> [w] token indices
    m = scores.shape[0]
    top = scores.max(axis=1)  # [m]
    opens = np.zeros(m, dtype=np.int64)
    opens[firsts] = 1
    word_of = np.cumsum(opens) - 1  # [m] word id of each token
    best = np.fmax.reduceat(top, firsts)  # [w]
    candidates = np.where(top == best[word_of], np.arange(m), m)  # [m]
    chosen = np.minimum.reduceat(candidates, firsts)  # [w]
    return np.where(np.isnan(top[firsts]), firsts, chosen)
