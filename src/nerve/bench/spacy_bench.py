"""spaCy's small English pipeline with its own ``ner`` and with ``nerve_ner`` in its place,
timed in one process with the repeats interleaved (own, nerve, engine alone, own, ...), so
that load from other processes on a shared machine falls on every system alike. ``nerve
bench --peers spacy,spacy-nerve`` runs the same comparison in fresh processes, one system
after the other (peak memory included); this one gives steadier ratios on a busy machine.
"""

from __future__ import annotations

import json
import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from typing import Any


@dataclass(frozen=True)
class SpacyBench:
    texts: int
    repeats: int
    spacy_ner_s: float  # en_core_web_sm, tokenizer + its own ner (median)
    spacy_nerve_s: float  # the same pipeline, nerve_ner in place of ner (median)
    engine_s: float  # the nerve engine alone on the same texts (median)
    spacy_ents: int
    nerve_ents: int

    @property
    def nerve_over_spacy(self) -> float:
        """Throughput of spaCy + nerve_ner over spaCy's own ner (> 1: nerve_ner faster)."""
        return self.spacy_ner_s / self.spacy_nerve_s

    @property
    def component_overhead(self) -> float:
        """spaCy + nerve_ner time over the bare engine's (tokenizer, alignment, doc.ents)."""
        return self.spacy_nerve_s / self.engine_s

    def to_json(self) -> str:
        data = asdict(self)
        data.update(
            nerve_over_spacy=self.nerve_over_spacy, component_overhead=self.component_overhead
        )
        return json.dumps(data, indent=2)

    def markdown_rows(self) -> str:
        n = self.texts
        rows = [
            ("en_core_web_sm, own ner", self.spacy_ner_s, self.spacy_ents),
            ("en_core_web_sm, nerve_ner", self.spacy_nerve_s, self.nerve_ents),
            ("nerve engine alone", self.engine_s, self.nerve_ents),
        ]
        lines = ["| system | texts/s | ms/text | entities |", "|---|---|---|---|"]
        lines += [f"| {name} | {n / s:,.1f} | {1000 * s / n:.3f} | {e:,} |" for name, s, e in rows]
        return "\n".join(lines)


def _timed(run: Callable[[], object]) -> float:
    start = time.perf_counter()
    run()
    return time.perf_counter() - start


def run_spacy_bench(
    spacy_model: str, nerve_model: str | None, texts: Sequence[str], repeats: int = 5
) -> SpacyBench:
    import spacy

    import nerve.spacy  # noqa: F401  (registers the factory)

    own = spacy.load(spacy_model, enable=["ner"])
    ours = spacy.load(spacy_model, enable=["ner"])
    ours.replace_pipe("ner", "nerve_ner", config={"model": nerve_model})
    engine: Any = ours.get_pipe("ner").engine  # type: ignore[attr-defined]
    batch = list(texts)

    def run_own() -> list[Any]:
        return [d.ents for d in own.pipe(batch)]

    def run_ours() -> list[Any]:
        return [d.ents for d in ours.pipe(batch)]

    def run_engine() -> object:
        return engine(batch)

    spacy_ents = sum(len(e) for e in run_own())  # warm-up, and what each finds
    nerve_ents = sum(len(e) for e in run_ours())
    run_engine()
    times: dict[str, list[float]] = {"own": [], "ours": [], "engine": []}
    for _ in range(repeats):
        times["own"].append(_timed(run_own))
        times["ours"].append(_timed(run_ours))
        times["engine"].append(_timed(run_engine))
    return SpacyBench(
        texts=len(batch),
        repeats=repeats,
        spacy_ner_s=statistics.median(times["own"]),
        spacy_nerve_s=statistics.median(times["ours"]),
        engine_s=statistics.median(times["engine"]),
        spacy_ents=spacy_ents,
        nerve_ents=nerve_ents,
    )
