"""Texts that break naive NER decoders (see transformers issues #11887, #23322, #27876)."""

from __future__ import annotations

TRICKY_TEXTS = [
    "Apple is looking at buying U.K. startup for $1 billion",
    "Mozilla is headquartered in San Fancisco, CA",
    "  leading and trailing spaces  ",
    "Punctuation!!! (inside) [brackets], 'quotes' and \"double\"; semi:colon...",
    "Numbers 1,234.56 and 2026-11-22 and 3rd and 42nd.",
    "Zürich, São Paulo, Kraków and Ångström — accents everywhere.",
    "Emoji 😀 in 🇫🇷 Paris and 👩‍👩‍👧 families.",
    "東京 and 北京 are CJK; 서울 is Korean.",
    "New York New York New York repeated repeated repeated.",
    "Peter Blackburn met Angela Merkel in Berlin on Monday.",
    "a",
    "",
    "Tabs\tand\nnewlines\r\nmixed in.",
    "U.S.A. vs. U.K. at the U.N. in N.Y.C.",
    "x" * 40 + " very long unknown word",
    # Special tokens written in the text: RoBERTa numbers positions from the ids, so a literal
    # "<pad>" must not count (the pipeline's answer changed from it on).
    "Hello <pad> world in Paris, [PAD] and <s> with </s> [CLS] too.",
]

# Longer than the tiny models' 64-token window: exercises windows with stride.
LONG_TEXT = " ".join(
    [
        "Yvon Chouinard founded Patagonia in 1957.",
        "The Eiffel Tower is located in Paris, France.",
        "EU rejects German call to boycott British lamb.",
        "Tim Cook presented the new iPhone at Apple Park in California.",
        "Marie Curie won the Nobel Prize in Physics in 1903!",
        "Zürich and São Paulo are cities; café crème costs 4.50 euros.",
    ]
    * 3
)
