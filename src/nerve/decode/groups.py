"""The pipeline's ``group_entities``: adjacent units of one type become one entity."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..types import Entity
from .tokens import DecodeContext


@dataclass(frozen=True)
class Units:
    """What ``group_entities`` consumes: tokens (simple) or whole words (first/average/max)."""

    label_ids: np.ndarray  # int64 [u]: argmax label of each unit
    scores: np.ndarray  # float32 [u]: the unit's score for that label
    starts: np.ndarray  # int64 [u]
    ends: np.ndarray  # int64 [u]
    words: np.ndarray  # object [u] of str: what join_tokens receives for the group

    def __len__(self) -> int:
        return int(self.label_ids.shape[0])


def segment_nanmean(values: np.ndarray, starts: np.ndarray) -> np.ndarray:
    """``np.nanmean`` over axis 0 of each segment ``values[starts[i]:starts[i + 1]]``.

    Like numpy's nanmean on float32 input: the float32 sum of the non-NaN values divided by
    their count in float64, cast back to float32 (all-NaN segments give NaN). Sums run
    sequentially here and pairwise in numpy, so long segments can differ in the last bit.
    """
    # values: [n, ...] float32; starts: [n_segments] strictly increasing, starts[0] == 0
    missing = np.isnan(values)
    totals = np.add.reduceat(np.where(missing, np.float32(0), values), starts, axis=0)
    counts = np.add.reduceat((~missing).astype(np.int64), starts, axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.asarray(totals.astype(np.float64) / counts, dtype=np.float32)


def group_units(units: Units, ctx: DecodeContext) -> list[Entity]:
    """Merge runs of units whose type matches the previous one and which are not ``B-``.

    A new group starts at the first unit, at every ``B-`` label and wherever the ``get_tag``
    type changes. The group's label is its first unit's ``label.split("-", 1)[-1]``, its score
    the nanmean of the unit scores, its word ``join_tokens`` of the unit words.
    """
    n = len(units)
    if n == 0:
        return []
    tags = ctx.tag_ids[units.label_ids]  # [u]
    boundary = ctx.begin_mask[units.label_ids].copy()  # [u]
    boundary[0] = True
    boundary[1:] |= tags[1:] != tags[:-1]
    firsts = np.flatnonzero(boundary)  # [g]
    lasts = np.append(firsts[1:], n) - 1  # [g]
    scores = segment_nanmean(units.scores, firsts)  # [g]
    entities = []
    for g, (first, last) in enumerate(zip(firsts.tolist(), lasts.tolist(), strict=True)):
        entities.append(
            Entity(
                label=ctx.group_names[int(units.label_ids[first])],
                score=float(scores[g]),
                start=int(units.starts[first]),
                end=int(units.ends[last]),
                word=ctx.join_tokens(units.words[first : last + 1].tolist()),
            )
        )
    return entities
