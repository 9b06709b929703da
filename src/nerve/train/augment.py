"""Extra training sentences for text that is not CoNLL news: symbol noise and negatives.

Both are made from the training sentences themselves (nothing from dev or test), seeded, and
kept small next to the real data: they teach what CoNLL lacks, not a new distribution.

- Symbol noise: copies of sentences with emoji and symbols inserted between words as ``O``
  (social-media text puts them next to names; an uncased WordPiece vocabulary turns most emoji
  into ``[UNK]``, which the model has otherwise never seen next to an entity).
- Negatives: short runs of consecutive ``O`` words cut out of training sentences ("kept rates
  steady", "said on Tuesday"), so that a short input without a name is not forced to hold one.
"""

from __future__ import annotations

import random
from collections.abc import Sequence

from ..data.conll import Sentence, to_iob2

# Emoji and symbols seen around names in chat, social media and product text.
SYMBOLS = (
    "🚀", "🔥", "👉", "✅", "💡", "📈", "🎉", "⚡", "😀", "👍", "🙏", "🇺🇸", "❤️", "⭐",
    "★", "•", "→", "✓", "♦", "©", "®", "™", "#", "*", "|", ">>", "~", "...",
)  # fmt: skip


def symbol_noise(
    sentences: Sequence[Sentence], rng: random.Random, fraction: float
) -> list[Sentence]:
    """Copies of a ``fraction`` of the sentences with 1–2 symbols inserted as ``O`` words.

    Where a symbol goes: at the start (posts that open with an emoji) or right before or
    after an entity (where it changes what the model sees next to a name) more often than
    anywhere else; never where the next word continues an entity (an ``O`` between ``B-PER``
    and ``I-PER`` would split the name in IOB2). Tags are made IOB2 first.
    """
    out: list[Sentence] = []
    for sentence in sentences:
        if rng.random() >= fraction:
            continue
        words, tags = list(sentence.words), to_iob2(sentence.tags)
        for _ in range(rng.randint(1, 2)):
            at = _slot(tags, rng)
            words.insert(at, rng.choice(SYMBOLS))
            tags.insert(at, "O")
        out.append(Sentence(tuple(words), tuple(tags), sentence.line, sentence.document))
    return out


def _slot(tags: list[str], rng: random.Random) -> int:
    n = len(tags)
    allowed = [i for i in range(n + 1) if i == n or tags[i][:2] != "I-"]
    # Before an entity's first word, or after its last one.
    edges = [i for i in allowed if (i < n and tags[i][:2] == "B-") or (i and tags[i - 1] != "O")]
    roll = rng.random()
    if roll < 0.4:
        return 0
    if roll < 0.8 and edges:
        return rng.choice(edges)
    return rng.choice(allowed)


def negatives(sentences: Sequence[Sentence], rng: random.Random, count: int) -> list[Sentence]:
    """Up to ``count`` runs of 2–6 consecutive ``O`` words (no entity), from random sentences."""
    runs: list[Sentence] = []
    for sentence in sentences:
        start = None
        for i, tag in enumerate([*sentence.tags, "B-END"]):
            if tag == "O" and start is None:
                start = i
            elif tag != "O" and start is not None:
                if i - start >= 2:
                    runs.append(_cut(sentence, start, i))
                start = None
    rng.shuffle(runs)
    out: list[Sentence] = []
    for run in runs[:count]:
        n = rng.randint(2, min(6, len(run.words)))
        at = rng.randint(0, len(run.words) - n)
        out.append(_cut(run, at, at + n))
    return out


def _cut(sentence: Sentence, start: int, end: int) -> Sentence:
    return Sentence(
        sentence.words[start:end], sentence.tags[start:end], sentence.line, sentence.document
    )
