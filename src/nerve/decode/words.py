"""Strategy ``word``: what a word is, and which characters at an entity's edges are not part
of it.

A word is a whitespace-delimited run of text, further split where CoNLL-style tokenization
splits it, so that the punctuation around a name never decides the name's label:

- brackets, quotes and dashes that open or close the run: ``(Reuters)``, ``"Federal``,
  ``'Netflix'``, ``[Microsoft]``, ``-based``;
- sentence punctuation at its end (``,;:!?…``) and a final ``.`` unless the word has other
  dots (``Paris.`` → ``Paris``; ``U.K.`` and ``GOOGL.O`` stay whole); the dots of an
  ellipsis are sentence punctuation too (``Paris...`` → ``Paris``, ``U.S...`` → ``U.S.``);
- a trailing possessive ``'s`` / ``’s`` (``Germany's`` → ``Germany``);
- emoji and other symbols (Unicode ``So``/``Sk``, with their joiners), wherever they are,
  and en/em dashes inside a run (``🚀Elon``, ``Reuters—The``);
- a run of CJK ideographs, kana and CJK punctuation, against the letters around it
  (``Tim Cook在Paris。``: ``Cook``, ``在``, ``Paris``, ``。``): text in these scripts has no
  spaces to end a Latin name.

Everything else stays inside the word: hyphens (``555-0132``, ``Franco-German``), inner dots
and apostrophes (``O'Neil``), currency signs (``$1``), ``&``, ``/``, ``@``, ``#``.

Each word is labelled by its first sub-word (``first``), words are grouped as the pipeline
groups them, and ``trim_entity`` then drops the punctuation a group may still have at its
edges (when the model labelled it as part of the entity): quotes, dashes, symbols, sentence
punctuation, possessives, and a bracket whose partner is not inside the entity. So
``(415) 555-0132`` keeps its ``(`` while ``(Reuters`` does not.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import replace

import numpy as np

from ..types import Entity

_OPENERS = "([{<«‹"
_CLOSERS = ")]}>»›"
_PARTNER = dict(zip(_OPENERS + _CLOSERS, _CLOSERS + _OPENERS, strict=True))
_QUOTES = "\"'`´“”„‘’‚"
_DASHES = "-‐‑‒–—―"
_LONG_DASHES = "–—―"  # split a run wherever they are (a hyphen only at its edges)
_SENTENCE = ",;:!?…¿¡"
_LEADING = _OPENERS + _QUOTES + _DASHES + "¿¡"
_TRAILING = _CLOSERS + _QUOTES + _DASHES + _SENTENCE
_JOINERS = "\u200d\ufe0e\ufe0f\u20e3"  # ZWJ, variation selectors, keycap: parts of an emoji
_POSSESSIVE = re.compile(r"[A-Za-z0-9À-ɏ][’']s$", re.IGNORECASE)
_RUN = re.compile(r"\S+")


def _is_symbol(ch: str) -> bool:
    return ch in _JOINERS or unicodedata.category(ch) in ("So", "Sk", "Cs")


def _is_cjk(ch: str) -> bool:
    """A character of the scripts written without spaces: CJK ideographs (the ranges BERT's
    pre-tokenizer splits), kana, and CJK punctuation such as 。 and 、. A Latin name written
    against them ("Tim Cook在Paris。") would otherwise be one word with them."""
    code = ord(ch)
    return (
        0x3000 <= code <= 0x30FF  # CJK punctuation, hiragana, katakana
        or 0x3400 <= code <= 0x4DBF
        or 0x4E00 <= code <= 0x9FFF
        or 0xF900 <= code <= 0xFAFF
        or 0xFF01 <= code <= 0xFF0F  # full-width punctuation ！＂…／
        or 0x20000 <= code <= 0x2FA1F
    )


def _breaks(ch: str) -> bool:
    """Characters that never belong to a neighbouring word: symbols, long dashes and CJK."""
    return ch in _LONG_DASHES or (_is_symbol(ch) and ch not in _QUOTES) or _is_cjk(ch)


def _peel(text: str, start: int, end: int) -> list[tuple[int, int]]:
    """The words of ``text[start:end]`` (no whitespace, no symbols): leading and trailing
    punctuation each become a word of their own."""
    head: list[tuple[int, int]] = []
    tail: list[tuple[int, int]] = []
    while end - start > 1 and text[start] in _LEADING:
        head.append((start, start + 1))
        start += 1
    while end - start > 1:
        last = text[end - 1]
        if last in _TRAILING:
            cut = 1
        elif _POSSESSIVE.search(text, start, end) and end - start > 2:
            cut = 2
        elif last == "." and (
            "." not in text[start : end - 1] or text[end - 2] in _TRAILING + "."
        ):  # a dot after a dot: an ellipsis ("Paris..." → "Paris"; "U.S..." → "U.S.")
            cut = 1
        else:
            break
        tail.append((end - cut, end))
        end -= cut
    return [*head, (start, end), *reversed(tail)]


def _break_positions(text: str, start: int, end: int) -> list[int]:
    """Positions of symbols and long dashes in ``text[start:end]`` (one run)."""
    run = text[start:end]
    if run.isascii():  # "^" is ASCII's only symbol (Sk); "`" is a quote here
        return [start + i for i, ch in enumerate(run) if ch == "^"] if "^" in run else []
    return [i for i in range(start, end) if _breaks(text[i])]


def words_of(text: str, start: int = 0, end: int | None = None) -> list[tuple[int, int]]:
    """(start, end) of every word of strategy ``word`` in ``text[start:end]``, in order."""
    out: list[tuple[int, int]] = []
    for run in _RUN.finditer(text, start, len(text) if end is None else end):
        piece_start = run.start()
        for i in _break_positions(text, run.start(), run.end()):
            if piece_start < i:
                out.extend(_peel(text, piece_start, i))
            # Consecutive symbols (an emoji sequence) form one word, and so do consecutive CJK
            # characters (how a tokenizer splits those differs: WordPiece one by one,
            # SentencePiece in pieces); only where the script changes is a new word.
            if (
                out
                and out[-1][1] == i
                and _breaks(text[out[-1][0]])
                and _is_cjk(text[i]) == _is_cjk(text[out[-1][0]])
            ):
                out[-1] = (out[-1][0], i + 1)
            else:
                out.append((i, i + 1))
            piece_start = i + 1
        if piece_start < run.end():
            out.extend(_peel(text, piece_start, run.end()))
    return out


def continues_word(text: str, starts: np.ndarray, ends: np.ndarray) -> np.ndarray:
    """bool [m]: token i continues the word that token i - 1 ends in.

    True when token i starts inside the word holding token i - 1's last character; a token
    that starts in whitespace, or the first token, always opens a word. Only the whitespace
    runs the tokens touch are segmented.
    """
    m = starts.shape[0]
    if m == 0:
        return np.zeros(0, dtype=bool)
    lasts = np.maximum(ends - 1, starts)  # [m] each token's last character
    lo, hi = int(starts.min()), min(int(lasts.max()) + 1, len(text))
    while lo > 0 and not text[lo - 1].isspace():  # segment whole runs only
        lo -= 1
    while hi < len(text) and not text[hi].isspace():
        hi += 1
    words = np.asarray(words_of(text, lo, hi) or [(0, 0)], dtype=np.int64)  # [w, 2]

    def word_of(pos: np.ndarray) -> np.ndarray:
        idx = np.searchsorted(words[:, 0], pos, side="right") - 1  # [m]
        inside = (idx >= 0) & (pos < words[np.maximum(idx, 0), 1])
        return np.where(inside, idx, -1)

    opened = word_of(starts)
    held = word_of(lasts)
    same = (opened[1:] >= 0) & (opened[1:] == held[:-1])
    return np.concatenate(([False], same))


def _closes_at(span: str) -> int:
    """Where the bracket that opens ``span`` is closed (-1: not inside ``span``)."""
    opener, closer, depth = span[0], _PARTNER[span[0]], 0
    for i, ch in enumerate(span):
        depth += (ch == opener) - (ch == closer)
        if depth == 0:
            return i
    return -1


def _strip_once(span: str) -> tuple[int, int]:
    """How many characters to drop from the front and the back of ``span`` (one step)."""
    first, last = span[0], span[-1]
    if first in _OPENERS and _closes_at(span) == len(span) - 1:
        return 1, 1  # one pair of brackets around all of it: "(Reuters)"
    if first.isspace() or _is_symbol(first) or first in _QUOTES + _DASHES + "¿¡":
        return 1, 0
    if first in _OPENERS and span.count(_PARTNER[first]) < span.count(first):
        return 1, 0
    if (
        last.isspace()
        or _is_symbol(last)
        or last in _QUOTES + _DASHES + _SENTENCE
        or (_is_cjk(last) and unicodedata.category(last).startswith("P"))  # 。、
    ):
        return 0, 1
    if last in _CLOSERS and span.count(_PARTNER[last]) < span.count(last):
        return 0, 1
    if _POSSESSIVE.search(span) and len(span) > 2:
        return 0, 2
    if last == "." and ("." not in span[:-1] or (len(span) > 1 and span[-2] in _CLOSERS + ".")):
        return 0, 1
    return 0, 0


def trim_entity(text: str, entity: Entity) -> Entity:
    """Drop the punctuation at the edges of a ``word`` entity (see the module doc); its
    ``word`` becomes the surface text. An entity that is nothing but punctuation is kept."""
    start, end = entity.start, entity.end
    while end - start > 1:
        front, back = _strip_once(text[start:end])
        if not front and not back:
            break
        start, end = start + front, end - back
    if end - start == 1 and not text[start].isalnum() and entity.end - entity.start > 1:
        return entity
    return replace(entity, start=start, end=end, word=text[start:end])
