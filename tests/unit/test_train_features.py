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


def test_all_pieces_labelled_continuations_get_the_inside_tag(tokenizer: Any) -> None:
    from nerve.train.features import IGNORE, encode_sentence, label_set

    labels = label_set(SENTENCES)
    ids = {t: i for i, t in enumerate(labels)}
    words = ["Blackburnshire", "U.K.", "said"]
    tags = ["I-PER", "B-LOC", "O"]
    enc = tokenizer.encode(words, is_pretokenized=True)
    first_only = encode_sentence(tokenizer, words, tags, ids, 64)
    every = encode_sentence(tokenizer, words, tags, ids, 64, label_all_pieces=True)
    word_ids = [-1 if w is None else w for w in enc.word_ids]
    expected_first = {0: "B-PER", 1: "B-LOC", 2: "O"}  # IOB1 I-PER starts a chunk: B-PER
    expected_rest = {0: "I-PER", 1: "I-LOC", 2: "O"}
    seen_continuation = False
    for pos, word in enumerate(word_ids):
        if word < 0:
            assert first_only.labels[pos] == every.labels[pos] == IGNORE
        elif pos == 0 or word_ids[pos - 1] != word:
            assert labels[every.labels[pos]] == labels[first_only.labels[pos]]
            assert labels[every.labels[pos]] == expected_first[word]
        else:
            seen_continuation = True
            assert first_only.labels[pos] == IGNORE
            assert labels[every.labels[pos]] == expected_rest[word]
    assert seen_continuation  # the words above do split into several pieces


def test_symbol_noise_inserts_outside_words_and_never_splits_an_entity() -> None:
    import random

    from nerve.data.conll import to_iob2
    from nerve.train.augment import SYMBOLS, symbol_noise

    noisy = symbol_noise(SENTENCES * 20, random.Random(0), 0.5)
    assert 20 < len(noisy) < 100  # about half of the 120 sentences
    for sentence in noisy:
        tags = list(sentence.tags)
        assert tags == to_iob2(tags)  # valid IOB2: no I- right after an inserted O
        inserted = [w for w in sentence.words if w in SYMBOLS]
        assert 1 <= len(inserted) <= 2
        assert all(t == "O" for w, t in zip(sentence.words, tags, strict=True) if w in SYMBOLS)
        kept = [(w, t) for w, t in zip(sentence.words, tags, strict=True) if w not in SYMBOLS]
        original = next(s for s in SENTENCES if [w for w, _ in kept] == list(s.words))
        assert [t for _, t in kept] == to_iob2(original.tags)


def test_negatives_are_short_entity_free_runs_of_training_words() -> None:
    import random

    from nerve.train.augment import negatives

    text = sentence("the talks in Bonn ended on a quiet note today", "O O O I-LOC O O O O O O", 1)
    runs = negatives([text, *SENTENCES], random.Random(3), 5)
    assert runs
    joined = " ".join(text.words)
    for run in runs:
        assert 2 <= len(run.words) <= 6
        assert set(run.tags) == {"O"}
        assert " ".join(run.words) in joined
