"""``nerve bench --server-load``: N concurrent HTTP clients against a real ``nerve serve``.

Each client keeps one HTTP/1.1 connection open and sends one short sentence per request to
Baseten's ``/predict_tokens`` (the way a NER API is used), measuring end-to-end latency.
Clients are threads with the standard library's ``http.client``, so no extra dependency;
on a small machine the clients share its cores with the server, which the report states.
"""

from __future__ import annotations

import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from ..errors import NerveError
from .timing import percentile

STARTUP_SECONDS = 120.0


class ServerLoadError(NerveError):
    code = "bench_error"


@dataclass
class LoadReport:
    clients: int
    seconds: float
    requests: int
    errors: int
    requests_per_s: float
    p50_ms: float
    p99_ms: float
    status_counts: dict[int, int] = field(default_factory=dict)
    cpu_cores: int = 0
    client_processes: int = 1

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def format(self) -> str:
        return (
            f"server load: {self.clients} clients{self._spread()} × {self.seconds:.0f} s on "
            f"{self.cpu_cores} cores (clients and server share them): {self.requests:,} requests, "
            f"{self.requests_per_s:,.0f} req/s, p50 {self.p50_ms:.2f} ms, "
            f"p99 {self.p99_ms:.2f} ms, {self.errors} errors, statuses {self.status_counts}"
        )

    def _spread(self) -> str:
        if self.client_processes <= 1:
            return ""
        return f" in {self.client_processes} processes"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_server(
    model: str | None,
    port: int,
    extra: Sequence[str],
    log: Path,
    command: Sequence[str] | None = None,
) -> subprocess.Popen[bytes]:
    """``nerve serve`` on ``port`` (or ``command``, a server that listens there), once its
    ``/health`` answers 200; its output goes to ``log``."""
    command = command or [
        sys.executable,
        "-m",
        "nerve.cli.main",
        "serve",
        "--http-port",
        str(port),
        "--disable-grpc",
        *(["--model", model] if model else []),
        *extra,
    ]
    with log.open("wb") as out:
        proc = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + STARTUP_SECONDS
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise ServerLoadError(f"nerve serve exited with {proc.returncode}: see {log}")
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            conn.request("GET", "/health")
            if conn.getresponse().status == 200:
                return proc
        except OSError:
            time.sleep(0.2)
    proc.kill()
    raise ServerLoadError(f"nerve serve did not become healthy in {STARTUP_SECONDS:.0f} s")


class _Client(threading.Thread):
    def __init__(
        self, port: int, texts: Sequence[str], offset: int, stop_at: float, measure_from: float
    ) -> None:
        super().__init__(daemon=True)
        self.port, self.texts, self.offset = port, texts, offset
        self.stop_at, self.measure_from = stop_at, measure_from
        self.latencies: list[float] = []
        self.statuses: dict[int, int] = {}
        self.errors = 0

    def run(self) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        i = self.offset
        while (now := time.perf_counter()) < self.stop_at:
            body = json.dumps(
                {"inputs": [[self.texts[i % len(self.texts)]]], "aggregation_strategy": "simple"}
            )
            i += 1
            try:
                conn.request("POST", "/predict_tokens", body, {"Content-Type": "application/json"})
                response = conn.getresponse()
                response.read()
                status = response.status
            except OSError:
                self.errors += 1
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
                continue
            if now >= self.measure_from:  # requests sent during warm-up are not counted
                self.latencies.append(time.perf_counter() - now)
                self.statuses[status] = self.statuses.get(status, 0) + 1
                self.errors += status != 200
        conn.close()


def run_server_load(
    texts: Sequence[str],
    *,
    model: str | None = None,
    clients: int = 64,
    seconds: float = 20.0,
    warmup: float = 2.0,
    server_args: Sequence[str] = (),
    log_dir: Path | None = None,
    processes: int = 1,
) -> LoadReport:
    if not texts:
        raise ServerLoadError("server load needs at least one text")
    if clients < 1:
        raise ServerLoadError(f"--clients must be a positive integer, got {clients}")
    if not seconds > 0:
        raise ServerLoadError(f"--seconds must be positive, got {seconds}")
    if not 1 <= processes <= clients:
        raise ServerLoadError(
            f"--client-processes must be between 1 and --clients ({clients}), got {processes}"
        )
    port = free_port()
    log = (log_dir or Path(tempfile.gettempdir())) / f"nerve-bench-server-{port}.log"
    proc = start_server(model, port, server_args, log)
    try:
        return drive_clients(port, texts, clients, seconds, warmup, processes)
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=60)


def drive_clients(
    port: int,
    texts: Sequence[str],
    clients: int,
    seconds: float,
    warmup: float,
    processes: int = 1,
) -> LoadReport:
    """``clients`` threads, each on its own connection to the server on ``port``, one text per
    request for ``warmup`` + ``seconds``; what they measured after the warm-up. With
    ``processes`` > 1 the threads are spread over that many client processes
    (``nerve.bench.client_process``), which start measuring at the same moment: one Python
    process's clients are bounded by its GIL (about 4,500 requests/s on this project's
    2-core machine), which a server on a GPU may exceed."""
    if processes <= 1:
        measured = run_clients(port, texts, range(clients), seconds, warmup)
    else:
        measured = _in_processes(port, texts, clients, seconds, warmup, processes)
    latencies = sorted(measured.latencies)
    return LoadReport(
        clients=clients,
        seconds=seconds,
        requests=len(latencies),
        errors=measured.errors,
        requests_per_s=len(latencies) / seconds,
        p50_ms=percentile(latencies, 50) * 1000,  # NaN when nothing was measured
        p99_ms=percentile(latencies, 99) * 1000,
        status_counts=measured.statuses,
        cpu_cores=len(os.sched_getaffinity(0)),
        client_processes=max(1, processes),
    )


@dataclass
class Measured:
    """What some clients measured after the warm-up: seconds per request, status counts,
    failed requests (a status other than 200, or a connection error)."""

    latencies: list[float] = field(default_factory=list)
    statuses: dict[int, int] = field(default_factory=dict)
    errors: int = 0

    def add(self, other: Measured) -> None:
        self.latencies += other.latencies
        for code, n in other.statuses.items():
            self.statuses[code] = self.statuses.get(code, 0) + n
        self.errors += other.errors


def run_clients(
    port: int, texts: Sequence[str], numbers: Sequence[int], seconds: float, warmup: float
) -> Measured:
    """One client thread per number in ``numbers`` (client k starts at text k)."""
    start = time.perf_counter()
    workers = [_Client(port, texts, k, start + warmup + seconds, start + warmup) for k in numbers]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    measured = Measured()
    for w in workers:
        measured.add(Measured(w.latencies, w.statuses, w.errors))
    return measured


# Client processes start measuring at one wall-clock moment this far ahead of their launch
# (an interpreter and nerve's bench modules import in well under a second).
PROCESS_START_SECONDS = 3.0


def _in_processes(
    port: int, texts: Sequence[str], clients: int, seconds: float, warmup: float, processes: int
) -> Measured:
    start_at = time.time() + PROCESS_START_SECONDS
    shares = [range(k, clients, processes) for k in range(processes)]
    children = []
    for numbers in shares:
        spec = {
            "port": port,
            "texts": list(texts),
            "numbers": list(numbers),
            "seconds": seconds,
            "warmup": warmup,
            "start_at": start_at,
        }
        child = subprocess.Popen(
            [sys.executable, "-m", "nerve.bench.client_process"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        children.append((child, json.dumps(spec).encode()))
    measured = Measured()
    limit = PROCESS_START_SECONDS + warmup + seconds + 60
    for child, job in children:
        try:
            out, err = child.communicate(job, timeout=limit)
        except subprocess.TimeoutExpired:
            child.kill()
            child.communicate()
            raise ServerLoadError(f"a client process did not finish in {limit:.0f} s") from None
        if child.returncode != 0:
            said = err.decode(errors="replace").strip().splitlines()[-1:] or ["no message"]
            raise ServerLoadError(f"a client process failed ({child.returncode}): {said[0]}")
        got = json.loads(out)
        statuses = {int(code): n for code, n in got["statuses"].items()}
        measured.add(Measured(got["latencies"], statuses, got["errors"]))
    return measured
