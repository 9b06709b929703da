"""Start the real ``nerve serve`` in a subprocess on free loopback ports, and stop it."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import httpx

STARTUP_SECONDS = 90.0


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class ServerProcess:
    proc: subprocess.Popen[bytes]
    http_port: int
    grpc_port: int
    log_path: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.http_port}"

    @property
    def grpc_address(self) -> str:
        return f"127.0.0.1:{self.grpc_port}"

    def log(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace")

    def log_line(self, marker: str, timeout: float = 15.0) -> str:
        """The first log line holding ``marker``, waiting for it: the startup line is logged
        once both transports listen, which may be just after /health first answers."""
        deadline = time.monotonic() + timeout
        while True:
            lines = [ln for ln in self.log().splitlines() if marker in ln]
            if lines:
                return lines[0]
            if time.monotonic() > deadline:
                raise AssertionError(f"no log line with {marker!r}:\n{self.log()}")
            time.sleep(0.1)

    def stop(self, sig: signal.Signals = signal.SIGTERM, timeout: float = 60.0) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise AssertionError(f"server did not stop within {timeout} s:\n{self.log()}") from None

    def healthy(self) -> bool:
        try:
            return httpx.get(self.url + "/health", timeout=5).status_code == 200
        except httpx.HTTPError:
            return False


def start_server(
    model_dir: Path, log_dir: Path, *args: str, env: dict[str, str] | None = None
) -> ServerProcess:
    http_port, grpc_port = free_port(), free_port()
    log_path = log_dir / f"server-{http_port}.log"
    command = [
        sys.executable,
        "-m",
        "nerve.cli.main",
        "serve",
        "--model",
        str(model_dir),
        "--http-port",
        str(http_port),
        "--grpc-port",
        str(grpc_port),
        *args,
    ]
    full_env = {**os.environ, **(env or {})}
    with log_path.open("wb") as log:
        proc = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=full_env)
    server = ServerProcess(proc, http_port, grpc_port, log_path)
    _wait_healthy(server)
    return server


def _wait_healthy(server: ServerProcess) -> None:
    deadline = time.monotonic() + STARTUP_SECONDS
    while time.monotonic() < deadline:
        if server.proc.poll() is not None:
            raise AssertionError(f"server exited with {server.proc.returncode}:\n{server.log()}")
        if server.healthy():
            return
        time.sleep(0.2)
    server.stop(signal.SIGKILL)
    raise AssertionError(f"server not healthy after {STARTUP_SECONDS} s:\n{server.log()}")
