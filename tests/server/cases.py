"""Texts the server tests send, and how to compare server answers with the Python API."""

from __future__ import annotations

STRATEGIES = ("none", "simple", "first", "average", "max")

TEXTS = [
    "Apple is looking at buying U.K. startup for $1 billion",
    "Mozilla is headquartered in San Fancisco, CA",
    "Yvon Chouinard founded Patagonia in 1957.",
    "The Eiffel Tower is located in Paris, France.",
    "Zürich and São Paulo are cities; café crème costs 4.50 euros.",
    "東京 is the capital of Japan 😀 and 北京 of China.",
    "",
]

# Longer than the tiny model's 64-token window: served through overlapping windows.
LONG_TEXT = " ".join(
    ["Peter Blackburn met Angela Merkel in Berlin on Monday."] * 6
    + ["Tim Cook presented the new iPhone at Apple Park in California."] * 4
)
