"""Measurements: throughput (median of repetitions after a warm-up), latency, peak RSS."""

from __future__ import annotations

import math
import resource
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Throughput:
    seconds: tuple[float, ...]  # one per repetition, the whole workload in one call

    @property
    def median(self) -> float:
        return statistics.median(self.seconds)


def time_throughput(
    run: Callable[[list[str]], object], texts: Sequence[str], repeats: int, warmup: int
) -> Throughput:
    """Warm up on the first ``warmup`` texts (lazy initialisation, caches, thread pools),
    then time ``repeats`` runs over all texts."""
    batch = list(texts)
    run(batch[: max(1, warmup)])
    seconds = []
    for _ in range(repeats):
        start = time.perf_counter()
        run(batch)
        seconds.append(time.perf_counter() - start)
    return Throughput(tuple(seconds))


def time_latencies(run_one: Callable[[str], object], texts: Sequence[str]) -> list[float]:
    """Seconds per text, one text per call (batch 1), after one warm-up call."""
    if texts:
        run_one(texts[0])
    out = []
    for text in texts:
        start = time.perf_counter()
        run_one(text)
        out.append(time.perf_counter() - start)
    return out


def percentile(values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100): a value that was actually measured."""
    if not values:
        return math.nan
    ordered = sorted(values)
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return ordered[rank - 1]


def peak_rss_mb() -> float:
    """This process's peak resident set size in MiB (the system runs alone in its process).

    Linux: ``VmHWM``, the high-water mark of this process's own address space. Not
    ``ru_maxrss``: exec folds the parent's high-water mark into it, so a child started by a
    big parent (one that has just built a BERT-base model) would report the parent's peak.
    """
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024  # kB
    except OSError:
        pass
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    # Linux reports KiB, macOS bytes.
    return peak / (1024 * 1024) if sys.platform == "darwin" else peak / 1024
