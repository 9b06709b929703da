"""Text → token windows: ids, code-point offsets, special mask, word ids.

nerve owns padding and truncation. A text that fits the model window is one window; a longer
one is cut into overlapping windows exactly as the transformers pipeline does with ``stride``
(the Rust tokenizer's overflow: each window holds ``content - stride`` new tokens), unless the
caller asked to ``truncate`` (one window, cut left or right) or forbade windows (error).
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np
from tokenizers import Encoding, Tokenizer

from ..decode.tokens import WindowTokens, encoding_word_ids
from ..errors import InputTooLong, InvalidInput
from ..types import Aggregation, InferenceOptions


@dataclass(frozen=True)
class EncodedText:
    """One input (a string, or pre-split words joined by single spaces) and its windows."""

    text: str
    windows: list[WindowTokens]
    # Pre-split input only: per window, the word index of each token (-1: special) [n_tokens].
    word_ids: list[np.ndarray] | None = None
    n_words: int = 0
    words: tuple[str, ...] = ()

    @property
    def n_tokens(self) -> int:
        return sum(len(w.ids) for w in self.windows)


_NO_WORD_IDS = np.zeros(0, dtype=np.int64)  # plain text: word ids are not computed


def _window(
    enc: Encoding, word_starts: np.ndarray | None, vocab: np.ndarray, with_word_ids: bool
) -> tuple[WindowTokens, np.ndarray]:
    """``with_word_ids``: keep the tokenizer's word of each token in the window (strategy
    ``word`` groups by it); pre-split input always computes them (its words are the user's)."""
    ids = np.asarray(enc.ids, dtype=np.int64)
    offsets = np.asarray(enc.offsets, dtype=np.int64).reshape(-1, 2)
    special = np.asarray(enc.special_tokens_mask, dtype=bool)
    word_ids = _NO_WORD_IDS
    if word_starts is not None or with_word_ids:
        word_ids = encoding_word_ids(enc)
    if word_starts is not None and len(word_starts):
        # Pre-split input only: the tokenizer's offsets are relative to each word.
        shift = np.where(word_ids >= 0, word_starts[np.maximum(word_ids, 0)], 0)
        offsets = offsets + shift[:, None]
    # Token strings by id (what transformers' convert_ids_to_tokens gives): Encoding.tokens
    # shows the surface text for some unknown pieces (Unigram), not the vocabulary entry.
    tokens = vocab[ids].tolist()
    window = WindowTokens(
        ids=ids,
        offsets=offsets,
        special=special,
        tokens=tokens,
        word_ids=word_ids if with_word_ids or word_starts is not None else None,
    )
    return window, word_ids


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
        tok = self._tokenizer(length, stride, options.truncation_direction)
        if presplit:
            words_list = [list(w) for w in inputs]
            encs = tok.encode_batch(words_list, is_pretokenized=True)
            return [
                self._collect_words(w, e, options) for w, e in zip(words_list, encs, strict=True)
            ]
        texts: list[str] = [str(t) for t in inputs]  # validated as strings by the engine
        encs = tok.encode_batch(texts)
        return [self._collect(t, e, options, None) for t, e in zip(texts, encs, strict=True)]

    def _collect(
        self, text: str, enc: Encoding, options: InferenceOptions, starts: np.ndarray | None
    ) -> EncodedText:
        parts = [enc] if options.truncate else [enc, *enc.overflowing]
        if len(parts) > 1 and not options.allow_windows:
            raise InputTooLong(
                f"input of {len(text)} characters is longer than the model's window of "
                f"{self.max_length} tokens; send truncate=true or enable windows"
            )
        with_word_ids = options.aggregation_strategy is Aggregation.WORD
        built = [_window(p, starts, self._vocab, with_word_ids) for p in parts]
        windows = [w for w, _ in built]
        word_ids = [ids for _, ids in built] if starts is not None else None
        n_words = len(starts) if starts is not None else 0
        return EncodedText(text, windows, word_ids, n_words)

    def _collect_words(
        self, words: list[str], enc: Encoding, options: InferenceOptions
    ) -> EncodedText:
        lengths = np.asarray([len(w) for w in words], dtype=np.int64)
        # Words are joined by single spaces: word i starts after i spaces and all earlier words.
        starts = np.cumsum(np.concatenate(([0], lengths + 1)))[:-1].astype(np.int64)
        encoded = self._collect(" ".join(words), enc, options, starts)
        return replace(encoded, words=tuple(words))
