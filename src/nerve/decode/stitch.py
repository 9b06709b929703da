"""Strategy ``none`` over several overlapping windows (which the pipeline refuses).

nerve keeps every token of the text exactly once. Consecutive windows share a run of tokens
(the ``stride``); that run is found by matching (id, start, end) of the previous window's last
content tokens with the next window's first ones, so tokens with equal offsets (the byte
pieces of one emoji) are neither merged nor lost. Each shared token is kept from the window
where it lies furthest from the window edge (so with the most context on both sides; on a tie,
the earlier window). ``index`` is renumbered to the position the token would have in one
unlimited window: the leading specials of the first window, then the text's tokens in order.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np

from ..types import Entity
from .tokens import WindowTokens


@dataclass(frozen=True)
class _Share:
    """What one window contributes: content tokens of rank [keep_from, keep_to)."""

    content: np.ndarray  # int64 [c]: positions of the window's non-special tokens
    keep_from: int
    keep_to: int
    rank_shift: int  # global rank of the window's first content token + leading specials


def overlap(previous: WindowTokens, current: WindowTokens) -> int:
    """How many content tokens ``current`` repeats from the end of ``previous`` (0 if none)."""
    prev_keys = _keys(previous)  # [a, 3]
    cur_keys = _keys(current)  # [b, 3]
    a, b = prev_keys.shape[0], cur_keys.shape[0]
    if a == 0 or b == 0:
        return 0
    candidates = np.flatnonzero((prev_keys == cur_keys[0]).all(axis=1))
    for start in candidates[candidates >= a - b].tolist():  # longest overlap first
        if np.array_equal(prev_keys[start:], cur_keys[: a - start]):
            return a - start
    return 0


def _keys(window: WindowTokens) -> np.ndarray:
    # [c, 3]: (id, start, end) of the content tokens
    content = ~window.special
    return np.column_stack([window.ids[content], window.offsets[content]])


def _shares(windows: list[WindowTokens]) -> list[_Share]:
    contents = [np.flatnonzero(~w.special) for w in windows]
    shared = [0] + [overlap(windows[k - 1], windows[k]) for k in range(1, len(windows))] + [0]
    lead = int(contents[0][0]) if contents[0].shape[0] else 0
    shares, rank = [], 0
    for k, content in enumerate(contents):
        before, after = shared[k], shared[k + 1]
        if k:
            rank += contents[k - 1].shape[0] - before
        # Overlap rank j (of n) is kept by the earlier window iff n - 1 - j >= j.
        keep_from = (before + 1) // 2
        keep_to = max(content.shape[0] - after // 2, keep_from)
        shares.append(_Share(content, keep_from, keep_to, lead + rank))
    return shares


def stitch_tokens(per_window: list[list[Entity]], windows: list[WindowTokens]) -> list[Entity]:
    """Per-window ``none`` entities (``index`` local to their window) to one token list."""
    out: list[Entity] = []
    for entities, share in zip(per_window, _shares(windows), strict=True):
        if not entities:
            continue
        local = np.array([e.index for e in entities], dtype=np.int64)  # [e]
        ranks = np.searchsorted(share.content, local)  # [e]
        kept = (ranks >= share.keep_from) & (ranks < share.keep_to)
        for i in np.flatnonzero(kept).tolist():
            # replace() keeps every other field (e.g. raw scores) as decoded.
            out.append(replace(entities[i], index=int(ranks[i]) + share.rank_shift))
    return out


def kept_positions(windows: list[WindowTokens]) -> list[np.ndarray]:
    """Per window, the positions of the content tokens it keeps under the rule above.

    Concatenated window by window, these select every content token of the text exactly once,
    in text order, each from the window where it has the most context: the one-window view
    of a windowed text for per-token consumers (pre-split words' first sub-words).
    """
    return [share.content[share.keep_from : share.keep_to] for share in _shares(windows)]


def stitch_windows(
    windows: list[WindowTokens], per_token: Sequence[Sequence[np.ndarray] | None]
) -> tuple[WindowTokens, list[np.ndarray | None]]:
    """The text's windows as one window of content tokens (see ``kept_positions``), and each
    per-token array of ``per_token`` (a list over windows: [n_tokens, ...] each, or None)
    cut and joined the same way."""
    keep = kept_positions(windows)
    window = WindowTokens(
        ids=np.concatenate([w.ids[k] for w, k in zip(windows, keep, strict=True)]),
        offsets=np.concatenate([w.offsets[k] for w, k in zip(windows, keep, strict=True)]),
        special=np.zeros(sum(len(k) for k in keep), dtype=bool),
        tokens=[w.tokens[i] for w, k in zip(windows, keep, strict=True) for i in k.tolist()],
        word_ids=None
        if any(w.word_ids is None for w in windows)
        else np.concatenate([w.word_ids[k] for w, k in zip(windows, keep, strict=True)]),  # type: ignore[index]
    )
    joined = [
        None
        if arrays is None
        else np.concatenate([a[k] for a, k in zip(arrays, keep, strict=True)])
        for arrays in per_token
    ]
    return window, joined
