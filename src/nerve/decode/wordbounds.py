"""What the tokenizer knows about words that the text alone does not: its blank pieces.

Strategy ``word`` finds words in the text itself (``words.py``: whitespace, then brackets,
quotes, possessives and sentence punctuation split off). One thing the text cannot tell is
where a SentencePiece (Metaspace) tokenizer's lone ``▁`` piece belongs: its offsets cover the
space before a word, so by the text it is a "word" of one blank. The pipeline's guess from
token strings has the same trouble the other way round (a lone ``▁`` becomes a word, or glues
to its neighbour; transformers issues #11887, #23322, #27876). The tokenizer already knows:
its pre-tokenizer put the ``▁`` and the word after it in one word (``Encoding.word_ids``), so
a blank piece joins the token the tokenizer gives the same word.
"""

from __future__ import annotations

import numpy as np

from .pretokens import PreTokens
from .tokens import WindowTokens


def joins_blank_piece(text: str, window: WindowTokens, pre: PreTokens) -> np.ndarray:
    """bool [m]: token i continues token i - 1 because token i - 1 is a blank piece (only
    whitespace) that the tokenizer puts in the same word as token i."""
    m = len(pre)
    if window.word_ids is None or m < 2:
        return np.zeros(m, dtype=bool)
    blank = np.fromiter(
        (
            not text[s:e].strip()
            for s, e in zip(pre.starts.tolist(), pre.ends.tolist(), strict=True)
        ),
        dtype=bool,
        count=m,
    )
    words = window.word_ids[pre.positions]  # [m]
    same_word = (words[1:] == words[:-1]) & (words[1:] >= 0)
    return np.concatenate(([False], same_word & blank[:-1]))
