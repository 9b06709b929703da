"""nerve's ``word`` strategy: words split at the punctuation around them, entities trimmed
of it (issue 12, item 3). Hand-made tokens and probabilities, no model."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pytest
from tokenizers import decoders

from nerve.decode import DecodeContext, WindowTokens, decode_window
from nerve.decode.words import continues_word, trim_entity, words_of
from nerve.types import Entity

BIO = ("O", "B-MISC", "I-MISC", "B-PER", "I-PER", "B-ORG", "I-ORG", "B-LOC", "I-LOC")
CTX = DecodeContext(BIO, True, 1, decoders.WordPiece(prefix="##", cleanup=True).decode)


def words(text: str) -> list[str]:
    return [text[s:e] for s, e in words_of(text)]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            'WASHINGTON (Reuters) - The "Federal Reserve" kept rates.',
            ["WASHINGTON", "(", "Reuters", ")", "-", "The", '"', "Federal", "Reserve", '"']
            + ["kept", "rates", "."],
        ),
        (
            "[Microsoft] {Google} 'Netflix' (GOOGL.O)",
            ["[", "Microsoft", "]", "{", "Google", "}", "'", "Netflix", "'", "(", "GOOGL.O", ")"],
        ),
        ("🚀Elon Musk", ["🚀", "Elon", "Musk"]),
        ("Germany's and Britain’s", ["Germany", "'s", "and", "Britain", "’s"]),
        ("U.K. and $1, St. Paul", ["U.K.", "and", "$1", ",", "St", ".", "Paul"]),
        ("(415) 555-0132.", ["(", "415", ")", "555-0132", "."]),
        (
            "Reuters—The 👩\u200d👩\u200d👧family",
            ["Reuters", "—", "The", "👩\u200d👩\u200d👧", "family"],
        ),
        ("O'Neil, Franco-German (U.K.).", ["O'Neil", ",", "Franco-German", "(", "U.K.", ")", "."]),
        # Text without spaces: a run of CJK characters is a word apart from the letters.
        ("Tim Cook在Paris。", ["Tim", "Cook", "在", "Paris", "。"]),
        ("東京でTim Cookに会った。", ["東京で", "Tim", "Cook", "に会った。"]),
        # An ellipsis is sentence punctuation, after a name or an abbreviation.
        ("Paris... the U.S...", ["Paris", ".", ".", ".", "the", "U.S.", ".", "."]),
    ],
)
def test_words_split_at_surrounding_punctuation(text: str, expected: list[str]) -> None:
    assert words(text) == expected


def test_token_continues_a_word_only_inside_it() -> None:
    text = "(Reuters) U.K.\tSan  Francisco,"
    # ( Re ##uters ) | U . K . | San | Francisco ,
    starts = np.array([0, 1, 3, 8, 10, 11, 12, 13, 15, 20, 29])
    ends = np.array([1, 3, 8, 9, 11, 12, 13, 14, 18, 29, 30])
    assert continues_word(text, starts, ends).tolist() == [
        False,  # (
        False,  # Re: a new word after "("
        True,  # ##uters
        False,  # )
        False,  # U
        True,  # .
        True,  # K
        True,  # .
        False,  # San
        False,  # Francisco
        False,  # ,
    ]


def _span(text: str, sub: str) -> Entity:
    s = text.index(sub)
    return Entity(label="X", score=1.0, start=s, end=s + len(sub), word=sub)


@pytest.mark.parametrize(
    ("text", "span", "kept"),
    [
        ("(Reuters) said", "(Reuters)", "Reuters"),
        ("call (415) 555-0132 now", "(415) 555-0132", "(415) 555-0132"),
        ("call (415) now", "(415)", "415"),
        ("call (415) 555-0132) now", "(415) 555-0132)", "(415) 555-0132"),
        ('the "Bonn", office', '"Bonn",', "Bonn"),
        ("in California.", "California.", "California"),
        ("the U.K. said", "U.K.", "U.K."),
        ("Visit Paris...", "Paris...", "Paris"),
        ("left the U.S...", "U.S...", "U.S."),
        ("Germany's chancellor", "Germany's", "Germany"),
        ("🚀Elon Musk", "🚀Elon Musk", "Elon Musk"),
        ("paid $1 billion", "$1", "$1"),
        ("- The Fed", "- The Fed", "The Fed"),
    ],
)
def test_entity_edges_lose_their_punctuation(text: str, span: str, kept: str) -> None:
    trimmed = trim_entity(text, _span(text, span))
    assert text[trimmed.start : trimmed.end] == kept and trimmed.word == kept


def _window(text: str, tokens: Sequence[str]) -> WindowTokens:
    """[CLS] tokens [SEP] with WordPiece-like offsets found left to right in ``text``."""
    offsets, at = [], 0
    for tok in tokens:
        surface = tok[2:] if tok.startswith("##") else tok
        start = text.index(surface, at)
        offsets.append((start, start + len(surface)))
        at = start + len(surface)
    n = len(tokens)
    return WindowTokens(
        ids=[2] + [100 + i for i in range(n)] + [3],
        offsets=[(0, 0), *offsets, (0, 0)],
        special=[True] + [False] * n + [True],
        tokens=["[CLS]", *tokens, "[SEP]"],
    )


def _probs(labels: Sequence[str]) -> np.ndarray:
    rows = np.full((len(labels) + 2, len(BIO)), 0.01, dtype=np.float32)
    for i, label in enumerate(labels, 1):
        rows[i, BIO.index(label)] = 0.92
    return rows


def _decode(text: str, tokens: Sequence[str], labels: Sequence[str]) -> list[tuple[str, str]]:
    window = _window(text, tokens)
    got = decode_window(text, window, _probs(labels), "word", CTX)
    return [(e.label, text[e.start : e.end]) for e in got if e.label != "O"]


def test_every_subword_labelled_keeps_a_bracketed_number_whole() -> None:
    # A model that labels every sub-word (all of it MISC here): the "(" stays, because its
    # ")" is inside the entity; the sentence's final "." does not.
    text = "Call (415) 555-0132."
    tokens = ["Call", "(", "415", ")", "555", "-", "01", "##32", "."]
    labels = ["O", "B-MISC"] + ["I-MISC"] * 7
    assert _decode(text, tokens, labels) == [("MISC", "(415) 555-0132")]


def test_first_subword_model_finds_names_inside_punctuation() -> None:
    # CoNLL-style labels (punctuation O): the name inside brackets and quotes is found, which
    # whitespace words labelled by their first piece ("(" or '"') lost.
    text = 'WASHINGTON (Reuters) - The "Federal Reserve"'
    tokens = ["WA", "##SHING", "##TON", "(", "Re", "##uters", ")", "-", "The", '"']
    tokens += ["Federal", "Reserve", '"']
    labels = ["B-LOC", "O", "O", "O", "B-ORG", "O", "O", "O", "O", "O", "B-ORG", "I-ORG", "O"]
    assert _decode(text, tokens, labels) == [
        ("LOC", "WASHINGTON"),
        ("ORG", "Reuters"),
        ("ORG", "Federal Reserve"),
    ]


def test_possessive_and_emoji_stay_outside_the_name() -> None:
    text = "🚀Elon Musk met Germany's chancellor"
    tokens = ["[UNK]", "El", "##on", "Mu", "##sk", "met", "Germany", "'", "s", "chancellor"]
    window = _window(text.replace("🚀", "\x00"), [t if t != "[UNK]" else "\x00" for t in tokens])
    window = WindowTokens(window.ids, window.offsets, window.special, ["[CLS]", *tokens, "[SEP]"])
    labels = ["B-PER", "I-PER", "I-PER", "I-PER", "I-PER", "O", "B-LOC", "I-LOC", "I-LOC", "O"]
    got = decode_window(text, window, _probs(labels), "word", CTX)
    assert [(e.label, text[e.start : e.end]) for e in got if e.label != "O"] == [
        ("PER", "Elon Musk"),
        ("LOC", "Germany"),
    ]
