"""`nerve serve --enable-otel --otel-exporter-url`: one trace per request with tokenize,
queue, model and decode spans, received by an OTLP/gRPC collector running in this test; an
unreachable collector is a warning and serving goes on."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections import defaultdict
from concurrent import futures
from pathlib import Path

import httpx
import pytest

from .procs import free_port

pytest.importorskip("opentelemetry.sdk")
pytest.importorskip("opentelemetry.exporter.otlp.proto.grpc")
grpc = pytest.importorskip("grpc")

from opentelemetry.proto.collector.trace.v1 import (  # noqa: E402
    trace_service_pb2,
    trace_service_pb2_grpc,
)

TEXTS = ["Mozilla is headquartered in San Francisco, CA", "Paris"]
STAGES = {"tokenize", "queue", "model", "decode"}


class Collector(trace_service_pb2_grpc.TraceServiceServicer):
    """Keeps every span it is sent: (trace id, span id, parent id, name, start, end)."""

    def __init__(self) -> None:
        self.spans: list[tuple[bytes, bytes, bytes, str, int, int]] = []
        self.routes: list[str] = []  # nerve.route of each request span, in arrival order
        self.lock = threading.Lock()

    def Export(  # noqa: N802 - fixed by the OTLP service
        self, request: trace_service_pb2.ExportTraceServiceRequest, context: object
    ) -> trace_service_pb2.ExportTraceServiceResponse:
        with self.lock:
            for resource in request.resource_spans:
                for scope in resource.scope_spans:
                    for s in scope.spans:
                        self.routes += [
                            a.value.string_value for a in s.attributes if a.key == "nerve.route"
                        ]
                        self.spans.append(
                            (
                                s.trace_id,
                                s.span_id,
                                s.parent_span_id,
                                s.name,
                                s.start_time_unix_nano,
                                s.end_time_unix_nano,
                            )
                        )
        return trace_service_pb2.ExportTraceServiceResponse()


def start_serve(model_dir: Path, log: Path, *args: str) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    command = [sys.executable, "-m", "nerve.cli.main", "serve", "--model", str(model_dir)]
    command += ["--http-port", str(port), "--disable-grpc", *args]
    with log.open("wb") as out:
        proc = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, env=dict(os.environ))
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 90
    while True:
        assert proc.poll() is None, log.read_text()
        try:
            if httpx.get(url + "/health", timeout=2).status_code == 200:
                return proc, url
        except httpx.HTTPError:
            pass
        assert time.monotonic() < deadline, log.read_text()
        time.sleep(0.2)


def stop(proc: subprocess.Popen[bytes], log: Path) -> None:
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=60) == 0, log.read_text()


def test_one_trace_per_request_with_stage_spans(model_dir: Path, tmp_path: Path) -> None:
    collector = Collector()
    server = grpc.server(futures.ThreadPoolExecutor(2))
    trace_service_pb2_grpc.add_TraceServiceServicer_to_server(collector, server)
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    log = tmp_path / "serve.log"
    try:
        proc, url = start_serve(
            model_dir, log, "--enable-otel", "--otel-exporter-url", f"http://127.0.0.1:{port}"
        )
        try:
            for text, route in zip(TEXTS, ("/predict", "/v1/entities"), strict=True):
                response = httpx.post(url + route, json={"inputs": [text]}, timeout=30)
                assert response.status_code == 200
            assert httpx.get(url + "/health").status_code == 200  # not an inference: no trace
        finally:
            stop(proc, log)  # shutdown flushes the queued spans
    finally:
        server.stop(grace=None)
    traces: dict[bytes, list[tuple[bytes, bytes, bytes, str, int, int]]] = defaultdict(list)
    for span in collector.spans:
        traces[span[0]].append(span)
    assert len(traces) == len(TEXTS), collector.spans
    # The route each request came by (every request was "entities" before).
    assert sorted(collector.routes) == ["/predict", "/v1/entities"]
    for spans in traces.values():
        roots = [s for s in spans if s[3] == "nerve.request"]
        assert len(roots) == 1
        root = roots[0]
        stages = {s[3]: s for s in spans if s is not root}
        assert set(stages) == STAGES
        assert all(s[2] == root[1] for s in stages.values())  # children of the request span
        order = [stages[name] for name in ("tokenize", "queue", "model", "decode")]
        for earlier, later in zip(order, order[1:], strict=False):
            assert earlier[4] <= later[4]  # stages start in pipeline order
        assert all(root[4] <= s[4] and s[5] <= root[5] for s in stages.values())


def test_unreachable_collector_is_a_warning_and_serving_goes_on(
    model_dir: Path, tmp_path: Path
) -> None:
    log = tmp_path / "serve.log"
    dead = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    proc, url = start_serve(model_dir, log, "--enable-otel", "--otel-exporter-url", dead)
    try:
        response = httpx.post(url + "/predict", json={"inputs": [TEXTS[0]]}, timeout=30)
        assert response.status_code == 200
    finally:
        stop(proc, log)
    text = log.read_text()
    assert f"OpenTelemetry: cannot reach the OTLP collector at {dead}" in text
    assert "Traceback" not in text


def test_an_unanswering_collector_does_not_hold_the_shutdown(
    model_dir: Path, tmp_path: Path
) -> None:
    """The spans' flush retried a dead collector past --graceful-timeout (8.9 s for 5)."""
    log = tmp_path / "serve.log"
    dead = f"http://127.0.0.1:{free_port()}"
    proc, url = start_serve(
        model_dir, log, "--enable-otel", "--otel-exporter-url", dead, "--graceful-timeout", "2"
    )
    try:
        for _ in range(40):
            assert httpx.post(url + "/predict", json={"inputs": ["Paris"]}, timeout=30).is_success
    finally:
        started = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        code = proc.wait(timeout=60)
        took = time.monotonic() - started
    assert code == 0, log.read_text()
    assert took < 2 + 1.5, (took, log.read_text())


@pytest.mark.parametrize(
    ("url", "problem"),
    [
        ("localhost:4317", "must be an http:// or https:// URL"),
        ("http://localhost:99999", "Port out of range"),
        ("http://localhost:abc", "Port could not be cast"),
        ("http://[::1", "Invalid IPv6 URL"),
    ],
)
def test_bad_exporter_url_is_refused(model_dir: Path, url: str, problem: str) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "nerve.cli.main", "serve", "--model", str(model_dir)]
        + ["--enable-otel", "--otel-exporter-url", url, "--http-port", "0"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 2, done.stderr
    assert f"--otel-exporter-url {url!r} must be an http:// or https:// URL" in done.stderr
    assert problem in done.stderr and "Traceback" not in done.stderr
