"""``-f conll`` output (nerve.io.formats.to_conll): IOB2 tags that follow the model's token
tags with ``none`` and the entities otherwise, in one linear pass."""

from __future__ import annotations

from nerve.io.formats import to_conll
from nerve.types import Entity, TextResult


def tags(result: TextResult) -> list[str]:
    return [line.split("\t")[1] for line in to_conll(result).splitlines()]


def row(text: str, word: str, label: str, index: int) -> Entity:
    start = text.index(word)
    return Entity(label, 0.9, start, start + len(word), word, index=index, token_id=index)


def span(text: str, words: str, label: str) -> Entity:
    start = text.index(words)
    return Entity(label, 0.9, start, start + len(words), words)


def test_token_rows_keep_the_models_b_and_i() -> None:
    text = "Tim Cook visited San Francisco"
    rows = [
        row(text, "Tim", "B-PER", 1),
        row(text, "Cook", "I-PER", 2),
        row(text, "San", "B-LOC", 4),
        row(text, "Franc", "I-LOC", 5),  # a word of two sub-words: its first one counts
        Entity("I-LOC", 0.9, text.index("isco"), len(text), "##isco", index=6, token_id=6),
    ]
    assert tags(TextResult(text, tuple(rows))) == ["B-PER", "I-PER", "O", "B-LOC", "I-LOC"]


def test_two_entities_side_by_side_stay_two() -> None:
    text = "Paris Berlin"
    rows = (row(text, "Paris", "B-LOC", 1), row(text, "Berlin", "B-LOC", 2))
    assert tags(TextResult(text, rows)) == ["B-LOC", "B-LOC"]
    entities = (span(text, "Paris", "LOC"), span(text, "Berlin", "LOC"))
    assert tags(TextResult(text, entities)) == ["B-LOC", "B-LOC"]


def test_a_dangling_i_becomes_b_and_o_rows_are_o() -> None:
    text = "visited Paris Cook"
    rows = (
        row(text, "visited", "O", 1),  # --keep-o
        row(text, "Paris", "I-LOC", 2),  # continues nothing
        row(text, "Cook", "I-PER", 3),  # continues a LOC: a new PER
    )
    assert tags(TextResult(text, rows)) == ["O", "B-LOC", "B-PER"]


def test_a_type_with_a_hyphen_and_io_tags_are_read_as_the_pipeline_reads_them() -> None:
    """rpartition("-") read B-DATE-TIME as prefix B-DATE, type TIME; and IO tags (no prefix)
    never continued."""
    text = "Meeting on Monday morning"
    rows = (
        row(text, "on", "B-DATE-TIME", 1),
        row(text, "Monday", "I-DATE-TIME", 2),
        row(text, "morning", "I-DATE-TIME", 3),
    )
    assert tags(TextResult(text, rows)) == ["O", "B-DATE-TIME", "I-DATE-TIME", "I-DATE-TIME"]
    io_rows = (
        row(text, "Meeting", "DATE", 1),
        row(text, "on", "DATE", 2),
        row(text, "Monday", "TIME", 3),
        row(text, "morning", "TIME", 4),
    )
    assert tags(TextResult(text, io_rows)) == ["B-DATE", "I-DATE", "B-TIME", "I-TIME"]


def test_aggregated_entities_get_b_then_i() -> None:
    text = "Tim Cook visited San Francisco ."
    entities = (span(text, "Tim Cook", "PER"), span(text, "San Francisco", "LOC"))
    assert tags(TextResult(text, entities)) == ["B-PER", "I-PER", "O", "B-LOC", "I-LOC", "O"]


def test_words_cut_off_by_truncation_are_not_read() -> None:
    text = "Tim Cook visited Paris"
    result = TextResult(text, (span(text, "Tim Cook", "PER"),), read_span=(0, 8))
    assert tags(result) == ["B-PER", "I-PER", "_", "_"]


def test_a_long_text_gets_every_entity() -> None:
    n = 20_000  # the old writer scanned every entity for every word: minutes here
    text = " ".join(["Paris", "is", "nice"] * n)
    entities = tuple(Entity("LOC", 0.9, i * 14, i * 14 + 5, "Paris") for i in range(n))
    assert tags(TextResult(text, entities)) == ["B-LOC", "O", "O"] * n
