"""Entity-span evaluation on raw text (``nerve eval --aggregation``)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from nerve.data.conll import Sentence
from nerve.eval.spans import evaluate_spans, gold_text, score_spans


def _sentence(words: str, tags: str, document: int = 0) -> Sentence:
    return Sentence(tuple(words.split()), tuple(tags.split()), 1, document)


def test_gold_text_joins_words_and_gives_character_spans() -> None:
    unit = [
        _sentence("Peter Blackburn visited U.K.", "I-PER I-PER O I-LOC"),
        _sentence("EU talks", "I-ORG O"),
    ]
    text, spans = gold_text(unit)
    assert text == "Peter Blackburn visited U.K. EU talks"
    assert {(t, text[a:b]) for t, a, b in spans} == {
        ("PER", "Peter Blackburn"),
        ("LOC", "U.K."),
        ("ORG", "EU"),
    }


def test_a_split_entity_scores_as_wrong() -> None:
    text, gold = gold_text([_sentence("in U.K. now", "O I-LOC O")])
    whole = {("LOC", 3, 7)}
    split = {("LOC", 3, 4), ("LOC", 5, 6)}
    assert gold == whole
    assert score_spans([gold], [whole], 3).micro.f1 == 1.0
    report = score_spans([gold], [split], 3)
    assert (report.micro.precision, report.micro.recall, report.micro.f1) == (0.0, 0.0, 0.0)
    both = score_spans([gold, gold], [whole, split], 6)
    assert both.micro.recall == 0.5 and both.micro.precision == pytest.approx(1 / 3)


def test_evaluate_spans_feeds_texts_and_counts_words() -> None:
    sentences = [
        _sentence("Angela Merkel spoke", "B-PER I-PER O"),
        _sentence("in Berlin", "O B-LOC"),
    ]
    seen: list[str] = []

    def predict(texts: list[str]) -> list[set[tuple[str, int, int]]]:
        seen.extend(texts)
        return [{("PER", 0, 13)} if t.startswith("Angela") else {("ORG", 3, 9)} for t in texts]

    result = evaluate_spans(sentences, predict, sentences_per_input=1)
    assert seen == ["Angela Merkel spoke", "in Berlin"]
    assert result.report.n_tokens == 5 and result.report.n_sentences == 2
    assert result.report.per_type["PER"].f1 == 1.0
    assert result.report.per_type["LOC"].recall == 0.0
    assert result.report.per_type["ORG"].precision == 0.0


def test_cli_scores_spans_under_a_strategy(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from nerve.cli.main import main

    data = tmp_path / "mini.conll"
    data.write_text(
        "-DOCSTART- -X- O O\n\nAngela NNP I-NP I-PER\nMerkel NNP I-NP I-PER\n"
        "visited VBD I-VP O\nParis NNP I-NP I-LOC\n. . O O\n"
    )
    args = ["eval", "--data", str(data), "--json", "--no-progress"]
    assert main([*args, "--aggregation", "first"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["inputs"]["aggregation"] == "first"
    assert report["micro"]["f1"] == 1.0  # the default model finds both, whole
    assert report["n_tokens"] == 5
