"""Where words begin, for strategy ``word``: the tokenizer's own words, joined where the text
has no whitespace between them.

The pipeline guesses words from token strings and spaces (a ``##`` prefix for WordPiece, else
"no space before the token"), and the guess breaks for SentencePiece and byte-level BPE
vocabularies (transformers issues #11887, #23322, #27876): a lone ``▁`` token becomes a word,
a piece after a tab or an emoji is glued to the previous word, two words are merged. The
tokenizer already knows its words: its pre-tokenizer splits the text before the model sees
it, and ``Encoding.word_ids`` numbers those words.

Two tokens are in one word when the tokenizer puts them in one word, or when they touch with
no whitespace between them (nor at the start of the second: Metaspace offsets include the
space a ``▁`` stands for). The second rule keeps "U.K." and "4.50" whole for WordPiece and
byte-level tokenizers, whose pre-tokenizers split at punctuation where CoNLL words do not.
"""

from __future__ import annotations

import numpy as np

from .pretokens import PreTokens
from .subwords import continues_whitespace_word
from .tokens import WindowTokens


def continues_word(text: str, window: WindowTokens, pre: PreTokens) -> np.ndarray:
    """bool [m]: token i of ``pre`` continues the word of token i - 1 (see the module doc).

    Without word ids (a window built by hand) the text's whitespace alone decides.
    """
    touching = continues_whitespace_word(text, pre.starts, pre.ends)
    opens_with_space = np.fromiter(
        (
            s < e and text[s].isspace()
            for s, e in zip(pre.starts.tolist(), pre.ends.tolist(), strict=True)
        ),
        dtype=bool,
        count=len(pre),
    )
    joined = touching & ~opens_with_space
    if window.word_ids is None:
        return joined
    words = window.word_ids[pre.positions]  # [m]
    same_word = np.concatenate(([False], (words[1:] == words[:-1]) & (words[1:] >= 0)))
    return same_word | joined
