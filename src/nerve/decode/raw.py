"""Raw logits for decoded entities (``raw_scores``), attached per window before stitching.

Attaching inside the window an entity was decoded from keeps token indices local and right;
window stitching and merging then carry ``raw`` along with the entity.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

import numpy as np

from ..types import Entity
from .tokens import WindowTokens


def _span_rows(entity: Entity, window: WindowTokens) -> np.ndarray:
    """bool [n_tokens]: the window's non-special tokens inside the entity's span."""
    starts, ends = window.offsets[:, 0], window.offsets[:, 1]
    return ~window.special & (starts >= entity.start) & (ends <= entity.end)


def attach_raw(
    entities: Sequence[Entity], window: WindowTokens, logits: np.ndarray
) -> list[Entity]:
    """``logits``: [n_tokens, n_labels] of ``window``. Token entities get their own row;
    aggregated ones the mean over their sub-words."""
    out = []
    for e in entities:
        if e.index is not None:
            row = logits[e.index]
        else:
            inside = _span_rows(e, window)
            row = logits[inside].mean(axis=0) if inside.any() else np.full(logits.shape[1], np.nan)
        out.append(dataclasses.replace(e, raw=tuple(float(x) for x in row)))
    return out
