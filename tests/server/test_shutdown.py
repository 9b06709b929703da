"""SIGTERM with a request in flight: the request completes, new connections are refused, the
process exits 0."""

from __future__ import annotations

import signal
import socket
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest

from nerve.server.runner import _refuse_new_handshakes

from .cases import LONG_TEXT
from .procs import start_server
from .test_native_api import metric_value

# Heavy enough to be in flight for ~3 s on the tiny model: 16 long texts, every sub-word with
# all its logits (strategy none + raw scores).
N_TEXTS = 16
SLOW_BODY = {
    "inputs": [[LONG_TEXT * 4] * N_TEXTS],
    "aggregation_strategy": "none",
    "raw_scores": True,
}


def test_sigterm_lets_the_request_in_flight_finish(
    model_dir: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    server = start_server(
        model_dir,
        tmp_path_factory.mktemp("shutdown-logs"),
        "--threads",
        "1",
        # The slow body is far over the default work caps; it is meant to take seconds.
        "--max-request-tokens",
        "1000000",
        "--max-queued-tokens",
        "1000000",
    )
    outcome: dict[str, float] = {}

    def slow_request() -> None:
        response = httpx.post(server.url + "/predict_tokens", json=SLOW_BODY, timeout=120)
        outcome["status"] = response.status_code
        outcome["closes"] = response.headers.get("connection") == "close"
        outcome["texts"] = len(response.json())
        outcome["finished"] = time.monotonic()

    client = threading.Thread(target=slow_request)
    try:
        client.start()
        deadline = time.monotonic() + 30
        in_flight = 0.0
        while time.monotonic() < deadline and not in_flight:
            metrics = httpx.get(server.url + "/metrics", timeout=10).text
            in_flight = metric_value(metrics, "nerve_requests_in_flight")
        assert in_flight == 1, "the slow request never showed up as in flight"
        server.proc.send_signal(signal.SIGTERM)
        signalled = time.monotonic()
        client.join(120)
        code = server.proc.wait(60)
    finally:
        if server.proc.poll() is None:
            server.stop(signal.SIGKILL)
    assert outcome.get("status") == 200, server.log()
    assert outcome["texts"] == N_TEXTS
    # An answer sent during the drain says the connection closes after it; without the header
    # a keep-alive client would send its next request into the close and get a reset.
    assert outcome["closes"]
    assert outcome["finished"] > signalled  # it really was still running at the signal
    assert code == 0, server.log()
    log = server.log()
    assert "received SIGTERM" in log and "stopped" in log
    assert "Traceback" not in log
    with pytest.raises(httpx.ConnectError):
        httpx.get(server.url + "/health", timeout=5)


def test_sigint_on_an_idle_server_exits_0(
    model_dir: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    server = start_server(
        model_dir, tmp_path_factory.mktemp("sigint-logs"), "--threads", "1", "--disable-grpc"
    )
    assert server.stop(signal.SIGINT) == 0, server.log()
    assert "received SIGINT" in server.log()


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="socket filters are Linux's")
def test_a_closing_listener_completes_no_new_handshake() -> None:
    """Before the listener closes, its accept queue is emptied; the socket filter makes sure
    no connection completes after the last accept (it would be reset with its request)."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(16)
        with socket.socket() as before:
            before.connect(listener.getsockname())  # queued before: still accepted
            _refuse_new_handshakes(listener)
            with socket.socket() as after:
                after.settimeout(1.0)
                with pytest.raises(TimeoutError):  # its SYN is dropped: no connection
                    after.connect(listener.getsockname())
            listener.setblocking(False)
            accepted, _ = listener.accept()
            accepted.close()
            with pytest.raises(BlockingIOError):
                listener.accept()
