"""OpenTelemetry traces (``--enable-otel``, ``--otel-exporter-url``): one trace per inference
request, with a child span per stage — ``tokenize``, ``queue``, ``model``, ``decode`` —
exported over OTLP/gRPC by the OpenTelemetry SDK (the ``otel`` extra).

Hook points, one call each so the transports and scheduler can change around them:
``request_tracer(config)`` where the service is created (the runner), ``tracer.request(...)``
around one request's pipeline and ``trace.stage(name, start_ns, end_ns)`` wherever a stage's
time is known (the service already measures each stage for ``/metrics``), and
``tracer.shutdown(timeout)`` after the transports stop (flushes what is left, within the
graceful timeout).

An unreachable collector is a warning at start; serving goes on and the SDK drops what it
cannot send (it logs each failed export).
"""

from __future__ import annotations

import contextlib
import logging
import socket
import threading
import time
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlparse

from ..errors import InvalidInput, MissingExtra
from .config import ServerConfig

log = logging.getLogger("nerve.server")

DEFAULT_OTLP_URL = "http://localhost:4317"
_EXPORT_TIMEOUT_S = 5.0
_PROBE_TIMEOUT_S = 1.0


class RequestTrace:
    """Stage spans of one request (no-op: tracing off)."""

    def stage(self, name: str, start_ns: int, end_ns: int) -> None:
        pass


class _NoTrace(RequestTrace):
    """Its own context manager: entered on every request, so cheaper than a generator's."""

    def __enter__(self) -> RequestTrace:
        return self

    def __exit__(self, *exc: object) -> None:
        return None


_NO_TRACE = _NoTrace()


class RequestTracer:
    """No tracing: every call does nothing (the default)."""

    def request(self, route: str, n_inputs: int) -> contextlib.AbstractContextManager[RequestTrace]:
        return _NO_TRACE

    def shutdown(self, timeout: float) -> None:
        pass


class _OtelTrace(RequestTrace):
    def __init__(self, tracer: Any, parent: Any) -> None:
        self._tracer = tracer
        self._parent = parent

    def stage(self, name: str, start_ns: int, end_ns: int) -> None:
        from opentelemetry import trace

        context = trace.set_span_in_context(self._parent)
        span = self._tracer.start_span(name, context=context, start_time=start_ns)
        span.end(end_time=max(end_ns, start_ns))


class OtelTracer(RequestTracer):
    def __init__(self, provider: Any) -> None:
        self._provider = provider
        self._tracer = provider.get_tracer("nerve.server")

    def request(self, route: str, n_inputs: int) -> contextlib.AbstractContextManager[RequestTrace]:
        return self._request(route, n_inputs)

    @contextlib.contextmanager
    def _request(self, route: str, n_inputs: int) -> Iterator[RequestTrace]:
        from opentelemetry.trace import Status, StatusCode

        span = self._tracer.start_span(
            "nerve.request", attributes={"nerve.route": route, "nerve.inputs": n_inputs}
        )
        try:
            yield _OtelTrace(self._tracer, span)
        except BaseException as exc:
            span.set_status(Status(StatusCode.ERROR, type(exc).__name__))
            raise
        finally:
            span.end()

    def shutdown(self, timeout: float) -> None:
        """Flush the spans still queued, for at most ``timeout`` seconds: the exporter retries
        a collector that does not answer for longer than that, and the server must still exit
        within --graceful-timeout. What is not sent by then is lost (and said so)."""
        flush = threading.Thread(
            target=self._provider.shutdown, name="nerve-otel-shutdown", daemon=True
        )
        flush.start()
        flush.join(timeout)
        if flush.is_alive():
            log.warning(
                "OpenTelemetry: the spans still queued were not all exported within the "
                "graceful timeout (--graceful-timeout); the collector did not take them"
            )


def now_ns() -> int:
    return time.time_ns()


def request_tracer(config: ServerConfig, service_name: str) -> RequestTracer:
    """The tracer ``config`` asks for: OTLP export with ``--enable-otel``, else a no-op."""
    if not config.enable_otel:
        return RequestTracer()
    try:
        from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter
        from opentelemetry.sdk.resources import Resource
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import BatchSpanProcessor
    except ImportError:
        raise MissingExtra(
            "opentelemetry-exporter-otlp-proto-grpc", "otel", "--enable-otel"
        ) from None
    url = config.otel_exporter_url or DEFAULT_OTLP_URL
    host, port, insecure = _endpoint(url)
    # Shut down by the server within its graceful timeout, not by an exit hook that would wait
    # on an unanswering collector after it.
    provider = TracerProvider(
        resource=Resource.create({"service.name": service_name}), shutdown_on_exit=False
    )
    exporter = OTLPSpanExporter(endpoint=url, insecure=insecure, timeout=_EXPORT_TIMEOUT_S)
    provider.add_span_processor(BatchSpanProcessor(exporter))
    if not _reachable(host, port):
        log.warning(
            "OpenTelemetry: cannot reach the OTLP collector at %s (--otel-exporter-url); "
            "serving goes on, and spans are dropped while it does not answer",
            url,
        )
    log.info("OpenTelemetry: exporting request traces to %s", url)
    return OtelTracer(provider)


def _endpoint(url: str) -> tuple[str, int, bool]:
    problem = "must be an http:// or https:// URL of an OTLP/gRPC collector"
    try:
        parsed = urlparse(url)
        port = parsed.port  # raises for a port out of range or not a number
    except ValueError as exc:  # also a broken IPv6 literal
        raise InvalidInput(
            f"--otel-exporter-url {url!r} {problem} ({exc}), e.g. http://localhost:4317"
        ) from None
    if parsed.scheme not in ("http", "https") or not parsed.hostname:
        raise InvalidInput(f"--otel-exporter-url {url!r} {problem}, e.g. http://localhost:4317")
    return parsed.hostname, port or 4317, parsed.scheme == "http"


def _reachable(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=_PROBE_TIMEOUT_S):
            return True
    except OSError:
        return False
