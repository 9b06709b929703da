"""Entity patterns: phrase rules (like spaCy's EntityRuler) applied after the model.

``Patterns.from_jsonl("patterns.jsonl")`` → give it to ``nerve.load(..., patterns=...)``.
Needs ``pyahocorasick`` (the ``patterns`` extra). See docs/patterns.md.
"""

from __future__ import annotations

from .bundled import BUNDLED_FILE
from .reader import Pattern, read_patterns
from .ruler import DEFAULT_OVERLAP, OVERLAP_POLICIES, Patterns, merge

__all__ = [
    "BUNDLED_FILE",
    "DEFAULT_OVERLAP",
    "OVERLAP_POLICIES",
    "Pattern",
    "Patterns",
    "merge",
    "read_patterns",
]
