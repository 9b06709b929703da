"""64 concurrent clients for 20 s: every answer correct, no 5xx, requests merged into batches.

The load comes from ``baseten-performance-client`` (Rust, 64 concurrent connections, retries
off so every failure surfaces): a Python HTTP client would saturate this 2-core machine long
before the server does.
"""

from __future__ import annotations

import statistics
import time

import httpx
import pytest

from nerve.engine.core import Engine

from .cases import LONG_TEXT, STRATEGIES, TEXTS, assert_same_entries, expected_entries
from .procs import ServerProcess
from .test_native_api import metric_value

baseten = pytest.importorskip("baseten_performance_client")

CLIENTS = 64
SECONDS = 20.0
ROUNDS_PER_CALL = 24  # payloads per batch_post call = cases x rounds; keeps all 64 busy


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
    payloads = [body for body, _ in cases] * ROUNDS_PER_CALL
    wanted = [want for _, want in cases] * ROUNDS_PER_CALL
    client = baseten.PerformanceClient(base_url=server.url, api_key="unused")
    preference = baseten.RequestProcessingPreference(
        max_concurrent_requests=CLIENTS, max_retries=0, timeout_s=60.0
    )
    batches_before, singles_before = batch_counts(server.url)
    latencies: list[float] = []
    started = time.perf_counter()
    while time.perf_counter() - started < SECONDS:
        # Raises on any non-2xx answer (retries are off): a 5xx or 429 fails the test here.
        response = client.batch_post(
            url_path="/predict_tokens", payloads=payloads, preference=preference
        )
        for data, want in zip(response.data, wanted, strict=True):
            (got,) = data
            assert_same_entries(got, want)
        latencies.extend(response.individual_request_times)
    elapsed = time.perf_counter() - started
    batches_after, singles_after = batch_counts(server.url)

    merged = (batches_after - batches_before) - (singles_after - singles_before)
    assert merged > 0, "no model batch held more than one request"
    assert server.healthy()
    metrics = httpx.get(server.url + "/metrics", timeout=10).text
    assert 'route="/predict_tokens",status="5' not in metrics

    latencies.sort()
    p50 = statistics.median(latencies)
    p99 = latencies[int(0.99 * (len(latencies) - 1))]
    print(
        f"\nload: {len(latencies)} requests from {CLIENTS} clients in {elapsed:.1f} s = "
        f"{len(latencies) / elapsed:.0f} req/s; p50 {p50 * 1000:.1f} ms, p99 {p99 * 1000:.1f} ms; "
        f"{batches_after - batches_before:.0f} model batches, {merged:.0f} of them merged"
    )
