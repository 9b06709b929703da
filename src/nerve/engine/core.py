"""The engine: text in → entities out, in three stages the server can drive separately.

``tokenize`` (validate + windows) → ``run_windows`` (token-budget batches through the
backend) → ``decode`` (softmax, aggregation, window stitching). ``__call__`` chains them.
The engine holds no per-request state, so one instance serves many threads (or a Ray actor).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, overload

import numpy as np
from tokenizers import Tokenizer

from ..backends.base import Backend
from ..decode import DecodeContext, decode_text, first_subword_labels, softmax
from ..decode.batch import decode_many
from ..decode.stitch import kept_positions
from ..decode.tokens import WindowTokens
from ..decode.wordlabels import outside_unread, words_read
from ..errors import InputTooLong, InvalidInput
from ..model.spec import ModelSpec
from ..patterns import Patterns
from ..text.encode import EncodedText, TextEncoder, word_starts
from ..text.loading import unk_token
from ..text.validity import lone_surrogate
from ..types import Aggregation, Entity, InferenceOptions, TextResult, WordLabels
from .batching import (
    BatchPool,
    budget_batches,
    model_batch_tokens,
    packed_batches,
    pad_rows,
    spread_batches,
    windows_run_alone,
)


@dataclass(frozen=True)
class TokenLogits:
    """vLLM ``token_classify``-style raw view of one text: every token, specials included."""

    ids: np.ndarray  # int64 [n_tokens]
    tokens: list[str]
    offsets: np.ndarray  # int64 [n_tokens, 2] code-point offsets
    logits: np.ndarray  # float32 [n_tokens, n_labels]


def check_unicode(where: str, text: str) -> None:
    """``where``: what the text is to the caller ("input 2", "input 2, word 5")."""
    at = lone_surrogate(text)
    if at is not None:
        raise InvalidInput(f"{where} is not valid Unicode: lone surrogate at character {at}")


def check_texts(inputs: object) -> list[str]:
    if isinstance(inputs, (str, bytes)) or not isinstance(inputs, Sequence):
        raise InvalidInput(f"inputs must be a list of strings, got {type(inputs).__name__}")
    for i, text in enumerate(inputs):
        if not isinstance(text, str):
            raise InvalidInput(f"input {i} must be a string, got {type(text).__name__}")
        check_unicode(f"input {i}", text)
    return list(inputs)


def check_words(inputs: object) -> list[list[str]]:
    if isinstance(inputs, (str, bytes)) or not isinstance(inputs, Sequence):
        raise InvalidInput(
            f"pre-split inputs must be a list of word lists, got {type(inputs).__name__}"
        )
    out = []
    for i, words in enumerate(inputs):
        if isinstance(words, str) or not isinstance(words, Sequence):
            raise InvalidInput(f"input {i} must be a list of words, got {type(words).__name__}")
        for j, w in enumerate(words):
            if not isinstance(w, str):
                raise InvalidInput(f"input {i}, word {j} must be a string, got {type(w).__name__}")
            check_unicode(f"input {i}, word {j}", w)
        out.append(list(words))
    return out


class Engine:
    def __init__(
        self,
        *,
        spec: ModelSpec,
        tokenizer: Tokenizer,
        backend: Backend,
        model_dir: Path,
        model_id: str,
        max_batch_tokens: int = 16384,
    ) -> None:
        self.spec = spec
        self.backend = backend
        self.model_dir = model_dir
        self.model_id = model_id
        self.max_batch_tokens = max_batch_tokens
        self.text_encoder = TextEncoder(tokenizer, spec.max_length)
        unk = unk_token(model_dir, tokenizer)
        self.decode_ctx = DecodeContext.from_tokenizer(tokenizer, spec.labels, unk)
        self._pad_id = spec.encoder.pad_token_id
        self._tokenizer = tokenizer
        # Padded batches: small ones on CPU (cache), run `concurrency` at a time (backends that
        # run single-threaded, like ONNX Runtime here, are data-parallel over the cores).
        self._batch_tokens = model_batch_tokens(backend.name, backend.device, max_batch_tokens)
        self._long_windows_alone = windows_run_alone(backend.dtype)
        self._pool = BatchPool(int(getattr(backend, "concurrency", 1)))
        # Set by nerve.load: the arguments that load this engine again (see __reduce__).
        self.load_args: dict[str, Any] | None = None
        # Entity patterns merged into every aggregated result (nerve.patterns); set by load.
        self.patterns: Patterns | None = None

    def vocabulary_piece(self, token_id: int) -> str | None:
        """The vocabulary's entry for ``token_id`` (``[UNK]`` for an unknown piece)."""
        return self._tokenizer.id_to_token(token_id)

    def __reduce__(self) -> tuple[Any, tuple[Any, ...]]:
        """Pickle as "load this model again": an engine travels to another process
        (multiprocessing, a Ray task or actor) as its ``nerve.load`` arguments, and the
        receiver loads the model from the same path (the embedded default model from its
        own install). Inference sessions and weights never go over the wire."""
        if self.load_args is None:
            raise TypeError(
                "only an Engine made by nerve.load can be pickled (it is re-loaded from its "
                "model directory on the receiving side)"
            )
        from ..loader import reload

        return reload, (dict(self.load_args),)

    # -- facts -------------------------------------------------------------------------
    @property
    def long_windows_alone(self) -> bool:
        """Whether the windows of a text longer than one window run one per model call (see
        ``windows_run_alone`` and ``windows_alone``)."""
        return self._long_windows_alone

    @property
    def labels(self) -> tuple[str, ...]:
        return self.spec.labels

    @property
    def max_length(self) -> int:
        return self.spec.max_length

    def info(self) -> dict[str, Any]:
        return {
            "model_id": self.model_id,
            "model_dir": str(self.model_dir),
            "architecture": self.spec.architecture,
            "labels": list(self.labels),
            "max_length": self.max_length,
            "backend": self.backend.name,
            "device": self.backend.device,
            "dtype": self.backend.dtype,
        }

    # -- stages ------------------------------------------------------------------------
    def tokenize(
        self,
        inputs: Sequence[str] | Sequence[Sequence[str]],
        options: InferenceOptions,
        *,
        presplit: bool = False,
    ) -> list[EncodedText]:
        checked = check_words(inputs) if presplit else check_texts(inputs)
        return self.text_encoder.encode(checked, options, presplit=presplit)

    def run_windows(
        self,
        windows: Sequence[WindowTokens],
        batch_tokens: int | None = None,
        spread: bool = False,
        alone: Sequence[bool] | None = None,
        serial: bool = False,
    ) -> list[np.ndarray]:
        """Logits [n_tokens, n_labels] for each window, batched under the token budget
        (``batch_tokens``, default the engine's; 1: one window per call). ``spread``: windows
        grouped by length for the backend's sessions to share (see ``spread_batches``).
        ``alone``: per window, whether it runs in a call of its own (the windows of a long
        text on an int8 graph, see ``windows_run_alone``; the server passes this).
        ``serial``: the batches run one after another in the calling thread, not on the
        engine's session threads (for a caller that runs one thread per session itself: the
        server's lanes)."""
        rows = [w.ids for w in windows]
        return self.run_rows(rows, batch_tokens, spread=spread, alone=alone, serial=serial)

    def run_rows(
        self,
        rows: Sequence[np.ndarray],
        batch_tokens: int | None = None,
        *,
        spread: bool = False,
        alone: Sequence[bool] | None = None,
        serial: bool = False,
    ) -> list[np.ndarray]:
        """``run_windows`` on the windows' token ids alone (int64 [n_tokens] each): for a
        caller whose windows live elsewhere (``nerve.hostpool``'s worker processes)."""
        if getattr(self.backend, "packed", False):
            return self._run_packed(rows)
        budget = self._batch_tokens if batch_tokens is None else batch_tokens
        shared = [i for i in range(len(rows)) if not (alone and alone[i])]
        lengths = [len(rows[i]) for i in shared]
        batching = spread_batches if spread else budget_batches
        batches = [[shared[j] for j in batch] for batch in batching(lengths, budget)]
        if alone:
            batches += [[i] for i in range(len(rows)) if alone[i]]

        def run(batch: list[int]) -> np.ndarray:
            ids, mask = pad_rows([rows[i] for i in batch], self._pad_id)
            return self.backend.forward(ids, mask)  # [batch, width, n_labels]

        out: list[np.ndarray | None] = [None] * len(rows)
        results = [run(b) for b in batches] if serial else self._pool.map(run, batches)
        for batch, logits in zip(batches, results, strict=True):
            for row, i in enumerate(batch):
                out[i] = logits[row, : len(rows[i])]
        return out  # type: ignore[return-value]

    def _run_packed(self, rows: Sequence[np.ndarray]) -> list[np.ndarray]:
        """Packed batches: the budget counts real tokens only, since no padding is computed."""
        out: list[np.ndarray | None] = [None] * len(rows)
        batches = packed_batches([len(r) for r in rows], self.max_batch_tokens)
        parts = ([rows[i] for i in batch] for batch in batches)
        # A backend that can launch batch i + 1 before batch i's logits are back does so
        # (torch on a GPU: the host's packing and launching overlap the model).
        stream = getattr(self.backend, "forward_packed_stream", None)
        results = stream(parts) if stream is not None else map(self.backend.forward_packed, parts)  # type: ignore[attr-defined]
        for batch, logits in zip(batches, results, strict=True):
            for i, lg in zip(batch, logits, strict=True):
                out[i] = lg
        return out  # type: ignore[return-value]

    def decode(
        self, encoded: EncodedText, logits: Sequence[np.ndarray], options: InferenceOptions
    ) -> TextResult:
        probs = [softmax(x) for x in logits]
        entities: list[Entity] = decode_text(
            encoded.text,
            encoded.windows,
            probs,
            options.aggregation_strategy,
            options.ignore_labels,
            self.decode_ctx,
            raw_logits=logits if options.raw_scores else None,
        )
        return TextResult(
            encoded.text, self._with_patterns(encoded.text, entities, options), encoded.read_span
        )

    def decode_many(
        self,
        encoded: Sequence[EncodedText],
        logits: Sequence[Sequence[np.ndarray]],
        options: InferenceOptions,
    ) -> list[TextResult]:
        """``decode`` for many texts at once: the same results, with the per-token array work
        done in one pass over all their windows (see ``nerve.decode.batch``)."""
        entities = decode_many(
            [e.text for e in encoded],
            [e.windows for e in encoded],
            logits,
            options.aggregation_strategy,
            options.ignore_labels,
            self.decode_ctx,
            raw_scores=options.raw_scores,
        )
        return [
            TextResult(e.text, self._with_patterns(e.text, ents, options), e.read_span)
            for e, ents in zip(encoded, entities, strict=True)
        ]

    def _with_patterns(
        self, text: str, entities: Sequence[Entity], options: InferenceOptions
    ) -> tuple[Entity, ...]:
        """Pattern matches merged in, for aggregated strategies only: ``none`` returns
        sub-word tokens, which a phrase match is not."""
        if self.patterns is None or options.aggregation_strategy is Aggregation.NONE:
            return tuple(entities)
        return self.patterns.apply(text, entities, options.ignore_labels)

    def decode_words(self, encoded: EncodedText, logits: Sequence[np.ndarray]) -> WordLabels:
        assert encoded.word_ids is not None
        # A long input's windows overlap: each token is taken once, from the window where it
        # lies furthest from an edge (as strategy none does), so a word's label is its true
        # first sub-word's, seen with the most context on both sides.
        keep = kept_positions(encoded.windows)
        word_ids = np.concatenate([ids[k] for ids, k in zip(encoded.word_ids, keep, strict=True)])
        probs = softmax(np.concatenate([lg[k] for lg, k in zip(logits, keep, strict=True)]))
        labels, scores = first_subword_labels(word_ids, probs, encoded.n_words, self.labels)
        read = None
        if encoded.read_span is not None:  # truncated: one window, part of the words
            read = words_read(word_starts(encoded.words), encoded.read_span)
            labels, scores = outside_unread(labels, scores, read)
        return WordLabels(encoded.words, tuple(labels), tuple(scores), read)

    # -- one-call API ------------------------------------------------------------------
    @overload
    def __call__(self, inputs: str, **options: Any) -> TextResult: ...
    @overload
    def __call__(self, inputs: Sequence[str], **options: Any) -> list[TextResult]: ...

    def __call__(
        self, inputs: str | Sequence[str], **options: Any
    ) -> TextResult | list[TextResult]:
        """Entities of each text. ``options``: see ``InferenceOptions``."""
        single = isinstance(inputs, str)
        opts = options_from(options)
        encoded = self.tokenize([inputs] if single else inputs, opts)  # type: ignore[list-item]
        results = self._run(encoded, opts)
        return results[0] if single else results

    def _run(self, encoded: list[EncodedText], opts: InferenceOptions) -> list[TextResult]:
        return self.decode_many(encoded, self._window_logits(encoded), opts)

    def _window_logits(self, encoded: Sequence[EncodedText]) -> list[list[np.ndarray]]:
        flat = [w for e in encoded for w in e.windows]
        flat_logits = self.run_windows(flat, alone=self.windows_alone(encoded))
        out, pos = [], 0
        for e in encoded:
            out.append(flat_logits[pos : pos + len(e.windows)])
            pos += len(e.windows)
        return out

    def windows_alone(self, encoded: Sequence[EncodedText]) -> list[bool] | None:
        """Per window of ``encoded`` (flattened), whether it runs in a model call of its own:
        each window of a text longer than one window, on graphs where batch-mates change a
        window's logits (see ``windows_run_alone``); None when no window does. A caller that
        batches windows itself (the server) passes this to ``run_windows`` to get this
        engine's answers."""
        if not self._long_windows_alone or all(len(e.windows) <= 1 for e in encoded):
            return None
        return [len(e.windows) > 1 for e in encoded for _ in e.windows]

    def predict_words(self, sentences: Sequence[Sequence[str]], **options: Any) -> list[WordLabels]:
        """One label per word of pre-split input (the label of each word's first sub-word)."""
        shaping = [
            name
            for name in ("aggregation_strategy", "ignore_labels", "raw_scores")
            if name in options
        ]
        if shaping:
            # They shape entities; accepted here they would do nothing (as /v1/entities refuses
            # them with words).
            raise InvalidInput(
                f"predict_words gives one label per word; {', '.join(shaping)} "
                "apply only to entities (call the engine on texts)"
            )
        opts = options_from(options)
        encoded = self.tokenize(sentences, opts, presplit=True)
        logits = self._window_logits(encoded)
        return [self.decode_words(e, lg) for e, lg in zip(encoded, logits, strict=True)]

    def encode(
        self,
        texts: str | Sequence[str],
        *,
        truncate: bool = False,
        truncation_direction: str = "right",
    ) -> list[TokenLogits]:
        """Per-token logits like vLLM's ``encode(..., pooling_task="token_classify")``.

        One model window per text: a text longer than the window is an error, as a prompt
        longer than the model is in vLLM (stitching raw logits of overlapping windows has no
        single right answer); ``truncate=True`` cuts it to the window instead, from the end
        or (``truncation_direction="left"``) from the start.
        """
        opts = InferenceOptions(
            truncate=truncate, truncation_direction=truncation_direction, allow_windows=False
        )
        batch = [texts] if isinstance(texts, str) else texts
        try:
            encoded = self.tokenize(batch, opts)
        except InputTooLong as exc:
            raise exc.with_advice("encode() runs one window per text: pass truncate=True") from None
        logits = self._window_logits(encoded)
        return [
            TokenLogits(e.windows[0].ids, e.windows[0].tokens, e.windows[0].offsets, lg[0])
            for e, lg in zip(encoded, logits, strict=True)
        ]


def options_from(options: dict[str, Any]) -> InferenceOptions:
    known = set(InferenceOptions.__dataclass_fields__) - {"extra"}
    unknown = sorted(set(options) - known)
    if unknown:
        raise InvalidInput(f"unknown option(s) {unknown}; known: {sorted(known)}")
    if "aggregation_strategy" in options:
        options = {
            **options,
            "aggregation_strategy": Aggregation.parse(options["aggregation_strategy"]),
        }
    return InferenceOptions(**options)
