"""Which ``ignore_labels`` names a model's outputs can carry, for commands that refuse a name
that would drop nothing.

As in the transformers pipeline, aggregated entities are compared by type (``PER``) and
strategy ``none``'s tokens by tag (``B-PER``); patterns add their labels to the aggregated
entities only. The library and the server accept any name, as the pipeline does (a client may
send one list to many models); the CLI (``nerve infer``, ``nerve batch``) refuses a typo or
another model's label set, which would otherwise be silently ignored.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from ..errors import InvalidInput
from ..types import Aggregation
from .tokens import split_tag

ALWAYS_KNOWN = ("O",)


def check_ignore_names(
    ignore_labels: Sequence[str],
    labels: Sequence[str],
    pattern_labels: Iterable[str],
    aggregation: str,
    flag: str = "--ignore-labels",
) -> None:
    if aggregation == Aggregation.NONE.value:
        names, kind = set(labels), "tags with --aggregation none"
    else:
        # The entities' types as the pipeline names them (its get_tag: only B-/I- is a prefix).
        names = {split_tag(label)[1] for label in labels} | set(pattern_labels)
        kind = "entity types with aggregation (tag names such as B-PER apply to -a none)"
    unknown = [x for x in ignore_labels if x not in names | set(ALWAYS_KNOWN)]
    if unknown:
        raise InvalidInput(
            f"{flag}: {', '.join(map(repr, unknown))} matches no label of this model or its "
            f"patterns; its {kind}: {', '.join(sorted(names - set(ALWAYS_KNOWN)))}"
        )
