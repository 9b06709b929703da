"""Find phrase patterns in a text with Aho-Corasick automata (pyahocorasick).

One automaton holds the case-sensitive patterns, a second the case-insensitive ones (keyed by
their case-folded form, searched in the case-folded text). A scan costs time linear in the
text plus the raw matches, whatever the number of patterns, so 100,000 patterns cost about
what 10 do. A raw match is kept only when it starts and ends at word boundaries (no "Paris"
inside "Parisian"), and overlapping matches resolve to the longest, then the leftmost.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from ..errors import DataError, MissingExtra
from .reader import Pattern


@dataclass(frozen=True, slots=True)
class Match:
    start: int  # code-point offsets into the text
    end: int
    pattern: Pattern


def fold(text: str) -> str:
    """Lower-case ``text`` without changing its length, so offsets in the folded text are
    offsets in the original. (A few characters lower-case to two code points, e.g. "İ";
    they are left as they are.)"""
    lowered = text.lower()
    if len(lowered) == len(text):
        return lowered
    return "".join(c.lower() if len(c.lower()) == 1 else c for c in text)


def _is_word_char(c: str) -> bool:
    return c.isalnum() or c == "_"


def at_word_boundaries(text: str, start: int, end: int) -> bool:
    """True unless the match cuts a word: a word character on both sides of either edge."""
    if start > 0 and _is_word_char(text[start - 1]) and _is_word_char(text[start]):
        return False
    return not (end < len(text) and _is_word_char(text[end - 1]) and _is_word_char(text[end]))


def _automaton(patterns: dict[str, Pattern]) -> Any:
    try:
        import ahocorasick
    except ImportError:
        raise MissingExtra("pyahocorasick", "patterns", "entity patterns") from None
    automaton = ahocorasick.Automaton()
    for key, pattern in patterns.items():
        automaton.add_word(key, (len(key), pattern))
    automaton.make_automaton()
    return automaton


class PhraseMatcher:
    """All non-overlapping, word-bounded pattern matches of a text."""

    def __init__(self, patterns: Sequence[Pattern]) -> None:
        exact: dict[str, Pattern] = {}
        folded: dict[str, Pattern] = {}
        for p in patterns:
            table, key = (folded, fold(p.text)) if p.ignore_case else (exact, p.text)
            seen = table.get(key)
            if seen is not None and seen.label != p.label:
                raise DataError(
                    f"{p.where}: pattern {p.text!r} is already labelled {seen.label} at "
                    f"{seen.where}; one phrase gets one label"
                )
            table.setdefault(key, p)
        self._exact = _automaton(exact) if exact else None
        self._folded = _automaton(folded) if folded else None

    def matches(self, text: str) -> list[Match]:
        found: list[Match] = []
        if self._exact is not None:
            found += _bounded(self._exact, text, text)
        if self._folded is not None:
            found += _bounded(self._folded, fold(text), text)
        return longest_first(found)


def _bounded(automaton: Any, haystack: str, text: str) -> list[Match]:
    """The automaton's matches in ``haystack`` (``text`` or its fold: same offsets) that
    start and end at word boundaries of ``text``."""
    found = []
    for last, (length, pattern) in automaton.iter(haystack):
        start, end = last - length + 1, last + 1
        if at_word_boundaries(text, start, end):
            found.append(Match(start, end, pattern))
    return found


def longest_first(matches: list[Match]) -> list[Match]:
    """Non-overlapping matches: longer beats shorter, then earlier beats later; by start."""
    if len(matches) < 2:
        return matches
    taken = bytearray(max(m.end for m in matches))  # 1 where a kept match covers the char
    kept: list[Match] = []
    for m in sorted(matches, key=lambda m: (m.start - m.end, m.start)):
        if not any(taken[m.start : m.end]):
            taken[m.start : m.end] = b"\x01" * (m.end - m.start)
            kept.append(m)
    return sorted(kept, key=lambda m: m.start)
