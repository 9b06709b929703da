"""Run a tagger over gold sentences, score it and time it."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

from nerve.data.conll import Sentence, group_documents
from nerve.eval.scoring import Report, score

__all__ = ["EvalResult", "Predictor", "batches_of", "evaluate", "units_of"]

# Maps a batch of sentences (lists of words) to one tag per word.
Predictor = Callable[[list[list[str]]], list[list[str]]]


@dataclass(frozen=True)
class EvalResult:
    report: Report
    seconds: float  # wall time spent inside predict(), summed over batches
    sentences_per_s: float
    words_per_s: float

    def to_dict(self) -> dict[str, object]:
        return {
            **self.report.to_dict(),
            "seconds": self.seconds,
            "sentences_per_s": self.sentences_per_s,
            "words_per_s": self.words_per_s,
        }

    def format(self) -> str:
        speed = (
            f"{self.seconds:.3f} s, {self.sentences_per_s:,.1f} sentences/s, "
            f"{self.words_per_s:,.1f} words/s"
        )
        return self.report.format_table() + speed + "\n"


def evaluate(
    sentences: Sequence[Sentence],
    predict: Predictor,
    *,
    batch_size: int = 256,
    progress: bool = False,
    sentences_per_input: int = 1,
) -> EvalResult:
    """Tag ``sentences`` with ``predict`` in batches and score against their gold tags.

    Gold and predictions are compared as entity spans with seqeval's default chunking, so an
    IOB2 tagger is scored correctly against IOB1 gold (and vice versa) without conversion.
    Only time spent in ``predict`` is counted, so the throughput is the tagger's, not ours.

    ``sentences_per_input`` > 1: up to that many consecutive sentences of one document go to
    ``predict`` as ONE word sequence (long inputs, which a model with a limited window runs
    in overlapping windows), and the tags are cut back into sentences for scoring. The scores
    then measure the model on running text, windowing included. ``batch_size`` still counts
    sentences.
    """
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    if sentences_per_input < 1:
        raise ValueError(f"sentences_per_input must be >= 1, got {sentences_per_input}")
    units = units_of(sentences, sentences_per_input)
    predictions: list[list[str]] = []
    seconds = 0.0
    for batch in batches_of(units, batch_size):
        words = [[w for s in unit for w in s.words] for unit in batch]
        t0 = time.perf_counter()
        tags = predict(words)
        seconds += time.perf_counter() - t0
        _check_batch(batch, words, tags, len(predictions))
        for unit, unit_tags in zip(batch, tags, strict=True):
            predictions.extend(_split(unit_tags, unit))
        if progress:
            report_progress(len(predictions), len(sentences))
    report = score([s.tags for s in sentences], predictions)
    return EvalResult(
        report=report,
        seconds=seconds,
        sentences_per_s=rate(report.n_sentences, seconds),
        words_per_s=rate(report.n_tokens, seconds),
    )


def units_of(sentences: Sequence[Sentence], sentences_per_input: int) -> list[list[Sentence]]:
    """Runs of up to ``sentences_per_input`` consecutive sentences of one document."""
    return [
        document[i : i + sentences_per_input]
        for document in group_documents(sentences)
        for i in range(0, len(document), sentences_per_input)
    ]


def batches_of(units: list[list[Sentence]], batch_size: int) -> Iterator[list[list[Sentence]]]:
    """Consecutive units, each batch holding about ``batch_size`` sentences (at least one unit)."""
    batch: list[list[Sentence]] = []
    count = 0
    for unit in units:
        batch.append(unit)
        count += len(unit)
        if count >= batch_size:
            yield batch
            batch, count = [], 0
    if batch:
        yield batch


def _split(tags: list[str], unit: list[Sentence]) -> list[list[str]]:
    out, pos = [], 0
    for sentence in unit:
        out.append(list(tags[pos : pos + len(sentence)]))
        pos += len(sentence)
    return out


def _check_batch(
    batch: list[list[Sentence]], words: list[list[str]], tags: list[list[str]], done: int
) -> None:
    # A predictor that drops or merges words would otherwise surface as a confusing
    # length error in score(), far from the batch that caused it.
    if len(tags) != len(batch):
        raise ValueError(
            f"predict returned {len(tags)} tag lists for a batch of {len(batch)} inputs "
            f"(from sentence {done})"
        )
    for unit, unit_words, predicted in zip(batch, words, tags, strict=True):
        if len(predicted) != len(unit_words):
            raise ValueError(
                f"input starting at line {unit[0].line} ({len(unit)} sentence(s)): predict "
                f"returned {len(predicted)} tags for {len(unit_words)} words"
            )


def report_progress(done: int, total: int) -> None:
    print(f"\revaluated {done}/{total} sentences", end="", file=sys.stderr, flush=True)
    if done == total:
        print(file=sys.stderr)


def rate(count: int, seconds: float) -> float:
    return count / seconds if seconds > 0 else 0.0
