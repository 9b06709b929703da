"""Entity-level precision / recall / F1, identical to ``seqeval.metrics`` in its default mode.

seqeval's default (non-strict, "conlleval-compatible") mode chunks tags with a small state
machine over (prefix, type) pairs, which makes it accept IOB1, IOB2, IOE and IOBES alike. We
reproduce that machine rather than depend on seqeval at runtime (it pulls in scikit-learn), and
the tests cross-check every number against seqeval itself.

Semantics worth knowing (all mirrored here):

* A tag is split into a one-character prefix and a type: ``"B-PER"`` -> (``B``, ``PER``); the
  type of ``"O"`` (and of any tag with an empty type) is ``"_"``.
* ``I-X`` after ``O`` or after a different type starts a chunk (so IOB1 works), ``B-X`` always
  starts one, and a type change inside a run of ``I-`` tags splits it.
* Sentences are concatenated with an ``O`` between them and scanned as one sequence, so spans
  are positions in that concatenation and no IOB chunk crosses a sentence boundary. (Only with
  non-IOB prefixes such as ``X`` can a chunk end without having started; it then reuses the last
  start offset, possibly from an earlier sentence. Kept for exactness; nerve's own tags never
  do this.)
* Spans are compared as sets per type; precision and recall are 0.0 when undefined, and F1 is
  ``2 * p * r / (p + r)`` computed from the rounded p and r, exactly as seqeval does, so results
  agree to the last bit.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass

__all__ = ["PRF", "Report", "extract_spans", "prf_from_counts", "score"]

Span = tuple[str, int, int]  # (type, first index, last index) -- inclusive, like seqeval

_OUTSIDE = "O"
_NO_TYPE = "_"  # seqeval's type for "O" and for tags with an empty type
# Prefixes that close the current chunk no matter what follows.
_CLOSE_AFTER = frozenset("ES")
_INSIDE = frozenset("BI")
# Prefixes that end a B-/I- chunk when they follow it.
_BREAK_INSIDE = frozenset("BSO")
# Prefixes that open a chunk when they follow a closed one.
_OPEN_ALWAYS = frozenset("BS")
_CONTINUE = frozenset("IE")
_AFTER_CLOSED = frozenset("ESO")
# Prefixes for which a type change does not matter ("." is seqeval's other no-chunk tag).
_NEUTRAL = frozenset("O.")


@dataclass(frozen=True)
class PRF:
    precision: float
    recall: float
    f1: float
    support: int  # number of gold entities

    def to_dict(self) -> dict[str, float | int]:
        return asdict(self)


@dataclass(frozen=True)
class Report:
    micro: PRF
    per_type: dict[str, PRF]  # sorted by type name
    n_sentences: int
    n_tokens: int

    def to_dict(self) -> dict[str, object]:
        return {
            "micro": self.micro.to_dict(),
            "per_type": {name: prf.to_dict() for name, prf in self.per_type.items()},
            "n_sentences": self.n_sentences,
            "n_tokens": self.n_tokens,
        }

    def format_table(self, digits: int = 4) -> str:
        """A table laid out like seqeval's ``classification_report``, with the micro average."""
        width = max([len("micro avg"), digits, *map(len, self.per_type)])
        header = f"{'':>{width}s} " + "".join(
            f" {h:>9}" for h in ("precision", "recall", "f1-score", "support")
        )
        rows = [_format_row(name, prf, width, digits) for name, prf in self.per_type.items()]
        micro = _format_row("micro avg", self.micro, width, digits)
        footer = f"{self.n_sentences} sentences, {self.n_tokens} tokens"
        return "\n".join([header, "", *rows, "", micro, "", footer]) + "\n"


def _format_row(name: str, prf: PRF, width: int, digits: int) -> str:
    numbers = "".join(f" {v:>9.{digits}f}" for v in (prf.precision, prf.recall, prf.f1))
    return f"{name:>{width}s} {numbers} {prf.support:>9}"


def _split_tag(tag: str) -> tuple[str, str]:
    if not tag:
        raise ValueError("empty tag")
    rest = tag[1:]
    before, sep, after = rest.partition("-")
    return tag[0], (after if sep else before) or _NO_TYPE


def _ends(prev_tag: str, prev_type: str, tag: str, type_: str) -> bool:
    """Does the chunk containing the previous token end before this token?"""
    if prev_tag in _CLOSE_AFTER:
        return True
    if prev_tag in _INSIDE and tag in _BREAK_INSIDE:
        return True
    return prev_tag not in _NEUTRAL and prev_type != type_


def _starts(prev_tag: str, prev_type: str, tag: str, type_: str) -> bool:
    """Does a new chunk start at this token?"""
    if tag in _OPEN_ALWAYS:
        return True
    if tag in _CONTINUE and prev_tag in _AFTER_CLOSED:
        return True
    return tag not in _NEUTRAL and prev_type != type_


def _scan(tags: Iterator[str]) -> list[Span]:
    spans: list[Span] = []
    prev_tag, prev_type = _OUTSIDE, _NO_TYPE
    # Like seqeval, the start offset is only updated when a chunk starts: for odd prefixes a
    # chunk can end without having started, and then it reuses the last start.
    begin = 0
    cache: dict[str, tuple[str, str]] = {}
    i = -1
    for i, label in enumerate(tags):
        parsed = cache.get(label)
        if parsed is None:
            parsed = cache[label] = _split_tag(label)
        tag, type_ = parsed
        if _ends(prev_tag, prev_type, tag, type_):
            spans.append((prev_type, begin, i - 1))
        if _starts(prev_tag, prev_type, tag, type_):
            begin = i
        prev_tag, prev_type = tag, type_
    # A virtual trailing "O" closes whatever is still open.
    if _ends(prev_tag, prev_type, _OUTSIDE, _NO_TYPE):
        spans.append((prev_type, begin, i))
    return spans


def extract_spans(tags: Sequence[str]) -> list[Span]:
    """Entity spans ``(type, first, last)`` (inclusive) of one tag sequence, seqeval-style."""
    return _scan(iter(tags))


def _concatenated(sentences: Sequence[Sequence[str]]) -> Iterator[str]:
    for sentence in sentences:
        yield from sentence
        yield _OUTSIDE


def _by_type(spans: list[Span]) -> dict[str, set[tuple[int, int]]]:
    out: dict[str, set[tuple[int, int]]] = {}
    for type_, start, end in spans:
        out.setdefault(type_, set()).add((start, end))
    return out


def prf_from_counts(correct: int, predicted: int, gold: int) -> PRF:
    precision = correct / predicted if predicted else 0.0
    recall = correct / gold if gold else 0.0
    denom = precision + recall
    f1 = 2 * precision * recall / denom if denom else 0.0
    return PRF(precision, recall, f1, gold)


def _check_shapes(gold: Sequence[Sequence[str]], pred: Sequence[Sequence[str]]) -> None:
    if len(gold) != len(pred):
        raise ValueError(f"gold has {len(gold)} sentences but pred has {len(pred)}")
    for index, (g, p) in enumerate(zip(gold, pred, strict=True)):
        # A flat tag list passed as "sentences" would otherwise be scored character by character.
        if isinstance(g, str) or isinstance(p, str):
            raise ValueError(f"sentence {index}: expected a sequence of tags, got a string")
        if len(g) != len(p):
            raise ValueError(f"sentence {index}: gold has {len(g)} tags but pred has {len(p)}")


def score(gold: Sequence[Sequence[str]], pred: Sequence[Sequence[str]]) -> Report:
    """Entity-level scores of ``pred`` against ``gold`` (lists of per-sentence tag lists)."""
    _check_shapes(gold, pred)
    gold_spans = _by_type(_scan(_concatenated(gold)))
    pred_spans = _by_type(_scan(_concatenated(pred)))
    per_type: dict[str, PRF] = {}
    correct = predicted = expected = 0
    for type_ in sorted(gold_spans.keys() | pred_spans.keys()):
        g = gold_spans.get(type_, set())
        p = pred_spans.get(type_, set())
        per_type[type_] = prf_from_counts(len(g & p), len(p), len(g))
        correct += len(g & p)
        predicted += len(p)
        expected += len(g)
    return Report(
        micro=prf_from_counts(correct, predicted, expected),
        per_type=per_type,
        n_sentences=len(gold),
        n_tokens=sum(len(s) for s in gold),
    )
