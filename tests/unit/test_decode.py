"""Hand-made cases for nerve.decode: grouping, word aggregation, windows, word labels."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import pytest
from tokenizers import Tokenizer, decoders, models

from nerve.decode import (
    DecodeContext,
    WindowTokens,
    decode_text,
    decode_window,
    filter_ignored,
    first_subword_labels,
    merge_windows,
    softmax,
    split_tag,
)
from nerve.errors import InvalidInput
from nerve.types import Entity

BIO = ("O", "B-MISC", "I-MISC", "B-PER", "I-PER", "B-ORG", "I-ORG", "B-LOC", "I-LOC")
WORDPIECE = DecodeContext(BIO, True, 1, decoders.WordPiece(prefix="##", cleanup=True).decode)
HEURISTIC = DecodeContext(BIO, False, 1)  # no decoder: words are joined by spaces

Piece = tuple[str, int, int]  # token string, start, end


def window(pieces: Sequence[Piece], unk: Sequence[int] = ()) -> WindowTokens:
    """[CLS] pieces [SEP]; ids are 100 + position, except positions in ``unk`` (id 1)."""
    n = len(pieces) + 2
    ids = [2] + [1 if i + 1 in unk else 100 + i + 1 for i in range(len(pieces))] + [3]
    offsets = [(0, 0)] + [(s, e) for _, s, e in pieces] + [(0, 0)]
    special = [True] + [False] * len(pieces) + [True]
    tokens = ["[CLS]"] + [t for t, _, _ in pieces] + ["[SEP]"]
    assert len(ids) == n
    return WindowTokens(ids, offsets, special, tokens)


def pieces_of(text: str, tokens: Sequence[str]) -> list[Piece]:
    """Offsets of WordPiece-like tokens found left to right in ``text``."""
    out, at = [], 0
    for tok in tokens:
        surface = tok[2:] if tok.startswith("##") else tok
        start = text.index(surface, at)
        out.append((tok, start, start + len(surface)))
        at = start + len(surface)
    return out


def probs(labels: Sequence[str], top: Sequence[float] | float = 0.9) -> np.ndarray:
    """[CLS] + one row per label + [SEP]: ``top`` on the label, the rest spread evenly."""
    tops = [top] * len(labels) if isinstance(top, float) else list(top)
    rows = [np.full(len(BIO), 1.0 / len(BIO))]
    for label, p in zip(labels, tops, strict=True):
        row = np.full(len(BIO), (1.0 - p) / (len(BIO) - 1))
        row[BIO.index(label)] = p
        rows.append(row)
    rows.append(np.full(len(BIO), 1.0 / len(BIO)))
    return np.asarray(rows, dtype=np.float32)


def triples(entities: Sequence[Entity]) -> list[tuple[str, str, int, int]]:
    return [(e.label, e.word, e.start, e.end) for e in entities]


def f32_mean(*xs: float) -> float:
    return float(np.float32(np.mean(np.asarray(xs, dtype=np.float32))))


# ----------------------------------------------------------------------------- simple


TEXT = "John Smith lives in New York"
TOKENS = ["John", "Smith", "lives", "in", "New", "York"]


def test_simple_groups_b_with_following_i() -> None:
    labels = ["B-PER", "I-PER", "O", "O", "B-LOC", "I-LOC"]
    scores = probs(labels, [0.9, 0.7, 0.8, 0.8, 0.6, 0.5])
    got = decode_window(TEXT, window(pieces_of(TEXT, TOKENS)), scores, "simple", WORDPIECE)
    assert triples(got) == [
        ("PER", "John Smith", 0, 10),
        ("O", "lives in", 11, 19),
        ("LOC", "New York", 20, 28),
    ]
    assert got[0].score == pytest.approx(f32_mean(0.9, 0.7), abs=1e-7)
    assert got[2].score == pytest.approx(f32_mean(0.6, 0.5), abs=1e-7)
    assert all(type(e.score) is float and e.index is None for e in got)


def test_b_after_b_splits_and_type_change_splits() -> None:
    labels = ["B-PER", "B-PER", "O", "O", "I-PER", "I-LOC"]
    got = decode_window(TEXT, window(pieces_of(TEXT, TOKENS)), probs(labels), "simple", WORDPIECE)
    assert triples(got) == [
        ("PER", "John", 0, 4),
        ("PER", "Smith", 5, 10),
        ("O", "lives in", 11, 19),
        ("PER", "New", 20, 23),  # I- after another type opens a group
        ("LOC", "York", 24, 28),
    ]


def test_labels_without_bio_prefix_count_as_inside() -> None:
    labels = ("O", "PER", "B-PER", "DATE-TIME", "E-ORG", "I-ORG")
    ctx = DecodeContext(labels, True, None)
    text = "a b c d e f g h"
    pieces = pieces_of(text, text.split())
    seq = ["PER", "PER", "B-PER", "PER", "DATE-TIME", "DATE-TIME", "E-ORG", "I-ORG"]
    scores = np.eye(len(labels), dtype=np.float32)[[0] + [labels.index(s) for s in seq] + [0]]
    got = decode_window(text, window(pieces), scores, "simple", ctx)
    assert triples(got) == [
        ("PER", "a b", 0, 3),  # "PER" continues "PER"
        ("PER", "c d", 4, 7),  # "B-PER" splits, then "PER" (= I-PER) joins it
        # named by label.split("-", 1)[-1], not by the B-/I- rule: "DATE-TIME" -> "TIME"
        ("TIME", "e f", 8, 11),
        # "E-ORG" and "I-ORG" differ as types ("E-ORG" vs "ORG") yet both are named "ORG"
        ("ORG", "g", 12, 13),
        ("ORG", "h", 14, 15),
    ]


def test_split_tag() -> None:
    assert split_tag("B-PER") == (True, "PER")
    assert split_tag("I-PER") == (False, "PER")
    assert split_tag("PER") == (False, "PER")
    assert split_tag("E-PER") == (False, "E-PER")


def test_none_reports_every_token_with_full_label() -> None:
    text = "Micro soft"
    w = window([("Mi", 0, 2), ("##cro", 2, 5), ("soft", 6, 10)])
    got = decode_window(text, w, probs(["B-ORG", "I-ORG", "O"], 0.75), "none", WORDPIECE)
    assert [(e.label, e.word, e.index, e.token_id, e.start, e.end) for e in got] == [
        ("B-ORG", "Mi", 1, 101, 0, 2),
        ("I-ORG", "##cro", 2, 102, 2, 5),
        ("O", "soft", 3, 103, 6, 10),
    ]
    assert [e.score for e in got] == [float(np.float32(0.75))] * 3


def test_only_special_tokens_give_nothing() -> None:
    for strategy in ("none", "simple", "first", "average", "max"):
        assert decode_window("", window([]), probs([]), strategy, WORDPIECE) == []


def test_scores_must_fit_the_window() -> None:
    with pytest.raises(InvalidInput):
        decode_window(TEXT, window(pieces_of(TEXT, TOKENS)), probs(["O"]), "simple", WORDPIECE)


def test_window_arrays_must_agree() -> None:
    with pytest.raises(InvalidInput):
        WindowTokens([1, 2], [(0, 0)], [True, True], ["a", "b"])


# ----------------------------------------------------------------------------- words

WORD_TEXT = "Microsoft rocks"
WORD_PIECES = [("Micro", 0, 5), ("##so", 5, 7), ("##ft", 7, 9), ("rocks", 10, 15)]


def word_case(labels: Sequence[str], tops: Sequence[float], strategy: str) -> list[Entity]:
    scores = probs(labels, tops)
    return decode_window(WORD_TEXT, window(WORD_PIECES), scores, strategy, WORDPIECE)


def test_simple_may_split_a_word() -> None:
    got = word_case(["B-ORG", "I-PER", "I-PER", "O"], [0.5, 0.8, 0.6, 0.9], "simple")
    # The WordPiece decoder strips "##" only after the first token: the word is "##soft".
    assert triples(got) == [
        ("ORG", "Micro", 0, 5),
        ("PER", "##soft", 5, 9),
        ("O", "rocks", 10, 15),
    ]


def test_first_uses_the_first_subword() -> None:
    got = word_case(["B-ORG", "I-PER", "I-PER", "O"], [0.5, 0.8, 0.6, 0.9], "first")
    assert triples(got) == [("ORG", "Microsoft", 0, 9), ("O", "rocks", 10, 15)]
    assert got[0].score == pytest.approx(0.5, abs=1e-7)


def test_max_uses_the_most_confident_subword() -> None:
    got = word_case(["B-ORG", "I-PER", "B-LOC", "O"], [0.5, 0.8, 0.6, 0.9], "max")
    assert triples(got) == [("PER", "Microsoft", 0, 9), ("O", "rocks", 10, 15)]
    assert got[0].score == pytest.approx(0.8, abs=1e-7)


def test_max_tie_keeps_the_earliest_subword() -> None:
    got = word_case(["B-ORG", "B-PER", "B-LOC", "O"], [0.5, 0.8, 0.8, 0.9], "max")
    assert triples(got)[0] == ("PER", "Microsoft", 0, 9)


def test_max_skips_nan_tokens_but_keeps_a_nan_first_token() -> None:
    # Python's max(key=...) never replaces with NaN and never replaces a NaN first item.
    scores = probs(["B-ORG", "I-PER", "B-LOC", "O"], [0.5, 0.8, 0.6, 0.9])
    scores[2] = np.nan
    got = decode_window(WORD_TEXT, window(WORD_PIECES), scores, "max", WORDPIECE)
    assert triples(got)[0] == ("LOC", "Microsoft", 0, 9)
    scores[1] = np.nan
    got = decode_window(WORD_TEXT, window(WORD_PIECES), scores, "max", WORDPIECE)
    # The NaN word takes label 0 ("O", argmax of a NaN row) and joins "rocks"; the group
    # score is the nanmean, so the NaN word does not count.
    assert triples(got) == [("O", "Microsoft rocks", 0, 15)]
    assert got[0].score == pytest.approx(0.9, abs=1e-7)


def test_average_takes_the_argmax_of_mean_scores() -> None:
    # Means: B-ORG (0.6 + 2 * 0.06875) / 3 = 0.246, I-PER (0.05 + 2 * 0.45) / 3 = 0.317.
    got = word_case(["B-ORG", "I-PER", "I-PER", "O"], [0.6, 0.45, 0.45, 0.9], "average")
    assert triples(got) == [("PER", "Microsoft", 0, 9), ("O", "rocks", 10, 15)]
    rows = probs(["B-ORG", "I-PER", "I-PER"], [0.6, 0.45, 0.45])[1:-1]
    assert got[0].score == pytest.approx(float(rows.mean(axis=0)[BIO.index("I-PER")]), abs=1e-7)


def test_average_ignores_nan_scores_like_nanmean() -> None:
    scores = probs(["B-ORG", "I-PER", "I-PER", "O"], [0.6, 0.45, 0.45, 0.9])
    scores[2] = np.nan
    got = decode_window(WORD_TEXT, window(WORD_PIECES), scores, "average", WORDPIECE)
    # Mean of the two finite rows: B-ORG (0.6 + 0.06875) / 2 > I-PER (0.05 + 0.45) / 2.
    assert got[0].label == "ORG"
    assert got[0].score == pytest.approx(f32_mean(0.6, 0.55 / 8), abs=1e-7)


def test_words_are_grouped_after_aggregation() -> None:
    # Each word is decoded from its pieces, then the group decodes the words again.
    got = decode_window(
        "John Smith",
        window([("Jo", 0, 2), ("##hn", 2, 4), ("Smith", 5, 10)]),
        probs(["B-PER", "O", "I-PER"], [0.9, 0.6, 0.7]),
        "first",
        WORDPIECE,
    )
    assert triples(got) == [("PER", "John Smith", 0, 10)]
    assert got[0].score == pytest.approx(f32_mean(0.9, 0.7), abs=1e-7)


def test_a_window_starting_inside_a_word_opens_a_word() -> None:
    text = "Microsoft rocks"
    w = window([("##so", 5, 7), ("##ft", 7, 9), ("rocks", 10, 15)])
    got = decode_window(text, w, probs(["I-ORG", "B-PER", "O"]), "first", WORDPIECE)
    # One word (the first token always opens one), decoded with its leading "##" kept.
    assert triples(got) == [("ORG", "##soft", 5, 9), ("O", "rocks", 10, 15)]


def test_unknown_token_takes_its_surface_text_and_starts_a_word() -> None:
    text = "Ab☃c"
    # "[UNK]" is longer than "☃", so by the length rule alone it would continue "Ab"; as the
    # unknown token it opens a word and is reported as its surface text.
    w = window([("Ab", 0, 2), ("[UNK]", 2, 3), ("##c", 3, 4)], unk=[2])
    got = decode_window(text, w, probs(["B-PER", "B-LOC", "I-ORG"]), "first", WORDPIECE)
    assert triples(got) == [("PER", "Ab", 0, 2), ("LOC", "☃c", 2, 4)]
    none = decode_window(text, w, probs(["B-PER", "B-LOC", "I-ORG"]), "none", WORDPIECE)
    assert [e.word for e in none] == ["Ab", "☃", "##c"]


def test_space_heuristic_without_subword_prefix() -> None:
    # A token continues a word unless it starts the text or touches a U+0020 space;
    # tabs and newlines do not count.
    text = "New-York\tcity  x"
    w = window([("New", 0, 3), ("-", 3, 4), ("York", 4, 8), ("city", 9, 13), ("x", 15, 16)])
    labels = ["B-LOC", "O", "B-PER", "O", "B-MISC"]
    got = decode_window(text, w, probs(labels), "first", HEURISTIC)
    assert triples(got) == [("LOC", "New - York city", 0, 13), ("MISC", "x", 15, 16)]


def test_space_heuristic_at_the_end_of_the_text() -> None:
    text = "ab"
    w = window([("a", 0, 1), ("b", 1, 2), ("", 2, 2)])
    got = decode_window(text, w, probs(["B-PER", "O", "O"]), "first", HEURISTIC)
    assert triples(got) == [("PER", "a b ", 0, 2)]


# ----------------------------------------------------------------------------- windows


def ent(label: str, start: int, end: int, score: float = 0.5) -> Entity:
    return Entity(label, score, start, end, f"{label}{start}")


def test_merge_windows_keeps_the_longer_overlapping_entity() -> None:
    got = merge_windows([ent("A", 0, 4), ent("B", 2, 9), ent("C", 10, 12)])
    assert [e.label for e in got] == ["B", "C"]  # B starts inside A and is longer
    got = merge_windows([ent("A", 0, 9, 0.1), ent("B", 2, 5, 0.9), ent("C", 10, 12)])
    assert [e.label for e in got] == ["A", "C"]  # a shorter one loses whatever its score


def test_merge_windows_breaks_length_ties_by_score_then_order() -> None:
    got = merge_windows([ent("A", 0, 4, 0.5), ent("B", 0, 4, 0.7), ent("C", 0, 4, 0.7)])
    assert [e.label for e in got] == ["B"]


def test_merge_windows_sorts_by_start_and_keeps_touching_entities() -> None:
    got = merge_windows([ent("C", 8, 10), ent("A", 0, 4), ent("B", 4, 8)])
    assert [e.label for e in got] == ["A", "B", "C"]
    assert merge_windows([]) == []


def test_merge_windows_reports_a_zero_length_first_entity_twice() -> None:
    # The pipeline compares its first entity with itself; an empty span never "overlaps".
    got = merge_windows([ent("A", 0, 0), ent("B", 3, 5)])
    assert [e.label for e in got] == ["A", "A", "B"]


def test_filter_ignored() -> None:
    got = filter_ignored([ent("O", 0, 1), ent("PER", 2, 3), ent("B-PER", 4, 5)], ["O", "PER"])
    assert [e.label for e in got] == ["B-PER"]


def test_decode_text_merges_overlapping_windows() -> None:
    text = "John Smith lives"
    first = window([("John", 0, 4), ("Smith", 5, 10)])
    second = window([("Smith", 5, 10), ("lives", 11, 16)])
    got = decode_text(
        text,
        [first, second],
        [probs(["B-PER", "O"], 0.9), probs(["B-PER", "O"], 0.8)],
        "simple",
        ["O"],
        WORDPIECE,
    )
    # Window 1 says "John" is PER and "Smith" O; window 2 calls "Smith" PER: both survive
    # because the O group is dropped before merging.
    assert triples(got) == [("PER", "John", 0, 4), ("PER", "Smith", 5, 10)]
    assert got[1].score == pytest.approx(0.8, abs=1e-7)


def test_decode_text_needs_one_score_array_per_window() -> None:
    with pytest.raises(InvalidInput):
        decode_text(TEXT, [window([])], [], "simple", ["O"], WORDPIECE)
    assert decode_text(TEXT, [], [], "simple", ["O"], WORDPIECE) == []


def test_none_over_windows_keeps_each_token_once_from_the_more_central_window() -> None:
    text = "a b c d e f"
    toks = pieces_of(text, text.split())
    # The windows share 3 tokens ("c d e"). The two last pieces of w2 have the same id and
    # offsets (like the byte pieces of one emoji) and must both survive.
    w1 = WindowTokens(
        [2, 10, 11, 12, 13, 14, 3],
        [(0, 0)] + [(s, e) for _, s, e in toks[:5]] + [(0, 0)],
        [True, False, False, False, False, False, True],
        ["[CLS]", "a", "b", "c", "d", "e", "[SEP]"],
    )
    w2 = WindowTokens(
        [2, 12, 13, 14, 15, 15, 3],
        [(0, 0)] + [(s, e) for _, s, e in toks[2:]] + [(10, 11), (0, 0)],
        [True, False, False, False, False, False, True],
        ["[CLS]", "c", "d", "e", "f", "f", "[SEP]"],
    )
    labels1 = ["O", "B-PER", "I-PER", "I-PER", "I-PER"]
    labels2 = ["B-LOC", "B-LOC", "B-LOC", "O", "O"]
    got = decode_text(text, [w1, w2], [probs(labels1), probs(labels2)], "none", [], WORDPIECE)
    assert [(e.index, e.word, e.label, e.token_id) for e in got] == [
        (1, "a", "O", 10),
        (2, "b", "B-PER", 11),
        (3, "c", "I-PER", 12),  # overlap rank 0: 2 from the end of w1, 0 from the start of w2
        (4, "d", "I-PER", 13),  # rank 1: a tie, the earlier window wins
        (5, "e", "B-LOC", 14),  # rank 2: 0 from the end of w1
        (6, "f", "O", 15),
        (7, "f", "O", 15),
    ]


# ----------------------------------------------------------------------------- word labels


def test_first_subword_labels() -> None:
    word_ids = np.array([-1, 0, 0, 1, 3, 3, -1])
    scores = probs(["B-PER", "I-LOC", "O", "I-ORG", "B-MISC"], [0.9, 0.8, 0.7, 0.6, 0.5])
    labels, scores_out = first_subword_labels(word_ids, scores, 5, BIO)
    # word 2 produced no token, word 4 neither: "O" with score 0.0
    assert labels == ["B-PER", "O", "O", "I-ORG", "O"]
    assert scores_out == pytest.approx([0.9, 0.7, 0.0, 0.6, 0.0], abs=1e-7)
    assert all(type(s) is float for s in scores_out)


def test_first_subword_labels_rejects_bad_shapes() -> None:
    with pytest.raises(InvalidInput):
        first_subword_labels(np.array([0, 1]), probs(["O"]), 2, BIO)
    with pytest.raises(InvalidInput):
        first_subword_labels(np.array([-1, 5, -1]), probs(["O"]), 2, BIO)


# ----------------------------------------------------------------------------- probabilities


def test_softmax_is_stable_and_float32() -> None:
    logits = np.array([[1000.0, 999.0, 0.0], [0.0, 0.0, 0.0]], dtype=np.float16)
    got = softmax(logits)
    assert got.dtype == np.float32
    assert np.allclose(got.sum(axis=1), 1.0)
    e = math.exp(-1.0)
    assert got[0, 0] == pytest.approx(1 / (1 + e), abs=1e-6)
    assert got[1] == pytest.approx([1 / 3] * 3, abs=1e-7)


# ----------------------------------------------------------------------------- context


def test_context_from_wordpiece_tokenizer() -> None:
    vocab = {"[UNK]": 0, "new": 1, "##er": 2}
    tok = Tokenizer(models.WordPiece(vocab, unk_token="[UNK]"))
    tok.decoder = decoders.WordPiece()
    ctx = DecodeContext.from_tokenizer(tok, BIO, "[UNK]")
    assert ctx.wordpiece_subwords and ctx.unk_id == 0
    assert ctx.join_tokens(["new", "##er", "new", "."]) == "newer new."


def test_context_from_bpe_without_decoder() -> None:
    tok = Tokenizer(models.BPE({"a": 0, "b": 1, "<unk>": 2}, [], unk_token="<unk>"))
    ctx = DecodeContext.from_tokenizer(tok, BIO, None)
    assert not ctx.wordpiece_subwords and ctx.unk_id is None
    assert ctx.join_tokens(["a", "b"]) == "a b"
    assert DecodeContext.from_tokenizer(tok, BIO, "<unk>").unk_id == 2


# nerve's ``word`` strategy: tests/unit/test_word_strategy.py
