"""What entity patterns cost: build time of N patterns, and time added per text.

Patterns come from a CoNLL training file (every distinct gold entity, with its type) topped up
to N with made-up multi-word names built from the file's capitalized words, so the automaton
holds realistic keys and real texts really match some of them. The texts are CoNLL test
sentences. One engine is timed on the same texts without and with the patterns, repeats
interleaved (without, with, without, ...) so drift on a shared machine hits both alike;
the matcher alone (``Patterns.find``) is timed too, since "with - without" is a difference of
two noisy numbers.
"""

from __future__ import annotations

import json
import random
import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

from ..data.conll import Sentence
from ..engine.core import Engine
from ..types import TextResult


@dataclass(frozen=True)
class PatternsBench:
    patterns: int
    gold_patterns: int  # of which distinct gold entities of the training file
    texts: int
    build_s: float  # read the JSONL file and build the automata
    model_ms_per_text: float  # engine alone (median over repeats)
    with_patterns_ms_per_text: float  # engine with patterns (median over repeats)
    overhead_ms_per_text: float  # the difference
    overhead_ratio: float  # with / without
    match_ms_per_text: float  # Patterns.find alone
    pattern_entities: int  # pattern matches kept in the results (rules policy)

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2)

    def markdown_rows(self) -> str:
        return "\n".join(
            [
                "| patterns | build s | engine ms/text | with patterns ms/text | overhead "
                "ms/text | with ÷ without | matcher alone ms/text |",
                "|---|---|---|---|---|---|---|",
                f"| {self.patterns:,} | {self.build_s:.2f} | {self.model_ms_per_text:.3f} | "
                f"{self.with_patterns_ms_per_text:.3f} | {self.overhead_ms_per_text:.3f} | "
                f"{self.overhead_ratio:.3f} | {self.match_ms_per_text:.4f} |",
            ]
        )


def gold_entities(sentences: Sequence[Sentence]) -> dict[str, str]:
    """Distinct entity strings of a CoNLL file → their first type."""
    found: dict[str, str] = {}
    for s in sentences:
        words: list[str] = []
        label = None
        for word, tag in [*zip(s.words, s.tags, strict=True), ("", "O")]:
            if words and not tag.startswith("I-"):
                found.setdefault(" ".join(words), label or "MISC")
                words = []
            if tag != "O" and (tag.startswith("B-") or not words):
                words, label = [word], tag[2:]
            elif tag.startswith("I-"):
                words.append(word)
    return found


def write_patterns(sentences: Sequence[Sentence], count: int, path: Path, seed: int = 0) -> int:
    """Write ``count`` patterns to ``path``; returns how many are gold entities."""
    gold = list(gold_entities(sentences).items())[:count]
    names = sorted({w for s in sentences for w in s.words if w[:1].isupper() and w.isalpha()})
    rng = random.Random(seed)
    seen = {text for text, _ in gold}
    with path.open("w", encoding="utf-8") as out:
        for text, label in gold:
            out.write(json.dumps({"label": label, "pattern": text, "id": "gold"}) + "\n")
        made = len(gold)
        while made < count:
            text = f"{rng.choice(names)} {rng.choice(names)} {rng.choice(names)}"
            if text not in seen:
                seen.add(text)
                out.write(json.dumps({"label": "ORG", "pattern": text, "id": "made"}) + "\n")
                made += 1
    return len(gold)


def _median_seconds(run: Callable[[], object], repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def run_patterns_bench(
    engine: Engine,
    texts: Sequence[str],
    train: Sequence[Sentence],
    count: int,
    work: Path,
    repeats: int = 3,
) -> PatternsBench:
    from ..patterns import Patterns

    path = work / "patterns.jsonl"
    gold = write_patterns(train, count, path)
    start = time.perf_counter()
    patterns = Patterns.from_jsonl(path)
    build_s = time.perf_counter() - start

    batch = list(texts)

    def run(with_patterns: bool) -> list[TextResult]:
        engine.patterns = patterns if with_patterns else None
        return engine(batch)  # the whole batch in one call: the engine's own batching

    run(False), run(True)  # warm-up
    plain, ruled = [], []
    for _ in range(repeats):
        plain.append(_median_seconds(lambda: run(False), 1))
        ruled.append(_median_seconds(lambda: run(True), 1))
    match_s = _median_seconds(lambda: [patterns.find(t) for t in batch], repeats)
    kept = sum(1 for r in run(True) for e in r.entities if e.pattern_id is not None)
    engine.patterns = None
    n = len(batch)
    t_plain, t_ruled = statistics.median(plain), statistics.median(ruled)
    return PatternsBench(
        patterns=len(patterns),
        gold_patterns=gold,
        texts=n,
        build_s=build_s,
        model_ms_per_text=1000 * t_plain / n,
        with_patterns_ms_per_text=1000 * t_ruled / n,
        overhead_ms_per_text=1000 * (t_ruled - t_plain) / n,
        overhead_ratio=t_ruled / t_plain,
        match_ms_per_text=1000 * match_s / n,
        pattern_entities=kept,
    )
