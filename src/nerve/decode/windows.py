"""The pipeline's ``postprocess``: decode every window of a text, filter, merge the windows."""

from __future__ import annotations

from collections.abc import Collection, Sequence

import numpy as np

from ..errors import InvalidInput
from ..types import Aggregation, Entity
from .aggregate import decode_window
from .raw import attach_raw
from .stitch import stitch_tokens, stitch_windows
from .tokens import DecodeContext, WindowTokens


def filter_ignored(entities: Sequence[Entity], ignore_labels: Collection[str]) -> list[Entity]:
    """Drop entities whose label (full label for ``none``, type otherwise) is ignored."""
    return [e for e in entities if e.label not in ignore_labels]


def merge_windows(entities: Sequence[Entity]) -> list[Entity]:
    """The pipeline's ``aggregate_overlapping_entities``.

    Sorted by start (stably); an entity starting inside the one kept so far replaces it when
    longer, or as long with a higher score. Replicated quirk: the first entity is compared
    with itself, so a zero-length first entity (start == end) is reported twice.
    """
    if not entities:
        return []
    ordered = sorted(entities, key=lambda e: e.start)
    merged: list[Entity] = []
    kept = ordered[0]
    for entity in ordered:
        if kept.start <= entity.start < kept.end:
            length, kept_length = entity.end - entity.start, kept.end - kept.start
            if length > kept_length or (length == kept_length and entity.score > kept.score):
                kept = entity
        else:
            merged.append(kept)
            kept = entity
    merged.append(kept)
    return merged


def decode_text(
    text: str,
    windows: Sequence[WindowTokens],
    scores: Sequence[np.ndarray],
    strategy: Aggregation | str,
    ignore_labels: Collection[str],
    ctx: DecodeContext,
    raw_logits: Sequence[np.ndarray] | None = None,
) -> list[Entity]:
    """Entities of one text from its windows and their probabilities [n_tokens, n_labels].

    Per window: decode, drop ignored labels; with several windows, the pipeline's strategies
    go through ``merge_windows`` (exactly the pipeline with ``stride``), while ``none``
    (refused by the pipeline with ``stride``) keeps each token once, see ``stitch``, and
    nerve's ``word`` decodes the stitched token stream once. With
    ``raw_logits`` (per window, [n_tokens, n_labels]) every entity carries its raw logits.
    """
    if len(windows) != len(scores):
        raise InvalidInput(f"{len(windows)} windows but {len(scores)} score arrays")
    strategy = Aggregation.parse(strategy)
    if strategy is Aggregation.WORD and len(windows) > 1:
        # nerve's own strategy, so no pipeline merge to replicate: the windows become one
        # stream of tokens, each from the window where it has the most context (as ``none``),
        # and words are grouped once over it — a word cut by a window edge stays one word.
        window, (probs, raw) = stitch_windows(list(windows), [scores, raw_logits])
        assert probs is not None
        entities = filter_ignored(decode_window(text, window, probs, strategy, ctx), ignore_labels)
        return entities if raw is None else attach_raw(entities, window, raw)
    per_window = [
        filter_ignored(decode_window(text, window, probs, strategy, ctx), ignore_labels)
        for window, probs in zip(windows, scores, strict=True)
    ]
    if raw_logits is not None:
        per_window = [
            attach_raw(entities, window, logits)
            for entities, window, logits in zip(per_window, windows, raw_logits, strict=True)
        ]
    if len(per_window) <= 1:
        return per_window[0] if per_window else []
    if strategy is Aggregation.NONE:
        return stitch_tokens(per_window, list(windows))
    return merge_windows([e for entities in per_window for e in entities])
