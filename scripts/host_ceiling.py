"""How fast nerve's host side alone goes: the engine with a model that costs nothing.

On a GPU the model is fast enough that the host's share (tokenizing, cutting windows,
batching, packing, decoding, building entities: Python and Rust on the CPU) sets the
ceiling of "text in, entities out". This runs the whole engine (``Engine.__call__``, as
``nerve bench`` does) with the model replaced by a stand-in that returns "O" for every token
at once, on the bench's workloads, and prints texts/s and tokens/s: no GPU can take the
engine past these figures on this CPU in one process.

    NERVE_CONLL_DIR=../shared/data/conll2003 python scripts/host_ceiling.py [--json FILE]

The stand-in takes the accelerator's path: packed batches of the engine's whole token budget
(``max_batch_tokens``), rows joined into one array and the logits split back per window, as
the torch backend does on CUDA. Tokens are counted as ``nerve bench`` counts them.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from nerve.bench.arguments import at_least
from nerve.bench.runner import cpu_model
from nerve.bench.stand_in import free_engine
from nerve.bench.workloads import Workload, build_workloads, default_conll_file, read_sentences
from nerve.hostpool import HostPool


def measure(run: Callable[..., Any], workload: Workload, repeats: int) -> dict[str, float]:
    """``run``: the engine, or a ``HostPool`` over it."""
    texts = list(workload.texts)
    run(texts[:8], aggregation_strategy="simple")  # warm-up
    seconds = []
    for _ in range(repeats):
        started = time.perf_counter()
        run(texts, aggregation_strategy="simple")
        seconds.append(time.perf_counter() - started)
    took = statistics.median(seconds)
    return {
        "texts": len(texts),
        "tokens": workload.tokens,
        "seconds": round(took, 4),
        "texts_per_s": round(len(texts) / took, 1),
        "tokens_per_s": round(workload.tokens / took),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=None, help="model path (default: the embedded one)")
    parser.add_argument("--workloads", default="short,long")
    parser.add_argument("--limit", type=at_least(1), default=None, help="texts per workload")
    parser.add_argument("--repeats", type=at_least(1), default=3)
    parser.add_argument("--json", type=Path, default=None, help="also write the figures here")
    parser.add_argument(
        "--host-workers",
        type=at_least(0),
        default=0,
        help="tokenize and decode in this many worker processes (nerve.hostpool); 0: in this one",
    )
    args = parser.parse_args()
    engine, model_dir = free_engine(args.model)
    sentences = read_sentences(default_conll_file())
    names = [name.strip() for name in args.workloads.split(",") if name.strip()]
    workloads = build_workloads(names, sentences, model_dir / "tokenizer.json", args.limit)
    report: dict[str, object] = {
        "cpu": cpu_model(),
        "cores": len(os.sched_getaffinity(0)),
        "model": str(model_dir),
        "host_workers": args.host_workers,
        "workloads": {},
    }
    where = f"host workers: {args.host_workers}" if args.host_workers else "one process"
    print(f"CPU: {report['cpu']}, {report['cores']} cores; the model costs nothing; {where}")
    pool = HostPool(engine, args.host_workers) if args.host_workers else None
    try:
        for workload in workloads:
            figures = measure(pool or engine, workload, args.repeats)
            report["workloads"][workload.name] = figures  # type: ignore[index]
            print(
                f"{workload.name}: {figures['texts']} texts, {figures['tokens']:,} tokens: "
                f"{figures['texts_per_s']:,.0f} texts/s, {figures['tokens_per_s']:,.0f} tokens/s"
            )
    finally:
        if pool is not None:
            pool.close()
    if args.json is not None:
        args.json.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
