"""The model alone on the batches the server's lanes get, against the engine's own batches.

The server's lanes (one thread per ONNX session) each run whatever requests were queued when
their last batch ended: with 64 one-sentence clients, about 14 CoNLL sentences a batch
(``nerve_batch_requests`` on /metrics, 1 December 2026), which the engine splits by length
into model calls of two or three rows. The engine, given all sentences at once, sorts them
into batches of near-equal length. This measures what that costs the model alone (no
tokenizing, decoding or HTTP), in one run:

    NERVE_CONLL_DIR=../shared/data/conll2003 python scripts/bench_lane_batches.py

Prints sentences/s of the engine's ``run_windows`` on all sentences, then of two threads
running random batches of 15, 30 and 60 sentences (``spread=True, serial=True``, as a lane
does), each over the sentences three times in a shuffled order.

With ``--costs`` it prints instead what one model call costs on one thread, in µs per padded
token, for each batch shape (rows × width): why small calls cost more per sentence than
large ones (each call also pays a fixed part).
"""

from __future__ import annotations

import argparse
import random
import threading
import time

import numpy as np

from nerve.bench.runner import cpu_model
from nerve.bench.workloads import default_conll_file, read_sentences, short_texts
from nerve.decode.tokens import WindowTokens
from nerve.engine.core import Engine, options_from
from nerve.loader import load


def engine_rate(engine: Engine, windows: list[WindowTokens], repeats: int) -> float:
    started = time.perf_counter()
    for _ in range(repeats):
        engine.run_windows(windows)
    return repeats * len(windows) / (time.perf_counter() - started)


def lanes_rate(
    engine: Engine, windows: list[WindowTokens], batch: int, lanes: int, repeats: int
) -> float:
    order = list(range(len(windows))) * repeats
    random.shuffle(order)
    batches = [[windows[i] for i in order[k : k + batch]] for k in range(0, len(order), batch)]
    lock = threading.Lock()

    def lane() -> None:
        while True:
            with lock:
                if not batches:
                    return
                mine = batches.pop()
            engine.run_windows(mine, batch_tokens=512, spread=True, serial=True)

    started = time.perf_counter()
    threads = [threading.Thread(target=lane) for _ in range(lanes)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return len(order) / (time.perf_counter() - started)


def call_costs(engine: Engine, rows: tuple[int, ...], widths: tuple[int, ...]) -> list[str]:
    """One thread's CPU time per padded token of a model call, by batch shape: the best of
    three timed rounds, each of enough calls to take ~50 ms."""
    lines = ["rows \\ width " + " ".join(f"{w:>6}" for w in widths)]
    for n in rows:
        cells = []
        for width in widths:
            ids = np.ones((n, width), dtype=np.int64)  # which ids does not change the cost
            mask = np.ones((n, width), dtype=np.int64)
            engine.backend.forward(ids, mask)  # warm-up
            started = time.thread_time()
            engine.backend.forward(ids, mask)
            once = max(time.thread_time() - started, 1e-6)
            calls = max(1, int(0.05 / once))
            best = float("inf")
            for _ in range(3):
                started = time.thread_time()
                for _ in range(calls):
                    engine.backend.forward(ids, mask)
                best = min(best, (time.thread_time() - started) / calls)
            cells.append(f"{best / (n * width) * 1e6:6.1f}")
        lines.append(f"{n:>12} " + " ".join(cells))
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=None, help="model path (default: the embedded one)")
    parser.add_argument("--limit", type=int, default=1000, help="sentences (default 1000)")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--costs", action="store_true", help="µs per padded token of one model call, by shape"
    )
    args = parser.parse_args()
    random.seed(args.seed)
    if args.costs:
        engine = load(args.model)
        print(f"CPU: {cpu_model()}; one thread, µs of CPU per padded token of one call")
        print("\n".join(call_costs(engine, (1, 2, 4, 8, 16, 32), (4, 8, 16, 32, 64))))
        return
    texts = short_texts(read_sentences(default_conll_file()), args.limit)
    engine = load(args.model)
    options = options_from({"aggregation_strategy": "simple"})
    windows = [w for e in engine.tokenize(texts, options) for w in e.windows]
    lanes = max(1, int(getattr(engine.backend, "concurrency", 1)))
    engine_rate(engine, windows, 1)  # warm-up
    print(f"CPU: {cpu_model()}; {len(windows)} sentences, {lanes} lanes")
    print(f"engine, sorted batches of all: {engine_rate(engine, windows, args.repeats):,.0f}/s")
    for batch in (15, 30, 60):
        rate = lanes_rate(engine, windows, batch, lanes, args.repeats)
        print(f"{lanes} lanes, random batches of {batch}: {rate:,.0f}/s")


if __name__ == "__main__":
    main()
