"""Where words begin, for strategy ``word``: the tokenizer's own word boundaries.

The pipeline guesses words from token strings and spaces (a ``##`` prefix for WordPiece, else
"no space before the token"), and the guess breaks for SentencePiece and byte-level BPE
vocabularies (transformers issues #11887, #23322, #27876): a lone ``▁`` token, a piece whose
offsets include the space, a word the model splits after punctuation. The tokenizer already
knows its words: its pre-tokenizer splits the text before the model sees it, and
``Encoding.word_ids`` numbers those words. A token continues a word when it has the previous
token's word id, and whitespace always separates words (a Metaspace pre-tokenizer splits only
at " ", not at tabs or newlines).
"""

from __future__ import annotations

import numpy as np

from .pretokens import PreTokens
from .subwords import continues_whitespace_word
from .tokens import WindowTokens


def continues_word(text: str, window: WindowTokens, pre: PreTokens) -> np.ndarray:
    """bool [m]: token i of ``pre`` continues the word of token i - 1.

    With the window's word ids: same tokenizer word and no whitespace between. Without them
    (a window built by hand): no whitespace between.
    """
    same_space_word = continues_whitespace_word(text, pre.starts, pre.ends)
    if window.word_ids is None:
        return same_space_word
    words = window.word_ids[pre.positions]  # [m]
    same_word = np.concatenate(([False], (words[1:] == words[:-1]) & (words[1:] >= 0)))
    return same_space_word & same_word
