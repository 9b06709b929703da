"""The server with no HTTP: its InferenceService driven by clients in process, against the
engine in the same process.

``nerve bench --server-load --load-generator wrk`` measures the whole server against the
engine (issue #17 asks for 0.8x). This takes HTTP away to see what the rest reaches: the real
``InferenceService`` of ``nerve serve`` (its admission, tokenizing on the event loop, the model
lanes, decoding in the lanes, the wake-ups of the loop), started with the server's default
configuration, and ``--clients`` coroutines that each send one CoNLL-2003 test sentence per
request, the next as soon as the last is answered, for ``--seconds``. Then the engine tags
the same sentences in one call (its own batching), as the wrk bench times it. Each round
prints both and their ratio, with the CPU each request cost by thread and the cores left idle:

    NERVE_CONLL_DIR=../shared/data/conll2003 python scripts/service_ceiling.py

BENCHMARKS.md ("Sixth look") quotes it: the ceiling any HTTP layer in front of the lanes
could reach.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass

from nerve.bench.runner import cpu_model
from nerve.bench.workloads import default_conll_file, read_sentences, short_texts
from nerve.engine.core import Engine, options_from
from nerve.server.config import ServerConfig
from nerve.server.metrics import ServerMetrics
from nerve.server.runner import load_engine
from nerve.server.service import InferenceService

LANE_PREFIX = "nerve-model-lane"


@dataclass
class Round:
    requests_per_s: float
    loop_us: float  # the event loop thread's CPU per request
    lanes_us: float  # the model lanes' CPU per request, all lanes together
    idle_cores: float
    engine_per_s: float

    def format(self, index: int) -> str:
        return (
            f"round {index}: service {self.requests_per_s:,.0f} requests/s (event loop "
            f"{self.loop_us:,.0f} µs, lanes {self.lanes_us:,.0f} µs of CPU a request; "
            f"{self.idle_cores:.2f} cores idle); engine {self.engine_per_s:,.0f} sentences/s; "
            f"service / engine = {self.requests_per_s / self.engine_per_s:.2f}"
        )


def thread_cpu_seconds() -> dict[int, float]:
    """CPU seconds (user + system) of each thread of this process, by native thread id."""
    ticks = os.sysconf("SC_CLK_TCK")
    out = {}
    for tid in os.listdir("/proc/self/task"):
        try:
            with open(f"/proc/self/task/{tid}/stat") as f:
                stat = f.read()
        except OSError:
            continue  # the thread ended
        fields = stat[stat.rindex(")") + 2 :].split()
        out[int(tid)] = (int(fields[11]) + int(fields[12])) / ticks
    return out


def machine_idle() -> tuple[int, int]:
    """(idle + iowait, all) jiffies of the whole machine since boot."""
    with open("/proc/stat") as f:
        values = [int(v) for v in f.readline().split()[1:]]
    return values[3] + values[4], sum(values)


async def drive(
    service: InferenceService, texts: Sequence[str], clients: int, seconds: float
) -> int:
    options = options_from({"aggregation_strategy": "simple"})
    stop = time.perf_counter() + seconds
    answered = 0

    async def client(first: int) -> None:
        nonlocal answered
        i = first
        while time.perf_counter() < stop:
            await service.entities([texts[i % len(texts)]], options)
            answered += 1
            i += clients  # the clients share the sentences out between them

    await asyncio.gather(*(client(k) for k in range(clients)))
    return answered


def one_round(engine: Engine, texts: Sequence[str], clients: int, seconds: float) -> Round:
    service = InferenceService(engine, ServerConfig(), ServerMetrics())
    service.start()
    try:
        lanes = {t.native_id for t in threading.enumerate() if t.name.startswith(LANE_PREFIX)}
        loop_thread = threading.get_native_id()
        before, idle_before = thread_cpu_seconds(), machine_idle()
        started = time.perf_counter()
        answered = asyncio.run(drive(service, texts, clients, seconds))
        elapsed = time.perf_counter() - started
        after, idle_after = thread_cpu_seconds(), machine_idle()
    finally:
        service.close(10)
    spent = {tid: after[tid] - before.get(tid, 0.0) for tid in after}
    idle, total = idle_after[0] - idle_before[0], idle_after[1] - idle_before[1]
    cores = len(os.sched_getaffinity(0))
    engine(list(texts[:64]), aggregation_strategy="simple")  # warm-up
    begun = time.perf_counter()
    engine(list(texts), aggregation_strategy="simple")
    engine_per_s = len(texts) / (time.perf_counter() - begun)
    per_request = 1e6 / max(answered, 1)
    return Round(
        requests_per_s=answered / elapsed,
        loop_us=spent.get(loop_thread, 0.0) * per_request,
        lanes_us=sum(spent.get(tid, 0.0) for tid in lanes) * per_request,
        idle_cores=cores * idle / total if total else 0.0,
        engine_per_s=engine_per_s,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=None, help="model path (default: the embedded one)")
    parser.add_argument("--limit", type=int, default=1000, help="sentences (default 1000)")
    parser.add_argument("--clients", type=int, default=64)
    parser.add_argument("--seconds", type=float, default=10.0, help="per round (default 10)")
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    texts = short_texts(read_sentences(default_conll_file()), args.limit)
    engine = load_engine(ServerConfig(model=args.model))
    print(
        f"CPU: {cpu_model()}, {len(os.sched_getaffinity(0))} cores; {len(texts)} sentences, "
        f"{args.clients} clients, {args.seconds:g} s a round"
    )
    for index in range(1, args.rounds + 1):
        print(one_round(engine, texts, args.clients, args.seconds).format(index), flush=True)


if __name__ == "__main__":
    main()
