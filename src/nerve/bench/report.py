"""The bench's results: one row per (workload, system), nerve's ratios, table and JSON."""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass, field
from typing import Any

from .timing import percentile
from .workloads import Workload


@dataclass(frozen=True)
class SystemResult:
    """One system on one workload. Throughput: median of the repetitions."""

    system: str
    workload: str
    seconds: tuple[float, ...]
    latencies: tuple[float, ...]  # seconds per text at batch 1
    tokens: int
    texts: int
    words: int
    peak_rss_mb: float  # of the system's own process, over all its workloads
    info: dict[str, str] = field(default_factory=dict)

    @property
    def median_s(self) -> float:
        return statistics.median(self.seconds)

    def per_second(self, amount: int) -> float:
        return amount / self.median_s if self.median_s > 0 else math.inf

    @property
    def tokens_per_s(self) -> float:
        return self.per_second(self.tokens)

    @property
    def p50_ms(self) -> float:
        return percentile(self.latencies, 50) * 1e3

    @property
    def p99_ms(self) -> float:
        return percentile(self.latencies, 99) * 1e3

    def to_json(self) -> dict[str, Any]:
        return {
            "system": self.system,
            "workload": self.workload,
            "tokens_per_s": self.tokens_per_s,
            "texts_per_s": self.per_second(self.texts),
            "words_per_s": self.per_second(self.words),
            "p50_ms": self.p50_ms,
            "p99_ms": self.p99_ms,
            "latency_texts": len(self.latencies),
            "peak_rss_mb": self.peak_rss_mb,
            "seconds": list(self.seconds),
            "info": self.info,
        }


@dataclass(frozen=True)
class BenchReport:
    meta: dict[str, Any]
    workloads: tuple[Workload, ...]
    results: tuple[SystemResult, ...]
    skipped: dict[str, str] = field(default_factory=dict)  # system → why it did not run

    def ratios(self) -> dict[str, dict[str, float]]:
        """Per workload, nerve's tokens/s divided by each peer's (>1: nerve is faster)."""
        out: dict[str, dict[str, float]] = {}
        for w in self.workloads:
            rows = {r.system: r for r in self.results if r.workload == w.name}
            if "nerve" not in rows:
                continue
            base = rows["nerve"].tokens_per_s
            out[w.name] = {
                name: base / r.tokens_per_s for name, r in rows.items() if name != "nerve"
            }
        return out

    def to_json(self) -> dict[str, Any]:
        return {
            "meta": self.meta,
            "workloads": [w.to_json() for w in self.workloads],
            "results": [r.to_json() for r in self.results],
            "ratios": self.ratios(),
            "skipped": self.skipped,
        }

    def format_table(self) -> str:
        """A Markdown table (readable in a terminal, pasteable into BENCHMARKS.md)."""
        ratios = self.ratios()
        head = (
            "| workload | system | tok/s | texts/s | words/s | p50 ms | p99 ms "
            "| peak RSS MB | nerve × |"
        )
        lines = [head, "|" + "---|" * 9]
        for r in self.results:
            ratio = ratios.get(r.workload, {}).get(r.system)
            lines.append(
                f"| {r.workload} | {r.system} | {r.tokens_per_s:,.0f} "
                f"| {r.per_second(r.texts):,.1f} | {r.per_second(r.words):,.0f} "
                f"| {r.p50_ms:.2f} | {r.p99_ms:.2f} | {r.peak_rss_mb:,.0f} "
                f"| {'' if ratio is None else f'{ratio:.2f}'} |"
            )
        sizes = "; ".join(
            f"{w.name}: {len(w.texts):,} texts, {w.tokens:,} tokens, {w.words:,} words"
            for w in self.workloads
        )
        notes = [f"workloads — {sizes}"]
        seen: dict[str, dict[str, str]] = {r.system: r.info for r in self.results}
        notes += [
            f"{name} — " + ", ".join(f"{k} {v}" for k, v in info.items())
            for name, info in seen.items()
        ]
        notes += [f"{name} skipped: {why}" for name, why in self.skipped.items()]
        return "\n".join(lines + [""] + notes) + "\n"
