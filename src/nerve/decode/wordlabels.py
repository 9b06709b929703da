"""One label per word of pre-split input: the label of the word's first sub-word."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ..errors import InvalidInput

# A word that produced no token at all (e.g. a lone control character, which BERT's
# normalizer deletes) has no prediction; it is reported as outside any entity, with score 0.
NO_TOKEN_LABEL = "O"
NO_TOKEN_SCORE = 0.0


def first_subword_labels(
    word_ids: np.ndarray,
    scores: np.ndarray,
    n_words: int,
    labels: Sequence[str],
) -> tuple[list[str], list[float]]:
    """Per word, the full label (e.g. ``B-PER``) and score of its first token.

    ``word_ids``: [n_tokens] word index of each token, -1 for specials (and padding);
    ``scores``: probabilities [n_tokens, n_labels].
    """
    word_ids = np.asarray(word_ids, dtype=np.int64).reshape(-1)
    scores = np.asarray(scores, dtype=np.float32)
    if scores.ndim != 2 or scores.shape[0] != word_ids.shape[0]:
        raise InvalidInput(f"scores of shape {scores.shape} for {word_ids.shape[0]} tokens")
    if word_ids.shape[0] and int(word_ids.max()) >= n_words:
        raise InvalidInput(f"word id {int(word_ids.max())} out of range for {n_words} words")
    tokens = np.flatnonzero(word_ids >= 0)  # [t] positions of word tokens
    # np.unique returns, per distinct word id, the index of its first occurrence.
    present, first = np.unique(word_ids[tokens], return_index=True)  # [p], [p]
    rows = scores[tokens[first]]  # [p, n_labels]
    label_ids = rows.argmax(axis=1)  # [p]
    word_label = np.full(n_words, -1, dtype=np.int64)
    word_score = np.full(n_words, NO_TOKEN_SCORE, dtype=np.float64)
    word_label[present] = label_ids
    word_score[present] = rows[np.arange(present.shape[0]), label_ids]
    names = [labels[i] if i >= 0 else NO_TOKEN_LABEL for i in word_label.tolist()]
    return names, word_score.tolist()


def words_read(starts: np.ndarray, read_span: tuple[int, int]) -> tuple[int, int]:
    """The word indices ``[first, end)`` a truncated input's window read: those whose first
    character lies in ``read_span``. A word whose start was cut off (left truncation) is not
    among them: its first sub-word, which gives a word its label, was never read."""
    inside = np.flatnonzero((starts >= read_span[0]) & (starts < read_span[1]))
    return (int(inside[0]), int(inside[-1]) + 1) if inside.size else (0, 0)


def outside_unread(
    labels: list[str], scores: list[float], read: tuple[int, int]
) -> tuple[list[str], list[float]]:
    """Words outside ``read`` as words with no prediction (``NO_TOKEN_LABEL``, score 0)."""
    first, end = read
    n = len(labels)
    blank_labels, blank_scores = [NO_TOKEN_LABEL] * n, [NO_TOKEN_SCORE] * n
    blank_labels[first:end], blank_scores[first:end] = labels[first:end], scores[first:end]
    return blank_labels, blank_scores
