"""The ``nerve_ner`` pipeline component: nerve's entities as ``doc.ents``.

One engine call per batch of docs (``nlp.pipe``), the docs themselves passed through (so
``nlp.pipe(..., as_tuples=True)`` keeps each doc's context), spans aligned to spaCy's tokens
by ``alignment_mode`` (see ``nerve.spacy.align``).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from typing import Any

from spacy.language import Language
from spacy.scorer import get_ner_prf
from spacy.tokens import Doc
from spacy.util import minibatch

from ..errors import InvalidInput
from ..types import DEFAULT_AGGREGATION, Aggregation, TextResult
from .align import ALIGNMENT_MODES, entity_spans, merged_ents

DEFAULT_BATCH_SIZE = 256


class NerveNER:
    """Set ``doc.ents`` from a nerve engine's entities."""

    def __init__(
        self,
        engine: Any,
        *,
        name: str = "nerve_ner",
        aggregation_strategy: str = DEFAULT_AGGREGATION.value,
        ignore_labels: Sequence[str] = ("O",),
        alignment_mode: str = "expand",
        overwrite_ents: bool = True,
        batch_size: int = DEFAULT_BATCH_SIZE,
    ) -> None:
        if alignment_mode not in ALIGNMENT_MODES:
            raise InvalidInput(
                f"nerve_ner: alignment_mode must be one of {', '.join(ALIGNMENT_MODES)}, "
                f"got {alignment_mode!r}"
            )
        if isinstance(ignore_labels, str):
            raise InvalidInput("nerve_ner: ignore_labels must be a list of labels")
        if not isinstance(batch_size, int) or batch_size < 1:
            raise InvalidInput(
                f"nerve_ner: batch_size must be a positive integer, got {batch_size!r}"
            )
        self.name = name
        self.engine = engine
        self.options = {
            "aggregation_strategy": Aggregation.parse(aggregation_strategy).value,
            "ignore_labels": list(ignore_labels),
        }
        if self.options["aggregation_strategy"] == Aggregation.NONE.value:
            raise InvalidInput(
                "nerve_ner: aggregation_strategy 'none' gives sub-word tokens, not entities"
            )
        self.alignment_mode = alignment_mode
        self.overwrite_ents = overwrite_ents
        self.batch_size = batch_size

    @property
    def labels(self) -> tuple[str, ...]:
        """Entity types the model can produce (BIO prefixes removed)."""
        types = {label.split("-", 1)[-1] for label in self.engine.labels if label != "O"}
        return tuple(sorted(types))

    def __call__(self, doc: Doc) -> Doc:
        self._set(doc, self.engine([doc.text], **self.options)[0])
        return doc

    def pipe(self, stream: Iterable[Doc], batch_size: int | None = None) -> Iterator[Doc]:
        for docs in minibatch(stream, size=batch_size or self.batch_size):
            results = self.engine([d.text for d in docs], **self.options)
            for doc, result in zip(docs, results, strict=True):
                self._set(doc, result)
                yield doc

    def score(self, examples: Iterable[Any], **kwargs: Any) -> dict[str, Any]:
        """Entity precision, recall and F1 (``ents_p``, ``ents_r``, ``ents_f``,
        ``ents_per_type``), as spaCy's own ``ner`` scores them: what ``nlp.evaluate`` and
        ``spacy evaluate`` report for this component."""
        return get_ner_prf(examples, **kwargs)

    def _set(self, doc: Doc, result: TextResult) -> None:
        spans = entity_spans(doc, result.entities, self.alignment_mode)
        doc.ents = merged_ents(doc.ents, spans, self.overwrite_ents)


@Language.factory(
    "nerve_ner",
    default_config={
        "model": None,
        "backend": "auto",
        "device": "cpu",
        "threads": None,
        "patterns": None,
        "aggregation_strategy": DEFAULT_AGGREGATION.value,  # nerve's one default (types.py)
        "ignore_labels": ["O"],
        "alignment_mode": "expand",
        "overwrite_ents": True,
        "batch_size": DEFAULT_BATCH_SIZE,
    },
    assigns=["doc.ents", "token.ent_iob", "token.ent_type"],
    default_score_weights={"ents_f": 1.0, "ents_p": 0.0, "ents_r": 0.0, "ents_per_type": None},
)
def make_nerve_ner(
    nlp: Language,
    name: str,
    model: str | None,
    backend: str,
    device: str,
    threads: int | None,
    patterns: str | None,
    aggregation_strategy: str,
    ignore_labels: list[str],
    alignment_mode: str,
    overwrite_ents: bool,
    batch_size: int,
) -> NerveNER:
    """``nlp.add_pipe("nerve_ner", config={"model": "path/or/hub-id"})``; ``model`` None is
    nerve's embedded default model, ``patterns`` a JSONL patterns file (docs/patterns.md)."""
    from ..loader import load

    engine = load(model, backend=backend, device=device, threads=threads, patterns=patterns)
    return NerveNER(
        engine,
        name=name,
        aggregation_strategy=aggregation_strategy,
        ignore_labels=ignore_labels,
        alignment_mode=alignment_mode,
        overwrite_ents=overwrite_ents,
        batch_size=batch_size,
    )
