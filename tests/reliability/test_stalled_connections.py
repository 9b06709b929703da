"""Stalled connections of each kind: /health stays reachable within 1 s while they are held,
and the server closes every one of them by its timeout. Beyond --max-connections, new
connections are answered 503 and closed at once."""

from __future__ import annotations

import signal
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from server.procs import ServerProcess, start_server

from .conftest import scale

TIMEOUT = 2.0  # --header-timeout, --body-timeout and --keep-alive-timeout of the server

# What each kind of stalled client sent before going quiet.
KINDS = {
    "nothing": b"",
    "half-request-line": b"POST /predi",
    "unfinished-headers": b"POST /predict HTTP/1.1\r\nHost: x\r\nContent-Type: appli",
    "short-body": (
        b"POST /predict HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        b'Content-Length: 100\r\n\r\n{"inputs": ["a'
    ),
    "unfinished-chunked-body": (
        b"POST /predict HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        b'Transfer-Encoding: chunked\r\n\r\n5\r\n{"inp\r\n'
    ),
}


@pytest.fixture(scope="module")
def server(
    default_model_dir: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ServerProcess]:
    seconds = str(TIMEOUT)
    proc = start_server(
        default_model_dir,
        tmp_path_factory.mktemp("reliability-stalled"),
        "--disable-grpc",
        "--header-timeout",
        seconds,
        "--body-timeout",
        seconds,
        "--keep-alive-timeout",
        seconds,
    )
    yield proc
    assert proc.stop(signal.SIGTERM) == 0, proc.log()


def open_stalled(port: int, n: int, payload: bytes) -> list[socket.socket]:
    socks = []
    for _ in range(n):
        sock = socket.create_connection(("127.0.0.1", port), timeout=10)
        if payload:
            sock.sendall(payload)
        socks.append(sock)
    return socks


def closed_by_server(sock: socket.socket) -> bool:
    """True once the server closed the connection (EOF or reset), False while it is open."""
    sock.setblocking(False)
    try:
        while True:
            data = sock.recv(65536)
            if not data:
                return True
    except BlockingIOError:
        return False
    except OSError:
        return True


@pytest.mark.parametrize("kind", list(KINDS))
def test_stalled_connections_do_not_block_health_and_are_closed_by_their_timeout(
    server: ServerProcess, kind: str
) -> None:
    n = scale(300, 1000)
    socks = open_stalled(server.http_port, n, KINDS[kind])
    try:
        times = []
        for _ in range(3):  # the median of three: one probe is at the mercy of a busy CPU
            started = time.perf_counter()
            health = httpx.get(server.url + "/health", timeout=5)
            times.append(time.perf_counter() - started)
            assert health.status_code == 200
        health_seconds = sorted(times)[1]
        assert health_seconds < 1.0
        deadline = time.monotonic() + TIMEOUT + 10
        still_open = list(socks)
        while still_open and time.monotonic() < deadline:
            time.sleep(0.25)
            still_open = [s for s in still_open if not closed_by_server(s)]
        print(
            f"\n{kind}: {n} stalled, /health in {health_seconds * 1000:.0f} ms, "
            f"{n - len(still_open)} closed by the server"
        )
        assert not still_open, f"{len(still_open)} of {n} '{kind}' connections still open"
    finally:
        for sock in socks:
            sock.close()


def test_connections_beyond_the_limit_are_refused_at_once(
    default_model_dir: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    proc = start_server(
        default_model_dir,
        tmp_path_factory.mktemp("reliability-maxconn"),
        "--disable-grpc",
        "--max-connections",
        "20",
        "--header-timeout",
        "3",
    )
    try:
        held = open_stalled(proc.http_port, 20, b"")
        extra = socket.create_connection(("127.0.0.1", proc.http_port), timeout=5)
        extra.settimeout(5)
        started = time.perf_counter()
        answer = b""
        while chunk := extra.recv(4096):
            answer += chunk
        assert time.perf_counter() - started < 1.0
        assert answer.startswith(b"HTTP/1.1 503") and b"--max-connections" in answer
        extra.close()
        for sock in held:
            sock.close()
        # Once the held ones are gone, the server answers normally again.
        deadline = time.monotonic() + 10
        while not proc.healthy() and time.monotonic() < deadline:
            time.sleep(0.1)
        assert proc.healthy()
    finally:
        assert proc.stop(signal.SIGTERM) == 0, proc.log()
