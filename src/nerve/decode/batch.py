"""Decoding many texts in one pass: strategy ``simple`` over all their windows at once.

Window by window, ``decode_window`` costs a few dozen small numpy calls; for short texts
(CoNLL sentences average 19 tokens) that fixed cost outweighs the arithmetic. Here the windows
of every text are laid end to end and the per-token work (softmax, argmax, group boundaries,
group scores) runs once over all tokens; Python then loops only over the entities kept.

The result is exactly ``decode_text(..., "simple")`` for each text: a window boundary always
starts a new group, and each group's score is reduced over its own tokens only (``reduceat``
segments), so every value, score bits included, is what the per-window path computes.
Other strategies go through ``decode_text`` text by text.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence

import numpy as np

from ..errors import InvalidInput
from ..types import Aggregation, Entity
from .groups import segment_nanmean
from .probs import softmax
from .raw import attach_raw
from .tokens import DecodeContext, WindowTokens
from .windows import decode_text, merge_windows


def decode_many(
    texts: Sequence[str],
    windows: Sequence[Sequence[WindowTokens]],
    logits: Sequence[Sequence[np.ndarray]],
    strategy: Aggregation | str,
    ignore_labels: Collection[str],
    ctx: DecodeContext,
    *,
    raw_scores: bool = False,
) -> list[list[Entity]]:
    """Entities of each text from its windows and their logits ([n_tokens, n_labels] each)."""
    strategy = Aggregation.parse(strategy)
    if not len(texts) == len(windows) == len(logits):
        raise InvalidInput(f"{len(texts)} texts, {len(windows)} window lists, {len(logits)} logits")
    if strategy is not Aggregation.SIMPLE:
        return [
            decode_text(
                text,
                wins,
                [softmax(x) for x in lgs],
                strategy,
                ignore_labels,
                ctx,
                raw_logits=lgs if raw_scores else None,
            )
            for text, wins, lgs in zip(texts, windows, logits, strict=True)
        ]
    flat_windows = [w for wins in windows for w in wins]
    flat_logits = [x for lgs in logits for x in lgs]
    owners = [text for text, wins in zip(texts, windows, strict=True) for _ in wins]
    per_window = simple_windows(owners, flat_windows, flat_logits, ignore_labels, ctx)
    if raw_scores:
        per_window = [
            attach_raw(entities, window, x)
            for entities, window, x in zip(per_window, flat_windows, flat_logits, strict=True)
        ]
    out, pos = [], 0
    for wins in windows:
        mine = per_window[pos : pos + len(wins)]
        pos += len(wins)
        # Several windows: the pipeline's merge of overlapping entities (as decode_text).
        out.append(mine[0] if len(mine) == 1 else merge_windows([e for m in mine for e in m]))
    return out


def simple_windows(
    texts: Sequence[str],
    windows: Sequence[WindowTokens],
    logits: Sequence[np.ndarray],
    ignore_labels: Collection[str],
    ctx: DecodeContext,
) -> list[list[Entity]]:
    """``filter_ignored(decode_window(text, window, softmax(logits), "simple"))`` per window;
    ``texts[i]`` is the text window ``i`` belongs to."""
    n_labels = len(ctx.labels)
    for window, x in zip(windows, logits, strict=True):
        if x.ndim != 2 or x.shape != (len(window), n_labels):
            raise InvalidInput(
                f"logits of shape {x.shape} do not fit a window of {len(window)} tokens "
                f"and a model with {n_labels} labels"
            )
    out: list[list[Entity]] = [[] for _ in windows]
    if not windows:
        return out
    lengths = np.fromiter(map(len, windows), dtype=np.int64, count=len(windows))  # [n]
    special = np.concatenate([w.special for w in windows])  # [T]
    kept = np.flatnonzero(~special)  # [m] positions of content tokens among all T
    if kept.shape[0] == 0:
        return out
    probs = softmax(np.concatenate(logits))[kept]  # [m, n_labels]
    label_ids = probs.argmax(axis=1)  # [m]
    best = probs[np.arange(kept.shape[0]), label_ids]  # [m]
    window_of = np.repeat(np.arange(len(windows)), lengths)[kept]  # [m]
    firsts, lasts = _groups(label_ids, window_of, ctx)  # [g], [g]
    scores = segment_nanmean(best, firsts)  # [g]
    group_labels = label_ids[firsts]  # [g]
    ignored = np.array([name in ignore_labels for name in ctx.group_names], dtype=bool)
    wanted = np.flatnonzero(~ignored[group_labels])
    if wanted.shape[0] == 0:
        return out
    offsets = np.concatenate([w.offsets for w in windows])[kept]  # [m, 2]
    local = kept - (np.cumsum(lengths) - lengths)[window_of]  # [m] position in own window
    unknown = _unknown(windows, kept, ctx)  # [m] bool, or None
    columns = zip(
        firsts[wanted].tolist(),
        lasts[wanted].tolist(),
        group_labels[wanted].tolist(),
        scores[wanted].tolist(),
        strict=True,
    )
    for first, last, label, score in columns:
        w = int(window_of[first])
        tokens = windows[w].tokens
        pieces = [tokens[p] for p in local[first : last + 1].tolist()]
        if unknown is not None and unknown[first : last + 1].any():
            _surface_unknown(pieces, texts[w], offsets[first : last + 1], unknown[first : last + 1])
        out[w].append(
            Entity(
                label=ctx.group_names[label],
                score=score,
                start=int(offsets[first, 0]),
                end=int(offsets[last, 1]),
                word=ctx.join_tokens(pieces),
            )
        )
    return out


def _groups(
    label_ids: np.ndarray, window_of: np.ndarray, ctx: DecodeContext
) -> tuple[np.ndarray, np.ndarray]:
    """First and last token of each group: a group starts at a window's first token, at a
    ``B-`` label and wherever the ``get_tag`` type changes (``group_units``' rule)."""
    # label_ids, window_of: [m] -> ([g], [g])
    tags = ctx.tag_ids[label_ids]
    boundary = ctx.begin_mask[label_ids].copy()
    boundary[0] = True
    boundary[1:] |= (tags[1:] != tags[:-1]) | (window_of[1:] != window_of[:-1])
    firsts = np.flatnonzero(boundary)
    lasts = np.empty_like(firsts)
    lasts[:-1] = firsts[1:] - 1
    lasts[-1] = label_ids.shape[0] - 1
    return firsts, lasts


def _unknown(
    windows: Sequence[WindowTokens], kept: np.ndarray, ctx: DecodeContext
) -> np.ndarray | None:
    """bool [m]: content tokens that are the unknown token (None when the model has none)."""
    if ctx.unk_id is None:
        return None
    ids = np.concatenate([w.ids for w in windows])[kept]
    return np.asarray(ids == ctx.unk_id)


def _surface_unknown(
    pieces: list[str], text: str, offsets: np.ndarray, unknown: np.ndarray
) -> None:
    """The unknown token reports its surface text (``gather``'s rule), in place."""
    for i in np.flatnonzero(unknown).tolist():
        pieces[i] = text[int(offsets[i, 0]) : int(offsets[i, 1])]
