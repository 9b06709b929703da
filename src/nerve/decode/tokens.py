"""The inputs of decoding: one tokenized window, and what decoding needs to know of a model."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from ..errors import InvalidInput

if TYPE_CHECKING:
    import tokenizers


@dataclass(frozen=True)
class WindowTokens:
    """One tokenized window (special tokens included) of one text.

    Arrays are coerced to the documented dtypes on construction, so callers may pass lists.
    """

    ids: np.ndarray  # int64 [n_tokens]
    # Unicode code-point offsets into the ORIGINAL text, (0, 0) for specials: int64 [n_tokens, 2]
    offsets: np.ndarray
    special: np.ndarray  # bool [n_tokens]; padding counts as special, as in the pipeline
    tokens: list[str]  # vocabulary strings (the pipeline's convert_ids_to_tokens)
    # The tokenizer's own word of each token (its pre-tokenizer's split, ``Encoding.word_ids``;
    # -1 for specials): int64 [n_tokens], or None where not computed. Strategy ``word`` uses it.
    word_ids: np.ndarray | None = None

    def __post_init__(self) -> None:
        ids = np.asarray(self.ids, dtype=np.int64).reshape(-1)
        offsets = np.asarray(self.offsets, dtype=np.int64).reshape(-1, 2)
        special = np.asarray(self.special, dtype=bool).reshape(-1)
        n = ids.shape[0]
        if offsets.shape[0] != n or special.shape[0] != n or len(self.tokens) != n:
            raise InvalidInput(
                f"window arrays disagree: {n} ids, {offsets.shape[0]} offsets, "
                f"{special.shape[0]} special flags, {len(self.tokens)} tokens"
            )
        object.__setattr__(self, "ids", ids)
        object.__setattr__(self, "offsets", offsets)
        object.__setattr__(self, "special", special)
        object.__setattr__(self, "tokens", list(self.tokens))
        if self.word_ids is not None:
            word_ids = np.asarray(self.word_ids, dtype=np.int64).reshape(-1)
            if word_ids.shape[0] != n:
                raise InvalidInput(f"window arrays disagree: {n} ids, {word_ids.shape[0]} word ids")
            object.__setattr__(self, "word_ids", word_ids)

    def __len__(self) -> int:
        return int(self.ids.shape[0])

    @classmethod
    def built(
        cls,
        ids: np.ndarray,
        offsets: np.ndarray,
        special: np.ndarray,
        tokens: list[str],
        word_ids: np.ndarray | None = None,
    ) -> WindowTokens:
        """A window from arrays its builder made with the documented dtypes and shapes (the
        text encoder): no coercion and no checks. For short texts those cost a fifth of
        tokenizing (measured per CoNLL sentence), and the encoder's arrays never need them."""
        window = object.__new__(cls)
        object.__setattr__(window, "ids", ids)
        object.__setattr__(window, "offsets", offsets)
        object.__setattr__(window, "special", special)
        object.__setattr__(window, "tokens", tokens)
        object.__setattr__(window, "word_ids", word_ids)
        return window

    @classmethod
    def from_encoding(
        cls,
        encoding: tokenizers.Encoding,
        id_to_token: Callable[[int], str | None],
        *,
        with_word_ids: bool = False,
    ) -> WindowTokens:
        """One window from a ``tokenizers`` Encoding (offsets are code points for ``str`` input).

        Token strings come from the vocabulary by id, as the pipeline's ``convert_ids_to_tokens``
        does: ``Encoding.tokens`` is not the same thing, because for an unknown piece of a Unigram
        tokenizer it holds the surface text instead of the vocabulary's unk entry.
        """
        ids = np.asarray(encoding.ids, dtype=np.int64)
        return cls(
            ids=ids,
            offsets=np.asarray(encoding.offsets, dtype=np.int64).reshape(-1, 2),
            special=np.asarray(encoding.special_tokens_mask, dtype=bool),
            tokens=[id_to_token(int(i)) or "" for i in ids],
            word_ids=encoding_word_ids(encoding) if with_word_ids else None,
        )


def encoding_word_ids(encoding: tokenizers.Encoding) -> np.ndarray:
    """``Encoding.word_ids`` as int64 with -1 for specials (None → NaN → -1, no Python loop)."""
    words = np.array(encoding.word_ids, dtype=np.float64)
    return np.nan_to_num(words, nan=-1.0).astype(np.int64)


def split_tag(label: str) -> tuple[bool, str]:
    """The pipeline's ``get_tag``: (is ``B-``, type). A label without B-/I- counts as ``I-``."""
    if label.startswith("B-"):
        return True, label[2:]
    if label.startswith("I-"):
        return False, label[2:]
    return False, label


def _space_join(tokens: list[str]) -> str:
    return " ".join(tokens)


@dataclass(frozen=True)
class DecodeContext:
    """What decoding needs to know of one model; built once at load.

    ``join_tokens`` is the pipeline's ``tokenizer.convert_tokens_to_string``. In transformers 5
    (``TokenizersBackend.convert_tokens_to_string``) that is exactly
    ``backend_tokenizer.decoder.decode(tokens)``, or ``" ".join(tokens)`` when the backend has
    no decoder. No ``clean_up_tokenization`` runs there (only ``decode(ids)`` applies it); the
    only clean-up is whatever the decoder does itself (e.g. ``decoders.WordPiece(cleanup=True)``
    turns ``"a ."`` into ``"a."``).
    """

    labels: tuple[str, ...]  # id2label in id order
    # True when the tokenizers model has a truthy ``continuing_subword_prefix`` (WordPiece "##"):
    # a token is a sub-word when its string is not as long as its surface text. False: the
    # pipeline's space heuristic (start > 0 and no " " in text[start-1:start+1]).
    wordpiece_subwords: bool
    # Tokens with this id take their surface text as word and always start a word.
    unk_id: int | None
    join_tokens: Callable[[list[str]], str] = _space_join

    # Per label id, derived once: [n_labels] arrays and names (not part of equality).
    begin_mask: np.ndarray = field(init=False, repr=False, compare=False)  # bool: label is B-*
    tag_ids: np.ndarray = field(init=False, repr=False, compare=False)  # int64: get_tag type id
    group_names: tuple[str, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        labels = tuple(str(label) for label in self.labels)
        if not labels:
            raise InvalidInput("a model needs at least one label")
        split = [split_tag(label) for label in labels]
        tag_index: dict[str, int] = {}
        tag_ids = [tag_index.setdefault(tag, len(tag_index)) for _, tag in split]
        object.__setattr__(self, "labels", labels)
        object.__setattr__(self, "begin_mask", np.array([b for b, _ in split], dtype=bool))
        object.__setattr__(self, "tag_ids", np.array(tag_ids, dtype=np.int64))
        # The pipeline names a group by ``label.split("-", 1)[-1]`` of its first member, which
        # is NOT get_tag's type: "E-PER" -> "PER", "DATE-TIME" -> "TIME" (while grouping still
        # compares "E-PER" / "DATE-TIME" as whole types).
        object.__setattr__(self, "group_names", tuple(lb.split("-", 1)[-1] for lb in labels))

    @classmethod
    def from_tokenizer(
        cls,
        tokenizer: tokenizers.Tokenizer,
        labels: Sequence[str],
        unk_token: str | None,
    ) -> DecodeContext:
        """Read the sub-word rule, the unknown token id and the decoder from a tokenizer.

        ``unk_token`` must be the transformers tokenizer's ``unk_token`` (tokenizer_config.json /
        special_tokens_map.json), which is what the pipeline compares ids with; it can differ
        from the tokenizers model's own ``unk_token`` (byte-level BPE models often have none).
        """
        model: Any = tokenizer.model
        wordpiece = bool(getattr(model, "continuing_subword_prefix", None))
        unk_id = tokenizer.token_to_id(unk_token) if unk_token is not None else None
        decoder = tokenizer.decoder
        join: Callable[[list[str]], str] = decoder.decode if decoder is not None else _space_join
        return cls(
            labels=tuple(labels), wordpiece_subwords=wordpiece, unk_id=unk_id, join_tokens=join
        )
