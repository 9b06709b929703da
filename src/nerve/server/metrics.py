"""Prometheus metrics of one server instance (its own registry: no process-global state)."""

from __future__ import annotations

from typing import Any

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.exposition import generate_latest

from .scheduler import BatchStats

STAGES = ("tokenize", "queue", "model", "decode")
# Seconds: from well under a millisecond (tiny models, tokenization) to a slow CPU batch.
_LATENCY_BUCKETS = (
    0.0005,
    0.001,
    0.0025,
    0.005,
    0.01,
    0.025,
    0.05,
    0.1,
    0.25,
    0.5,
    1.0,
    2.5,
    5.0,
    10.0,
    30.0,
)
_TOKEN_BUCKETS = tuple(float(2**i) for i in range(4, 18))  # 16 … 131072 tokens
_REQUEST_BUCKETS = (1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0, 128.0, 256.0)


class ServerMetrics:
    """Request counts, per-stage latencies, batch sizes and queue depth.

    Also the scheduler's ``BatchObserver``: the worker thread reports every batch here
    (prometheus_client metrics are thread-safe).
    """

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        reg = self.registry
        self.requests = Counter(
            "nerve_requests", "Requests by route and status.", ["route", "status"], registry=reg
        )
        self.request_seconds = Histogram(
            "nerve_request_duration_seconds",
            "End-to-end request latency by route.",
            ["route"],
            buckets=_LATENCY_BUCKETS,
            registry=reg,
        )
        self.stage_seconds = Histogram(
            "nerve_stage_duration_seconds",
            "Per-request latency of each stage: tokenize, queue, model, decode.",
            ["stage"],
            buckets=_LATENCY_BUCKETS,
            registry=reg,
        )
        self.batch_tokens = Histogram(
            "nerve_batch_tokens",
            "Padded tokens (rows x longest window) per model batch.",
            buckets=_TOKEN_BUCKETS,
            registry=reg,
        )
        self.batch_requests = Histogram(
            "nerve_batch_requests",
            "Requests merged into one model batch.",
            buckets=_REQUEST_BUCKETS,
            registry=reg,
        )
        self.queue_depth = Gauge(
            "nerve_queue_depth", "Requests waiting for the model worker.", registry=reg
        )
        self.in_flight = Gauge(
            "nerve_requests_in_flight",
            "Inference requests admitted and not finished.",
            registry=reg,
        )
        # Labelled children, looked up once: ``labels()`` takes a lock and validates its
        # arguments on every call, six times a request.
        self._stages = {stage: self.stage_seconds.labels(stage=stage) for stage in STAGES}
        self._counts: dict[tuple[str, str], Any] = {}
        self._latencies: dict[str, Any] = {}

    def observe_request(self, route: str, status: int | str, seconds: float) -> None:
        key = (route, str(status))
        count = self._counts.get(key)
        if count is None:
            count = self._counts[key] = self.requests.labels(route=route, status=key[1])
        count.inc()
        latency = self._latencies.get(route)
        if latency is None:
            latency = self._latencies[route] = self.request_seconds.labels(route=route)
        latency.observe(seconds)

    def observe_stage(self, stage: str, seconds: float) -> None:
        child = self._stages.get(stage)
        if child is None:
            child = self._stages[stage] = self.stage_seconds.labels(stage=stage)
        child.observe(seconds)

    # -- BatchObserver -----------------------------------------------------------------------
    def on_batch(self, stats: BatchStats) -> None:
        self.batch_tokens.observe(stats.padded_tokens)
        self.batch_requests.observe(stats.requests)

    def on_queue_depth(self, depth: int) -> None:
        self.queue_depth.set(depth)

    def render(self) -> tuple[bytes, str]:
        """The Prometheus text exposition and its content type."""
        return generate_latest(self.registry), CONTENT_TYPE_LATEST
