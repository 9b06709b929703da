"""Attach raw logits to entities (``raw_scores``)."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

import numpy as np

from ..decode.tokens import WindowTokens
from ..types import Entity


def _span_logits(
    entity: Entity, windows: Sequence[WindowTokens], logits: Sequence[np.ndarray]
) -> np.ndarray:
    """Mean logits [n_labels] of the non-special tokens inside the entity's span, taken from
    the first window that holds any of them."""
    for window, lg in zip(windows, logits, strict=True):
        starts, ends = window.offsets[:, 0], window.offsets[:, 1]
        inside = ~window.special & (starts >= entity.start) & (ends <= entity.end) & (ends > starts)
        if inside.any():
            return lg[inside].mean(axis=0)
    return np.full(logits[0].shape[-1], np.nan, dtype=np.float32)


def attach_raw(
    entities: Sequence[Entity], windows: Sequence[WindowTokens], logits: Sequence[np.ndarray]
) -> list[Entity]:
    out = []
    for e in entities:
        if e.index is not None:
            # Token-level entity: its own row. Several windows may hold the token: it was
            # decoded from the first window that has this index at these offsets.
            row = _token_row(e, windows, logits)
        else:
            row = _span_logits(e, windows, logits)
        out.append(dataclasses.replace(e, raw=tuple(float(x) for x in row)))
    return out


def _token_row(
    e: Entity, windows: Sequence[WindowTokens], logits: Sequence[np.ndarray]
) -> np.ndarray:
    for window, lg in zip(windows, logits, strict=True):
        i = e.index
        if i is not None and i < len(window) and tuple(window.offsets[i]) == (e.start, e.end):
            return lg[i]
    return _span_logits(e, windows, logits)
