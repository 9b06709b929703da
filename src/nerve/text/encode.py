"""Text → token windows: ids, code-point offsets, special mask, word ids.

nerve owns padding and truncation. A text that fits the model window is one window. A longer
one is cut into windows of whole sentences that never cross a paragraph break (see
``sentence_windows``), or, with ``windowing="tokens"`` (implied by an explicit ``stride``),
into overlapping windows exactly as the transformers pipeline does with ``stride`` (the Rust
tokenizer's overflow: each window holds ``content - stride`` new tokens); unless the caller
asked to ``truncate`` (one window, cut left or right) or forbade windows (error).
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any, cast

import numpy as np
from tokenizers import Encoding, Tokenizer

from ..decode.tokens import WindowTokens, encoding_word_ids
from ..errors import InputTooLong, InvalidInput
from ..types import Aggregation, InferenceOptions
from .sentence_windows import sentence_ranges


@dataclass(frozen=True)
class EncodedText:
    """One input (a string, or pre-split words joined by single spaces) and its windows."""

    text: str
    windows: list[WindowTokens]
    # Pre-split input only: per window, the word index of each token (-1: special) [n_tokens].
    word_ids: list[np.ndarray] | None = None
    n_words: int = 0
    words: tuple[str, ...] = ()
    # Truncated input only: the (start, end) stretch of ``text`` its one window covers.
    read_span: tuple[int, int] | None = None

    @property
    def n_tokens(self) -> int:
        return sum(len(w.ids) for w in self.windows)


_NO_WORD_IDS = np.zeros(0, dtype=np.int64)  # plain text: word ids are not computed


def _covered(window: WindowTokens) -> tuple[int, int]:
    """From the first content token's start to the last one's end."""
    offsets = window.offsets[~window.special]  # [c, 2]
    if offsets.shape[0] == 0:
        return (0, 0)
    return (int(offsets[:, 0].min()), int(offsets[:, 1].max()))


def _content(
    enc: Encoding, word_starts: np.ndarray | None, with_word_ids: bool
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """An encoding's ids, offsets into the text and (when asked, or for pre-split input)
    word of each token; ``_NO_WORD_IDS`` otherwise."""
    ids = np.asarray(enc.ids, dtype=np.int64)
    offsets = np.asarray(enc.offsets, dtype=np.int64).reshape(-1, 2)
    word_ids = _NO_WORD_IDS
    if word_starts is not None or with_word_ids:
        word_ids = encoding_word_ids(enc)
    if word_starts is not None and len(word_starts):
        # Pre-split input only: the tokenizer's offsets are relative to each word.
        shift = np.where(word_ids >= 0, word_starts[np.maximum(word_ids, 0)], 0)
        offsets = offsets + shift[:, None]
    return ids, offsets, word_ids


def _window(
    enc: Encoding, word_starts: np.ndarray | None, vocab: np.ndarray, with_word_ids: bool
) -> tuple[WindowTokens, np.ndarray]:
    """``with_word_ids``: keep the tokenizer's word of each token in the window (strategy
    ``word`` groups by it); pre-split input always computes them (its words are the user's)."""
    ids, offsets, word_ids = _content(enc, word_starts, with_word_ids)
    special = np.asarray(enc.special_tokens_mask, dtype=bool)
    # Token strings by id (what transformers' convert_ids_to_tokens gives): Encoding.tokens
    # shows the surface text for some unknown pieces (Unigram), not the vocabulary entry.
    tokens = vocab[ids].tolist()
    kept = word_ids if with_word_ids or word_starts is not None else None
    return WindowTokens.built(ids, offsets, special, tokens, kept), word_ids


class TextEncoder:
    """Thread-safe tokenization into windows; one configured tokenizer copy per window setting."""

    def __init__(self, tokenizer: Tokenizer, max_length: int) -> None:
        self._base = tokenizer.to_str()
        self.max_length = max_length
        self.num_specials = tokenizer.num_special_tokens_to_add(False)
        size = tokenizer.get_vocab_size(with_added_tokens=True)
        self._vocab = np.array([tokenizer.id_to_token(i) for i in range(size)], dtype=object)
        self._configured: dict[tuple[int, int, str], Tokenizer] = {}
        self._lock = threading.Lock()
        # Sentence windows tokenize the whole text once, then add the specials per window:
        # the ones the tokenizer's template puts before and after a single sequence.
        self._whole = Tokenizer.from_str(self._base)
        self._whole.no_padding()
        self._whole.no_truncation()
        probe = self._whole.encode("a")
        content = [i for i, special in enumerate(probe.special_tokens_mask) if not special]
        self._prefix = np.asarray(probe.ids[: content[0]], dtype=np.int64)
        self._suffix = np.asarray(probe.ids[content[-1] + 1 :], dtype=np.int64)

    def _tokenizer(self, length: int, stride: int, direction: str) -> Tokenizer:
        key = (length, stride, direction)
        with self._lock:
            tok = self._configured.get(key)
            if tok is None:
                tok = Tokenizer.from_str(self._base)
                tok.no_padding()
                tok.enable_truncation(max_length=length, stride=stride, direction=direction)
                self._configured[key] = tok
        return tok

    def settings(self, options: InferenceOptions) -> tuple[int, int]:
        """(window length, stride) for these options, validated against the model."""
        length = options.window or self.max_length
        if length > self.max_length:
            raise InvalidInput(
                f"window {length} exceeds the model's limit of {self.max_length} tokens"
            )
        content = length - self.num_specials
        if content < 1:
            raise InvalidInput(
                f"window {length} leaves no room next to {self.num_specials} special tokens"
            )
        if options.truncate:
            stride = 0
        else:
            stride = content // 4 if options.stride is None else options.stride
        if stride >= content:
            raise InvalidInput(
                f"stride {stride} must be smaller than the window's {content} content tokens "
                f"(window {length} minus {self.num_specials} special tokens)"
            )
        return length, stride

    def encode(
        self,
        inputs: Sequence[str] | Sequence[Sequence[str]],
        options: InferenceOptions,
        *,
        presplit: bool = False,
    ) -> list[EncodedText]:
        length, stride = self.settings(options)
        if not options.truncate and _windowing(options) == "sentences":
            return self._encode_sentences(
                inputs, options, length - self.num_specials, stride, presplit
            )
        tok = self._tokenizer(length, stride, options.truncation_direction)
        if presplit:
            words_list = [list(w) for w in inputs]
            encs = _encode_all(tok, words_list, is_pretokenized=True)
            return [
                self._collect_words(w, e, options) for w, e in zip(words_list, encs, strict=True)
            ]
        texts: list[str] = [str(t) for t in inputs]  # validated as strings by the engine
        encs = _encode_all(tok, texts)
        return [self._collect(t, e, options, None) for t, e in zip(texts, encs, strict=True)]

    def _encode_sentences(
        self,
        inputs: Sequence[str] | Sequence[Sequence[str]],
        options: InferenceOptions,
        budget: int,
        stride: int,
        presplit: bool,
    ) -> list[EncodedText]:
        if presplit:
            words_list = [list(w) for w in inputs]
            encs = _encode_all(
                self._whole, words_list, is_pretokenized=True, add_special_tokens=False
            )
            out = []
            for words, enc in zip(words_list, encs, strict=True):
                starts = word_starts(words)
                encoded = self._split(" ".join(words), enc, options, budget, stride, starts)
                out.append(replace(encoded, words=tuple(words)))
            return out
        texts: list[str] = [str(t) for t in inputs]
        encs = _encode_all(self._whole, texts, add_special_tokens=False)
        return [
            self._split(t, e, options, budget, stride, None)
            for t, e in zip(texts, encs, strict=True)
        ]

    def _split(
        self,
        text: str,
        enc: Encoding,
        options: InferenceOptions,
        budget: int,
        stride: int,
        starts: np.ndarray | None,
    ) -> EncodedText:
        """One text's content tokens cut into sentence windows, specials added to each."""
        keep_words = options.aggregation_strategy is Aggregation.WORD or starts is not None
        ids, offsets, word_ids = _content(enc, starts, keep_words)
        ranges = sentence_ranges(text, offsets, budget, stride) or [(0, 0)]
        if len(ranges) > 1 and not options.allow_windows:
            raise InputTooLong(
                f"input of {len(text)} characters is longer than the model's window of "
                f"{self.max_length} tokens"
            )
        pre, post = len(self._prefix), len(self._suffix)
        windows = []
        for a, b in ranges:
            end = pre + b - a  # the window's content is [pre, end)
            window_ids = np.empty(end + post, dtype=np.int64)
            window_ids[:pre] = self._prefix
            window_ids[pre:end] = ids[a:b]
            window_ids[end:] = self._suffix
            window_offsets = np.zeros((end + post, 2), dtype=np.int64)
            window_offsets[pre:end] = offsets[a:b]
            special = np.ones(end + post, dtype=bool)
            special[pre:end] = False
            words = None
            if keep_words:
                words = np.full(end + post, -1, dtype=np.int64)
                words[pre:end] = word_ids[a:b]
            tokens = self._vocab[window_ids].tolist()
            windows.append(WindowTokens.built(window_ids, window_offsets, special, tokens, words))
        if starts is None:
            return EncodedText(text, windows)
        # Pre-split input always has its word ids.
        window_word_ids = [cast("np.ndarray", w.word_ids) for w in windows]
        return EncodedText(text, windows, window_word_ids, len(starts))

    def _collect(
        self, text: str, enc: Encoding, options: InferenceOptions, starts: np.ndarray | None
    ) -> EncodedText:
        parts = [enc] if options.truncate else [enc, *enc.overflowing]
        if len(parts) > 1 and not options.allow_windows:
            raise InputTooLong(
                f"input of {len(text)} characters is longer than the model's window of "
                f"{self.max_length} tokens"
            )
        with_word_ids = options.aggregation_strategy is Aggregation.WORD
        built = [_window(p, starts, self._vocab, with_word_ids) for p in parts]
        windows = [w for w, _ in built]
        word_ids = [ids for _, ids in built] if starts is not None else None
        n_words = len(starts) if starts is not None else 0
        cut = _covered(windows[0]) if options.truncate and enc.overflowing else None
        return EncodedText(text, windows, word_ids, n_words, read_span=cut)

    def _collect_words(
        self, words: list[str], enc: Encoding, options: InferenceOptions
    ) -> EncodedText:
        encoded = self._collect(" ".join(words), enc, options, word_starts(words))
        return replace(encoded, words=tuple(words))


def _encode_all(tokenizer: Tokenizer, inputs: Sequence[Any], **options: bool) -> list[Encoding]:
    """``encode_batch``, except that one input is encoded with ``encode``, in this thread and
    holding the GIL. ``encode_batch`` hands its inputs to the tokenizer's thread pool and
    releases the GIL meanwhile; for one short text the work takes ~30 µs, but getting the GIL
    back can take until another thread's switch interval ends (5 ms). The server tokenizes
    each request on its event loop next to model threads that run Python (a GPU lane launches
    kernels from Python): there, one sentence's tokenizing took ≈ 190 µs of the loop's time
    with ``encode_batch`` and ≈ 65 µs with ``encode`` (in process, under load, 2 cores)."""
    if len(inputs) == 1:
        return [tokenizer.encode(inputs[0], **options)]
    return list(tokenizer.encode_batch(inputs, **options))


def word_starts(words: Sequence[str]) -> np.ndarray:
    """Offsets of pre-split words joined by single spaces: word i starts after i spaces and
    all earlier words."""
    lengths = np.asarray([len(w) for w in words], dtype=np.int64)
    return np.cumsum(np.concatenate(([0], lengths + 1)))[:-1].astype(np.int64)


def _windowing(options: InferenceOptions) -> str:
    if options.windowing is not None:
        return options.windowing
    return "tokens" if options.stride is not None else "sentences"
