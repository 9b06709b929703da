"""Run a tagger over gold sentences, score it and time it."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from nerve.data.conll import Sentence
from nerve.eval.scoring import Report, score

__all__ = ["EvalResult", "Predictor", "evaluate"]

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
) -> EvalResult:
    """Tag ``sentences`` with ``predict`` in batches and score against their gold tags.

    Gold and predictions are compared as entity spans with seqeval's default chunking, so an
    IOB2 tagger is scored correctly against IOB1 gold (and vice versa) without conversion.
    Only time spent in ``predict`` is counted, so the throughput is the tagger's, not ours.
    """
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    predictions: list[list[str]] = []
    seconds = 0.0
    for start in range(0, len(sentences), batch_size):
        batch = sentences[start : start + batch_size]
        words = [list(s.words) for s in batch]
        t0 = time.perf_counter()
        tags = predict(words)
        seconds += time.perf_counter() - t0
        _check_batch(batch, tags, start)
        predictions.extend(tags)
        if progress:
            _report_progress(len(predictions), len(sentences))
    report = score([s.tags for s in sentences], predictions)
    return EvalResult(
        report=report,
        seconds=seconds,
        sentences_per_s=_rate(report.n_sentences, seconds),
        words_per_s=_rate(report.n_tokens, seconds),
    )


def _check_batch(batch: Sequence[Sentence], tags: list[list[str]], start: int) -> None:
    # A predictor that drops or merges words would otherwise surface as a confusing
    # length error in score(), far from the batch that caused it.
    if len(tags) != len(batch):
        raise ValueError(
            f"predict returned {len(tags)} tag lists for a batch of {len(batch)} sentences "
            f"(sentences {start}..{start + len(batch) - 1})"
        )
    for offset, (sentence, predicted) in enumerate(zip(batch, tags, strict=True)):
        if len(predicted) != len(sentence.words):
            raise ValueError(
                f"sentence {start + offset} (line {sentence.line}): predict returned "
                f"{len(predicted)} tags for {len(sentence.words)} words"
            )


def _report_progress(done: int, total: int) -> None:
    print(f"\revaluated {done}/{total} sentences", end="", file=sys.stderr, flush=True)
    if done == total:
        print(file=sys.stderr)


def _rate(count: int, seconds: float) -> float:
    return count / seconds if seconds > 0 else 0.0
