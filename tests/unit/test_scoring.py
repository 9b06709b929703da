"""nerve's scorer must give seqeval's default-mode numbers; seqeval itself is the oracle."""

from __future__ import annotations

import math
import random
from collections.abc import Sequence

import pytest

from nerve.data.conll import Sentence, conll_dir, read_conll, to_iob2
from nerve.eval.evaluate import evaluate
from nerve.eval.scoring import PRF, Report, extract_spans, score

seqeval_metrics = pytest.importorskip("seqeval.metrics")
seqeval_entities = pytest.importorskip("seqeval.metrics.sequence_labeling").get_entities

# seqeval warns on undefined metrics and odd tags; both are exercised on purpose.
pytestmark = pytest.mark.filterwarnings("ignore")

Tags = Sequence[Sequence[str]]
_AVERAGES = ("micro avg", "macro avg", "weighted avg")


def assert_close(ours: float, theirs: float) -> None:
    assert math.isclose(ours, float(theirs), rel_tol=0.0, abs_tol=1e-12), (ours, theirs)


def assert_matches_seqeval(gold: Tags, pred: Tags) -> Report:
    report = score(gold, pred)
    if not gold:  # seqeval raises TypeError on zero sentences; nerve reports zeros
        assert report == Report(PRF(0.0, 0.0, 0.0, 0), {}, 0, 0)
        return report
    y_true = [list(s) for s in gold]  # seqeval only flattens real lists
    y_pred = [list(s) for s in pred]
    theirs = seqeval_metrics.classification_report(y_true, y_pred, output_dict=True)
    per_type = {k: v for k, v in theirs.items() if k not in _AVERAGES}
    assert list(report.per_type) == sorted(per_type)
    for name, prf in report.per_type.items():
        assert_close(prf.precision, per_type[name]["precision"])
        assert_close(prf.recall, per_type[name]["recall"])
        assert_close(prf.f1, per_type[name]["f1-score"])
        assert prf.support == per_type[name]["support"]
    assert_close(report.micro.precision, seqeval_metrics.precision_score(y_true, y_pred))
    assert_close(report.micro.recall, seqeval_metrics.recall_score(y_true, y_pred))
    assert_close(report.micro.f1, seqeval_metrics.f1_score(y_true, y_pred))
    assert report.micro.support == theirs["micro avg"]["support"]
    assert report.n_sentences == len(gold)
    assert report.n_tokens == sum(map(len, gold))
    return report


TRICKY: list[tuple[str, list[str]]] = [
    ("iob1 start", ["I-PER", "I-PER", "O"]),
    ("i after o", ["O", "I-LOC", "O", "I-LOC"]),
    ("type switch inside i", ["I-PER", "I-LOC", "I-LOC"]),
    ("b after b", ["B-PER", "B-PER", "B-PER"]),
    ("b after i same type", ["I-PER", "B-PER", "I-PER"]),
    ("trailing entity", ["O", "O", "B-MISC", "I-MISC"]),
    ("single token", ["B-ORG"]),
    ("all o", ["O", "O", "O"]),
    ("empty", []),
    ("i then b other type", ["I-ORG", "B-PER", "I-ORG"]),
    ("iobes", ["S-PER", "B-LOC", "E-LOC", "I-LOC", "E-LOC"]),
    ("odd tags", ["X", "B-PER", ".", "I-", "B-A-B", "I-A-B"]),
]


@pytest.mark.parametrize(("name", "tags"), TRICKY, ids=[n for n, _ in TRICKY])
def test_extract_spans_matches_get_entities(name: str, tags: list[str]) -> None:
    assert extract_spans(tags) == seqeval_entities(tags)


def test_extract_spans_semantics_spelled_out() -> None:
    # Independent of seqeval: the behaviours nerve relies on, stated as expectations.
    assert extract_spans(["I-PER", "I-PER", "O"]) == [("PER", 0, 1)]
    assert extract_spans(["I-PER", "B-PER", "I-PER"]) == [("PER", 0, 0), ("PER", 1, 2)]
    assert extract_spans(["I-PER", "I-LOC"]) == [("PER", 0, 0), ("LOC", 1, 1)]
    assert extract_spans(["O", "B-MISC", "I-MISC"]) == [("MISC", 1, 2)]
    assert extract_spans([]) == []


def test_tricky_sentences_score_like_seqeval() -> None:
    sentences = [tags for _, tags in TRICKY]
    # Predictions: the same sentences rotated, so some spans match and some do not.
    predictions = [sentences[(i + 1) % len(sentences)] for i in range(len(sentences))]
    predictions = [
        (p + ["O"] * len(g))[: len(g)] for g, p in zip(sentences, predictions, strict=True)
    ]
    assert_matches_seqeval(sentences, predictions)
    assert_matches_seqeval(predictions, sentences)


def test_entities_do_not_cross_sentences() -> None:
    gold = [["O", "B-PER"], ["I-PER", "O"]]
    report = assert_matches_seqeval(gold, [["O", "B-PER"], ["B-PER", "O"]])
    assert report.micro == PRF(1.0, 1.0, 1.0, 2)


def test_odd_tag_reuses_a_stale_start_across_sentences() -> None:
    # seqeval quirk kept for exactness: "X" (type "_") opens nothing, yet the type change at
    # B-LOC closes a "_" chunk that reuses the last start offset, from the previous sentence.
    gold = [["B-PER"], ["X", "B-LOC"]]
    report = assert_matches_seqeval(gold, [["B-PER"], ["O", "B-LOC"]])
    assert report.per_type["_"] == PRF(0.0, 0.0, 0.0, 1)


def test_iob1_gold_against_iob2_prediction_is_perfect() -> None:
    gold = [["I-PER", "I-PER", "B-PER", "O", "I-LOC", "I-ORG"], ["O", "I-MISC"]]
    pred = [to_iob2(s) for s in gold]
    assert pred[0] == ["B-PER", "I-PER", "B-PER", "O", "B-LOC", "B-ORG"]
    report = assert_matches_seqeval(gold, pred)
    assert report.micro == PRF(1.0, 1.0, 1.0, 5)


def test_zero_division_is_zero() -> None:
    report = assert_matches_seqeval([["O", "O"]], [["O", "O"]])
    assert report.micro == PRF(0.0, 0.0, 0.0, 0)
    assert report.per_type == {}
    report = assert_matches_seqeval([["O", "O"]], [["B-PER", "O"]])
    assert report.per_type == {"PER": PRF(0.0, 0.0, 0.0, 0)}
    report = assert_matches_seqeval([["B-PER", "O"]], [["O", "O"]])
    assert report.micro == PRF(0.0, 0.0, 0.0, 1)


def test_no_sentences() -> None:
    report = score([], [])
    assert (report.micro, report.n_sentences, report.n_tokens) == (PRF(0.0, 0.0, 0.0, 0), 0, 0)


def test_length_mismatches_name_the_sentence() -> None:
    with pytest.raises(ValueError, match="gold has 2 sentences but pred has 1"):
        score([["O"], ["O"]], [["O"]])
    with pytest.raises(ValueError, match="sentence 1: gold has 2 tags but pred has 1"):
        score([["O"], ["O", "O"]], [["O"], ["O"]])
    with pytest.raises(ValueError, match="sentence 0: expected a sequence of tags"):
        score(["B-PER"], ["B-PER"])
    with pytest.raises(ValueError, match="empty tag"):
        score([["O", ""]], [["O", "O"]])


IOB_POOL = ["O"] * 6 + [f"{p}-{t}" for p in "BI" for t in ("PER", "LOC", "MISC")]
WILD_POOL = IOB_POOL + ["E-PER", "S-LOC", "E-MISC", "S-PER", ".", "X", "I-", "B-A-B", "Q-LOC"]


def random_tags(rng: random.Random, pool: list[str]) -> list[list[str]]:
    return [[rng.choice(pool) for _ in range(rng.randint(0, 9))] for _ in range(rng.randint(0, 6))]


def mutate(
    rng: random.Random, sentences: list[list[str]], pool: list[str], rate: float
) -> list[list[str]]:
    return [[rng.choice(pool) if rng.random() < rate else t for t in s] for s in sentences]


@pytest.mark.parametrize("pool", [IOB_POOL, WILD_POOL], ids=["iob", "wild"])
def test_random_sequences_match_seqeval(pool: list[str]) -> None:
    for seed in range(400):
        rng = random.Random(seed)
        gold = random_tags(rng, pool)
        # Alternate between near-miss predictions (many true positives) and unrelated ones.
        pred = mutate(rng, gold, pool, 0.2) if seed % 2 else random_tags(rng, pool)
        pred = [(p + ["O"] * len(g))[: len(g)] for g, p in zip(gold, pred, strict=False)]
        pred += [["O"] * len(g) for g in gold[len(pred) :]]
        assert_matches_seqeval(gold, pred)
        flat = [t for s in gold for t in s]
        assert extract_spans(flat) == seqeval_entities(flat)


def test_report_to_dict_and_table() -> None:
    report = score([["B-PER", "O", "B-LOC"]], [["B-PER", "O", "O"]])
    assert report.to_dict() == {
        "micro": {"precision": 1.0, "recall": 0.5, "f1": 2 / 3, "support": 2},
        "per_type": {
            "LOC": {"precision": 0.0, "recall": 0.0, "f1": 0.0, "support": 1},
            "PER": {"precision": 1.0, "recall": 1.0, "f1": 1.0, "support": 1},
        },
        "n_sentences": 1,
        "n_tokens": 3,
    }
    lines = report.format_table().splitlines()
    assert lines[0].split() == ["precision", "recall", "f1-score", "support"]
    assert lines[2].split() == ["LOC", "0.0000", "0.0000", "0.0000", "1"]
    assert lines[3].split() == ["PER", "1.0000", "1.0000", "1.0000", "1"]
    assert lines[5].split() == ["micro", "avg", "1.0000", "0.5000", "0.6667", "2"]
    assert lines[7] == "1 sentences, 3 tokens"


# ---- real data ------------------------------------------------------------------------------

DATA = conll_dir()
needs_data = pytest.mark.skipif(
    not (DATA / "eng.testb").is_file(), reason=f"CoNLL-2003 not found at {DATA}"
)
LABELS = ["O"] + [f"{p}-{t}" for p in "BI" for t in ("PER", "ORG", "LOC", "MISC")]


def corrupt(sentences: list[list[str]], seed: int) -> list[list[str]]:
    """Deterministically damage tags: drop to O, relabel, and shift boundaries."""
    rng = random.Random(seed)
    out = []
    for tags in sentences:
        tags = list(tags)
        for i in range(len(tags)):
            roll = rng.random()
            if roll < 0.03:
                tags[i] = "O"
            elif roll < 0.06:
                tags[i] = rng.choice(LABELS)
            elif roll < 0.08 and i + 1 < len(tags):
                tags[i], tags[i + 1] = tags[i + 1], tags[i]
        out.append(tags)
    return out


def to_iob1(tags: Sequence[str]) -> list[str]:
    """IOB2 -> IOB1: B-X stays only where it directly follows a chunk of the same type."""
    out = []
    prev_type = ""
    for tag in tags:
        kind, _, type_ = tag.partition("-")
        out.append(tag if kind != "B" or type_ == prev_type else "I-" + type_)
        prev_type = type_
    return out


@pytest.fixture(scope="module")
def testb_gold() -> list[list[str]]:
    return [list(s.tags) for s in read_conll(DATA / "eng.testb")]


@needs_data
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_real_testb_corrupted_matches_seqeval(testb_gold: list[list[str]], seed: int) -> None:
    pred = corrupt(testb_gold, seed)
    report = assert_matches_seqeval(testb_gold, pred)
    assert set(report.per_type) == {"LOC", "MISC", "ORG", "PER"}
    assert 0.5 < report.micro.f1 < 0.99  # the corruption is real but partial


@needs_data
def test_real_testb_iob1_gold_vs_iob2_pred(testb_gold: list[list[str]]) -> None:
    gold_iob1 = [to_iob1(tags) for tags in testb_gold]
    assert gold_iob1 != testb_gold  # the conversion really changed the scheme
    assert to_iob2(gold_iob1[0]) == testb_gold[0]
    perfect = assert_matches_seqeval(gold_iob1, testb_gold)
    assert perfect.micro == PRF(1.0, 1.0, 1.0, 5648)
    pred = [to_iob2(tags) for tags in corrupt(testb_gold, 7)]
    mixed = assert_matches_seqeval(gold_iob1, pred)
    assert mixed == score(testb_gold, pred)


# ---- evaluate() -----------------------------------------------------------------------------

SENTENCES = [
    Sentence(("Peter", "Blackburn"), ("I-PER", "I-PER"), 1),
    Sentence(("in", "Paris", "and", "Rome"), ("O", "I-LOC", "O", "I-LOC"), 4),
    Sentence(("EU",), ("I-ORG",), 9),
]


def test_evaluate_batches_in_order_and_scores_iob2_predictions() -> None:
    batches: list[list[list[str]]] = []
    gold_by_words = {s.words: to_iob2(s.tags) for s in SENTENCES}

    def predict(words: list[list[str]]) -> list[list[str]]:
        batches.append(words)
        return [gold_by_words[tuple(w)] for w in words]

    result = evaluate(SENTENCES, predict, batch_size=2)
    assert batches == [[list(s.words) for s in SENTENCES[:2]], [list(SENTENCES[2].words)]]
    assert result.report.micro == PRF(1.0, 1.0, 1.0, 4)
    assert result.report.n_tokens == 7
    assert result.seconds > 0
    assert result.words_per_s == pytest.approx(7 / result.seconds)
    assert result.sentences_per_s == pytest.approx(3 / result.seconds)
    assert result.to_dict()["micro"] == result.report.micro.to_dict()
    assert "words/s" in result.format()


def test_evaluate_scores_like_score() -> None:
    def predict(words: list[list[str]]) -> list[list[str]]:
        return [["B-PER"] + ["O"] * (len(w) - 1) for w in words]

    result = evaluate(SENTENCES, predict)
    expected = score([s.tags for s in SENTENCES], predict([list(s.words) for s in SENTENCES]))
    assert result.report == expected


def test_evaluate_rejects_wrong_prediction_shapes() -> None:
    with pytest.raises(
        ValueError, match="line 4 \\(1 sentence\\(s\\)\\): predict returned 2 tags for 4"
    ):
        evaluate(SENTENCES, lambda words: [["O"] * 2 for _ in words])
    with pytest.raises(ValueError, match="returned 1 tag lists for a batch of 2 inputs"):
        evaluate(SENTENCES, lambda words: [["O"]], batch_size=2)
    with pytest.raises(ValueError, match="batch_size"):
        evaluate(SENTENCES, lambda words: words, batch_size=0)


def test_evaluate_joins_sentences_of_a_document_and_scores_sentences() -> None:
    sentences = [
        Sentence(("Peter", "Blackburn"), ("I-PER", "I-PER"), 1, document=0),
        Sentence(("in", "Paris"), ("O", "I-LOC"), 4, document=0),
        Sentence(("EU",), ("I-ORG",), 9, document=1),
        Sentence(("Rome",), ("I-LOC",), 12, document=2),
        Sentence(("Oslo",), ("I-LOC",), 14, document=2),
        Sentence(("Bonn",), ("I-LOC",), 16, document=2),
    ]
    batches: list[list[list[str]]] = []

    def predict(words: list[list[str]]) -> list[list[str]]:
        batches.append(words)
        # An entity running over the sentence break: scoring must cut it there.
        return [["B-PER"] * len(w) for w in words]

    result = evaluate(sentences, predict, batch_size=3, sentences_per_input=2)
    # Never across documents; at most 2 sentences per input; ~3 sentences per batch.
    assert batches == [
        [["Peter", "Blackburn", "in", "Paris"], ["EU"]],
        [["Rome", "Oslo"], ["Bonn"]],
    ]
    expected = score(
        [s.tags for s in sentences], [["B-PER", "B-PER"], ["B-PER", "B-PER"]] + [["B-PER"]] * 4
    )
    assert result.report == expected
    assert result.report.n_sentences == 6
    with pytest.raises(
        ValueError, match="line 1 \\(2 sentence\\(s\\)\\): predict returned 3 tags for 4"
    ):
        evaluate(sentences, lambda words: [["O"] * 3 for _ in words], sentences_per_input=9)
    with pytest.raises(ValueError, match="sentences_per_input"):
        evaluate(sentences, predict, sentences_per_input=0)


def test_evaluate_progress_goes_to_stderr(capsys: pytest.CaptureFixture[str]) -> None:
    evaluate(SENTENCES, lambda words: [["O"] * len(w) for w in words], progress=True)
    captured = capsys.readouterr()
    assert captured.out == ""
    assert "evaluated 3/3 sentences" in captured.err
