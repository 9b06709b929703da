"""``nerve bench``: nerve and its peers on the same texts, in one invocation, side by side.

``workloads`` builds the texts (CoNLL-2003 test sentences; ~2,000-word documents from the
same data) and counts their tokens once, with the model's tokenizer, for every system.
``peers`` knows how to run each system (nerve, the transformers pipeline, spaCy); ``child``
runs one system in a fresh interpreter, so that its peak RSS is its own; ``models`` resolves
the model (or builds a random one of a standard shape); ``timing`` holds the measurements;
``report`` the table and the JSON; ``runner`` ties them together.
"""

from __future__ import annotations

from .report import BenchReport, SystemResult
from .runner import BenchConfig, run_bench

__all__ = ["BenchConfig", "BenchReport", "SystemResult", "run_bench"]
