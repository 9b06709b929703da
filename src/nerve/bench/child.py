"""One system, measured in a fresh interpreter: ``python -m nerve.bench.child JOB OUT``.

A fresh process per system makes its peak RSS that system's own (model, runtime,
thread pools, buffers), and keeps one system's threads and caches from slowing the next.
JOB (JSON): the system spec, the workloads' texts, repeats, warm-up and latency counts.
OUT (JSON): load time, per workload the throughput seconds and per-text latencies, peak RSS.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Any

from .peers import SystemSpec, load_system
from .timing import peak_rss_mb, time_latencies, time_throughput


def measure(job: dict[str, Any]) -> dict[str, Any]:
    spec = SystemSpec(**job["system"])
    start = time.perf_counter()
    system = load_system(spec)
    load_s = time.perf_counter() - start
    results = {}
    for workload in job["workloads"]:
        texts = workload["texts"]
        throughput = time_throughput(system.batch, texts, job["repeats"], job["warmup"])
        latencies = time_latencies(system.one, texts[: job["latency_texts"]])
        results[workload["name"]] = {"seconds": list(throughput.seconds), "latencies": latencies}
    return {
        "system": spec.name,
        "info": system.info,
        "load_s": load_s,
        "results": results,
        "peak_rss_mb": peak_rss_mb(),
    }


def main(argv: list[str]) -> int:
    job_file, out_file = (Path(a) for a in argv)
    job = json.loads(job_file.read_text(encoding="utf-8"))
    out_file.write_text(json.dumps(measure(job)), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
