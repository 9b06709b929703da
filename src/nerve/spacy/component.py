"""The ``nerve_ner`` pipeline component: nerve's entities as ``doc.ents``.

One engine call per batch of docs (``nlp.pipe``), the docs themselves passed through (so
``nlp.pipe(..., as_tuples=True)`` keeps each doc's context), spans aligned to spaCy's tokens
by ``alignment_mode`` (see ``nerve.spacy.align``).

The factory does not load the model: the component loads it when the first doc arrives (or at
``nlp.initialize()``), from its config, or — in a pipeline read by ``spacy.load`` — from the
copy ``nlp.to_disk`` stored in its own folder (``nerve.spacy.storage``). Loading eagerly would
read the config's model and patterns paths, which name the machine a pipeline was saved on.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from spacy.language import Language
from spacy.scorer import get_ner_prf
from spacy.tokens import Doc
from spacy.util import minibatch

from ..decode.tokens import split_tag
from ..errors import InvalidInput
from ..types import DEFAULT_AGGREGATION, Aggregation, TextResult
from . import storage
from .align import ALIGNMENT_MODES, entity_spans, merged_ents

DEFAULT_BATCH_SIZE = 256


class NerveNER:
    """Set ``doc.ents`` from a nerve engine's entities.

    ``engine``: a loaded ``nerve.Engine``, or None to load one with ``nerve.load(**load_args)``
    when it is first needed."""

    def __init__(
        self,
        engine: Any = None,
        *,
        load_args: Mapping[str, Any] | None = None,
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
        if engine is None and load_args is None:
            raise InvalidInput("nerve_ner: give an engine, or load_args to load one")
        self.name = name
        self._engine = engine
        self._load_args = dict(load_args or {})
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
    def engine(self) -> Any:
        """The nerve engine, loaded on first use."""
        if self._engine is None:
            from ..loader import load

            self._engine = load(**self._load_args)
        return self._engine

    @engine.setter
    def engine(self, engine: Any) -> None:
        self._engine = engine

    def initialize(self, get_examples: Any = None, *, nlp: Any = None) -> None:
        """``nlp.initialize()``: load the model now, so that a bad model or patterns path
        fails here rather than at the first doc."""
        self.engine  # noqa: B018 (loads it)

    def to_disk(self, path: str | Path, *, exclude: Iterable[str] = ()) -> None:
        """Store the model (unless it is the embedded default) and the patterns in ``path``,
        so that the saved pipeline loads anywhere (``nerve.spacy.storage``)."""
        storage.save(self.engine, Path(path))

    def from_disk(self, path: str | Path, *, exclude: Iterable[str] = ()) -> NerveNER:
        """Take the model and patterns ``to_disk`` stored in ``path``; the run settings
        (backend, device, threads) stay the config's."""
        stored = storage.stored_load_arguments(Path(path))
        if stored is not None:
            self._load_args.update(stored)
            self._engine = None  # loaded from the stored copy on first use
        return self

    @property
    def labels(self) -> tuple[str, ...]:
        """Entity types the model (BIO prefixes removed) and the patterns can produce; none
        before the model is loaded. (spaCy reads this while ``spacy.load`` builds the pipeline,
        before the component's ``from_disk``: loading here would load the config's model, not
        the stored one.)"""
        if self._engine is None:
            return ()
        types = {split_tag(label)[1] for label in self._engine.labels if label != "O"}
        if self._engine.patterns is not None:  # what the patterns add (an entity ruler's own)
            types.update(p.label for p in self._engine.patterns.patterns)
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
    from ..loader import check_run_settings

    check_run_settings(backend=backend, device=device, threads=threads)
    return NerveNER(
        load_args={
            "model": model,
            "backend": backend,
            "device": device,
            "threads": threads,
            "patterns": patterns,
        },
        name=name,
        aggregation_strategy=aggregation_strategy,
        ignore_labels=ignore_labels,
        alignment_mode=alignment_mode,
        overwrite_ents=overwrite_ents,
        batch_size=batch_size,
    )
