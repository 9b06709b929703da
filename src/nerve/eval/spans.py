"""Entity-span evaluation of a strategy on raw text: what a user of ``engine(text)`` gets.

``nerve eval`` by default feeds pre-split words and scores one label per word (the CoNLL
protocol). That hides how a strategy groups sub-words: a model whose continuation pieces are
unlabelled still scores well per word, yet ``simple`` returns ``U`` and ``K`` for ``U.K.``.
Here each gold unit becomes a text (its words joined by single spaces), the engine returns
entities with character offsets under the chosen strategy, and predicted spans are compared
with the gold spans as (type, start, end) in characters: a split or over-long entity is wrong.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence

from nerve.data.conll import Sentence, to_iob2
from nerve.eval.evaluate import EvalResult, batches_of, rate, report_progress, units_of
from nerve.eval.scoring import PRF, Report, extract_spans, prf_from_counts

__all__ = ["CharSpan", "evaluate_spans", "gold_text", "score_spans"]

CharSpan = tuple[str, int, int]  # (type, start, end): end exclusive, in code points

# Texts → per text, the predicted (type, start, end) spans.
SpanPredictor = Callable[[list[str]], list[set[CharSpan]]]


def gold_text(unit: Sequence[Sentence]) -> tuple[str, set[CharSpan]]:
    """The unit's words joined by single spaces, and its gold entities as character spans."""
    words = [w for s in unit for w in s.words]
    # IOB2 per sentence, so no chunk runs across a sentence break of a joined unit.
    tags = [t for s in unit for t in to_iob2(s.tags)]
    starts, pos = [], 0
    for word in words:
        starts.append(pos)
        pos += len(word) + 1
    spans = {
        (type_, starts[first], starts[last] + len(words[last]))
        for type_, first, last in extract_spans(tags)
    }
    return " ".join(words), spans


def score_spans(
    gold: Sequence[set[CharSpan]], predicted: Sequence[set[CharSpan]], n_tokens: int
) -> Report:
    """Micro and per-type P/R/F1 of exact span matches (seqeval's arithmetic)."""
    if len(gold) != len(predicted):
        raise ValueError(f"{len(gold)} gold texts but {len(predicted)} predictions")
    types = sorted({s[0] for spans in (*gold, *predicted) for s in spans})
    per_type: dict[str, PRF] = {}
    totals = [0, 0, 0]
    for type_ in types:
        counts = [0, 0, 0]  # correct, predicted, gold
        for g, p in zip(gold, predicted, strict=True):
            g_t = {s for s in g if s[0] == type_}
            p_t = {s for s in p if s[0] == type_}
            counts[0] += len(g_t & p_t)
            counts[1] += len(p_t)
            counts[2] += len(g_t)
        per_type[type_] = prf_from_counts(*counts)
        totals = [a + b for a, b in zip(totals, counts, strict=True)]
    return Report(prf_from_counts(*totals), per_type, len(gold), n_tokens)


def evaluate_spans(
    sentences: Sequence[Sentence],
    predict: SpanPredictor,
    *,
    batch_size: int = 256,
    progress: bool = False,
    sentences_per_input: int = 1,
) -> EvalResult:
    """Like ``evaluate``, but texts in, character spans out (see the module docstring)."""
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    gold: list[set[CharSpan]] = []
    predicted: list[set[CharSpan]] = []
    seconds, done = 0.0, 0
    for batch in batches_of(units_of(sentences, sentences_per_input), batch_size):
        texts, golds = zip(*(gold_text(unit) for unit in batch), strict=True)
        t0 = time.perf_counter()
        spans = predict(list(texts))
        seconds += time.perf_counter() - t0
        if len(spans) != len(texts):
            raise ValueError(f"predict returned {len(spans)} results for {len(texts)} texts")
        gold.extend(golds)
        predicted.extend(spans)
        done += sum(len(unit) for unit in batch)
        if progress:
            report_progress(done, len(sentences))
    n_words = sum(len(s.words) for s in sentences)
    report = score_spans(gold, predicted, n_words)
    return EvalResult(
        report=Report(report.micro, report.per_type, len(sentences), n_words),
        seconds=seconds,
        sentences_per_s=rate(len(sentences), seconds),
        words_per_s=rate(n_words, seconds),
    )
