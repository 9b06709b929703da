"""Probabilities of one window to entities, with the pipeline's ``aggregate`` semantics."""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from ..types import Aggregation, Entity
from .groups import Units, group_units
from .pretokens import PreTokens, gather
from .subwords import aggregate_words
from .tokens import DecodeContext, WindowTokens
from .wordbounds import joins_blank_piece
from .words import continues_word, trim_entity


def decode_window(
    text: str,
    window: WindowTokens,
    scores: np.ndarray,
    strategy: Aggregation | str,
    ctx: DecodeContext,
) -> list[Entity]:
    """Entities of one window, before ``ignore_labels`` filtering.

    ``scores``: probabilities [n_tokens, n_labels] (see ``softmax``). ``none`` gives one
    entity per non-special token (full label, ``index`` = position in the window); the other
    strategies give the pipeline's groups, labelled by type without ``B-``/``I-``.
    """
    strategy = Aggregation.parse(strategy)
    pre = gather(text, window, scores, ctx)
    if len(pre) == 0:  # only special tokens (e.g. the empty text)
        return []
    if strategy is Aggregation.NONE:
        return token_entities(pre, ctx)
    if strategy is Aggregation.SIMPLE:
        return group_units(_token_units(pre), ctx)
    if strategy is Aggregation.WORD:
        joined = continues_word(text, pre.starts, pre.ends) | joins_blank_piece(text, window, pre)
        pre = replace(pre, is_subword=joined)
        grouped = group_units(aggregate_words(pre, Aggregation.FIRST, ctx), ctx)
        return [trim_entity(text, e) for e in grouped]
    return group_units(aggregate_words(pre, strategy, ctx), ctx)


def _argmax(scores: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    # scores: [m, n_labels] -> ([m] label ids, [m] their scores)
    label_ids = scores.argmax(axis=1)
    return label_ids, scores[np.arange(scores.shape[0]), label_ids]


def _token_units(pre: PreTokens) -> Units:
    label_ids, best = _argmax(pre.scores)
    return Units(label_ids, best, pre.starts, pre.ends, pre.words)


def token_entities(pre: PreTokens, ctx: DecodeContext) -> list[Entity]:
    """The ``none`` strategy: every non-special token with its argmax label."""
    label_ids, best = _argmax(pre.scores)
    columns = zip(
        label_ids.tolist(),
        best.tolist(),
        pre.starts.tolist(),
        pre.ends.tolist(),
        pre.words.tolist(),
        pre.positions.tolist(),
        pre.ids.tolist(),
        strict=True,
    )
    return [
        Entity(ctx.labels[lab], score, start, end, word, index=pos, token_id=tid)
        for lab, score, start, end, word, pos, tid in columns
    ]
