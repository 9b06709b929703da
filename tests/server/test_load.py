"""64 concurrent clients for 20 s: every answer correct, no 5xx, requests merged into batches."""

from __future__ import annotations

import asyncio
import itertools
import statistics
import time
from dataclasses import dataclass, field
from typing import Any

import httpx

from nerve.engine.core import Engine

from .cases import LONG_TEXT, STRATEGIES, TEXTS, assert_same_entries, expected_entries
from .procs import ServerProcess
from .test_native_api import metric_value

CLIENTS = 64
SECONDS = 20.0


@dataclass
class Tally:
    latencies: list[float] = field(default_factory=list)
    statuses: list[int] = field(default_factory=list)
    wrong: list[str] = field(default_factory=list)


async def client_loop(
    client: httpx.AsyncClient,
    cases: list[tuple[dict[str, Any], list[dict[str, Any]]]],
    start: int,
    deadline: float,
    tally: Tally,
) -> None:
    # Each client walks the cases from its own offset, so batches mix strategies and lengths.
    for body, want in itertools.islice(itertools.cycle(cases), start, None):
        if time.monotonic() >= deadline:
            return
        sent = time.perf_counter()
        response = await client.post("/predict_tokens", json=body)
        tally.latencies.append(time.perf_counter() - sent)
        tally.statuses.append(response.status_code)
        if response.status_code == 200:
            try:
                (got,) = response.json()
                assert_same_entries(got, want)
            except AssertionError as exc:
                tally.wrong.append(f"{body}: {exc}")


async def run_load(url: str, cases: list[tuple[dict[str, Any], list[dict[str, Any]]]]) -> Tally:
    tally = Tally()
    limits = httpx.Limits(max_connections=CLIENTS, max_keepalive_connections=CLIENTS)
    async with httpx.AsyncClient(base_url=url, limits=limits, timeout=60) as client:
        deadline = time.monotonic() + SECONDS
        await asyncio.gather(
            *(client_loop(client, cases, i, deadline, tally) for i in range(CLIENTS))
        )
    return tally


def batch_counts(url: str) -> tuple[float, float]:
    """(all model batches so far, batches that held a single request)."""
    text = httpx.get(url + "/metrics", timeout=10).text
    return (
        metric_value(text, "nerve_batch_requests_count"),
        metric_value(text, 'nerve_batch_requests_bucket{le="1.0"}'),
    )


def test_64_concurrent_clients_for_20_seconds(server: ServerProcess, engine: Engine) -> None:
    cases = [
        ({"inputs": [[text]], "aggregation_strategy": s}, expected_entries(engine, text, s, False))
        for text in [*TEXTS, LONG_TEXT]
        for s in STRATEGIES
    ]
    batches_before, singles_before = batch_counts(server.url)
    started = time.perf_counter()
    tally = asyncio.run(run_load(server.url, cases))
    elapsed = time.perf_counter() - started
    batches_after, singles_after = batch_counts(server.url)

    assert tally.statuses, "no request completed"
    assert set(tally.statuses) == {200}, sorted(set(tally.statuses))
    assert not tally.wrong, tally.wrong[:3]
    merged = (batches_after - batches_before) - (singles_after - singles_before)
    assert merged > 0, "no model batch held more than one request"
    assert server.healthy()

    latencies = sorted(tally.latencies)
    p50 = statistics.median(latencies)
    p99 = latencies[int(0.99 * (len(latencies) - 1))]
    print(
        f"\nload: {len(latencies)} requests from {CLIENTS} clients in {elapsed:.1f} s = "
        f"{len(latencies) / elapsed:.0f} req/s; p50 {p50 * 1000:.1f} ms, p99 {p99 * 1000:.1f} ms; "
        f"{batches_after - batches_before:.0f} model batches, {merged:.0f} of them merged"
    )
