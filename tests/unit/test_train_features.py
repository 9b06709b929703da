"""Training features: runs of joined sentences for ``nerve train --joined``."""

from __future__ import annotations

from typing import Any

import pytest

from nerve.data.conll import Sentence
from nerve.text.loading import load_tokenizer
from nerve.train.features import joined_runs

pytest.importorskip("torch")


def sentence(words: str, tags: str, line: int, document: int = 0) -> Sentence:
    return Sentence(tuple(words.split()), tuple(tags.split()), line, document)


SENTENCES = [
    sentence("Peter Blackburn", "I-PER I-PER", 1),
    sentence("Ulrich Maier spoke", "I-PER I-PER O", 4),  # IOB1: continues a PER chunk
    sentence("in Bonn", "O I-LOC", 8),
    sentence("the EU said", "O I-ORG O", 11, document=1),
    sentence("Paris", "I-LOC", 15, document=1),
    sentence("alone", "O", 17, document=2),
]


@pytest.fixture(scope="module")
def tokenizer(tiny_model_dir: Any) -> Any:
    return load_tokenizer(tiny_model_dir("bert"))


def lengths(tokenizer: Any, sentences: list[Sentence]) -> list[int]:
    encs = tokenizer.encode_batch(
        [list(s.words) for s in sentences], is_pretokenized=True, add_special_tokens=False
    )
    return [len(e.ids) for e in encs]


def test_runs_join_consecutive_sentences_of_a_document_within_the_budget(tokenizer: Any) -> None:
    n = lengths(tokenizer, SENTENCES)
    specials = tokenizer.num_special_tokens_to_add(False)
    # Room for the first two sentences only: a run is cut where the next one won't fit.
    max_length = specials + n[0] + n[1] + n[2] - 1
    runs = joined_runs(SENTENCES, tokenizer, max_length)
    assert [r.words for r in runs] == [
        ("Peter", "Blackburn", "Ulrich", "Maier", "spoke"),
        ("the", "EU", "said", "Paris"),  # never across documents; no run of one sentence
    ]
    # IOB2 per sentence: Ulrich starts a new PER although the run's previous tag is I-PER.
    assert runs[0].tags == ("B-PER", "I-PER", "B-PER", "I-PER", "O")
    assert runs[1].tags == ("O", "B-ORG", "O", "B-LOC")
    assert [(r.line, r.document) for r in runs] == [(1, 0), (11, 1)]
    assert all(x <= max_length - specials for x in lengths(tokenizer, runs))


def test_a_big_budget_joins_whole_documents_and_a_tiny_one_joins_nothing(tokenizer: Any) -> None:
    runs = joined_runs(SENTENCES, tokenizer, 512)
    assert [len(r.words) for r in runs] == [7, 4]
    assert joined_runs(SENTENCES, tokenizer, 4) == []
