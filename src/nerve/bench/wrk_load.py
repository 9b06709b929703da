"""``nerve bench --server-load --load-generator wrk``: the server at saturation, measured with
``wrk`` (a C load generator, Debian's ``wrk`` package), next to the in-process engine on the
same sentences in the same run.

Python client threads cost the 2-core machines this project runs on as much CPU as the
server's own request path, so they cannot show what the server sustains; wrk's single thread
drives 64 connections for a few percent of a core. Each connection sends one sentence per
``/predict_tokens`` request, cycling through the texts.
"""

from __future__ import annotations

import json
import math
import os
import re
import shutil
import signal
import statistics
import subprocess
import tempfile
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from .runner import cpu_model
from .server_load import ServerLoadError, free_port, start_server


@dataclass
class WrkReport:
    connections: int
    seconds: float
    requests: int
    requests_per_s: float
    p50_ms: float
    p99_ms: float
    non_2xx: int
    socket_errors: int
    engine_sentences_per_s: float | None = None  # the in-process engine, same texts, same run
    engine_one_by_one_per_s: float | None = None  # the same, one call per sentence
    cpu: str = ""

    @property
    def ratio(self) -> float | None:
        if not self.engine_sentences_per_s:
            return None
        return self.requests_per_s / self.engine_sentences_per_s

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "ratio": self.ratio}

    def format(self) -> str:
        line = (
            f"server (wrk, {self.connections} connections × {self.seconds:.0f} s): "
            f"{self.requests:,} requests, {self.requests_per_s:,.0f} req/s, "
            f"p50 {self.p50_ms:.2f} ms, p99 {self.p99_ms:.2f} ms, "
            f"{self.non_2xx} non-2xx, {self.socket_errors} socket errors"
        )
        if self.engine_sentences_per_s:
            line += (
                f"\nengine in process, same sentences: {self.engine_sentences_per_s:,.0f} "
                f"sentences/s; server / engine = {self.ratio:.2f}"
            )
        if self.engine_one_by_one_per_s:
            line += (
                f"\nengine in process, one call per sentence: "
                f"{self.engine_one_by_one_per_s:,.0f} sentences/s; server / that = "
                f"{self.requests_per_s / self.engine_one_by_one_per_s:.2f}"
            )
        if self.cpu:
            line += f"\nCPU: {self.cpu}"
        return line


def wrk_script(texts: Sequence[str], path: str = "/predict_tokens") -> str:
    """A wrk Lua script whose requests cycle through one-sentence bodies."""
    bodies = ",\n".join(
        _lua_string(json.dumps({"inputs": [[t]], "aggregation_strategy": "simple"})) for t in texts
    )
    return (
        f"local bodies = {{\n{bodies}\n}}\n"
        "local i = 0\n"
        'local headers = {["Content-Type"] = "application/json"}\n'
        "request = function()\n"
        "  i = i % #bodies + 1\n"
        f'  return wrk.format("POST", {_lua_string(path)}, headers, bodies[i])\n'
        "end\n"
    )


def _lua_string(text: str) -> str:
    # Lua's long brackets take the text as is; pick a level that does not occur in it.
    level = 0
    while f"]{'=' * level}]" in text:
        level += 1
    eq = "=" * level
    return f"[{eq}[{text}]{eq}]"


_DURATION = re.compile(r"([\d.]+)(us|ms|s|m)\b")
_UNITS = {"us": 1e-3, "ms": 1.0, "s": 1e3, "m": 6e4}


def _ms(token: str) -> float:
    match = _DURATION.fullmatch(token)
    if match is None:
        raise ServerLoadError(f"cannot read wrk's latency {token!r}")
    return float(match.group(1)) * _UNITS[match.group(2)]


def parse_wrk(output: str, connections: int, seconds: float) -> WrkReport:
    """Read wrk's ``--latency`` report."""

    def find(pattern: str) -> re.Match[str] | None:
        return re.search(pattern, output, re.MULTILINE)

    total = find(r"^\s*(\d+) requests in ([\d.]+)(\w+)")
    rate = find(r"^Requests/sec:\s*([\d.]+)")
    p50 = find(r"^\s*50%\s+(\S+)")
    p99 = find(r"^\s*99%\s+(\S+)")
    if not (total and rate and p50 and p99):
        raise ServerLoadError(f"cannot read wrk's report:\n{output}")
    non_2xx = find(r"Non-2xx or 3xx responses:\s*(\d+)")
    errors = find(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)")
    return WrkReport(
        connections=connections,
        seconds=seconds,
        requests=int(total.group(1)),
        requests_per_s=float(rate.group(1)),
        p50_ms=_ms(p50.group(1)),
        p99_ms=_ms(p99.group(1)),
        non_2xx=int(non_2xx.group(1)) if non_2xx else 0,
        socket_errors=sum(int(g) for g in errors.groups()) if errors else 0,
    )


def find_wrk() -> str:
    wrk = shutil.which("wrk")
    if wrk is None:
        raise ServerLoadError("--load-generator wrk needs wrk on PATH (Debian: apt install wrk)")
    return wrk


def drive_wrk(
    port: int, script: Path, connections: int, seconds: float, warmup: float
) -> WrkReport:
    """wrk's one thread with ``connections`` connections against the server on ``port``,
    requests from ``script`` (``wrk_script``): ``warmup`` seconds, then ``seconds`` measured."""
    wrk = find_wrk()
    url = f"http://127.0.0.1:{port}/predict_tokens"

    def drive(duration: float, latency: bool) -> str:
        seconds_arg = max(1, math.ceil(duration))  # wrk takes whole seconds
        command = [wrk, "-t1", f"-c{connections}", f"-d{seconds_arg}s", "-s", str(script)]
        command += ["--latency", url] if latency else [url]
        done = subprocess.run(command, capture_output=True, text=True, timeout=duration + 60)
        if done.returncode != 0:
            said = (done.stderr or done.stdout).strip()
            raise ServerLoadError(f"wrk failed ({done.returncode}): {said}")
        return done.stdout

    if warmup > 0:
        drive(warmup, latency=False)
    return parse_wrk(drive(seconds, latency=True), connections, seconds)


def engine_sentences_per_s(
    model: str | None,
    texts: Sequence[str],
    repeats: int = 3,
    load_options: dict[str, Any] | None = None,
) -> tuple[float, float]:
    """The in-process engine over ``texts`` (``simple`` aggregation, the server's defaults
    otherwise): median sentences/s of ``repeats`` timed runs with the engine's own batching
    (all texts in one call), and of one call per sentence (what a caller without batching
    gets; the server's clients each send one)."""
    from ..loader import load

    engine = load(model, **(load_options or {}))  # the server's device and dtype
    engine(list(texts[:64]), aggregation_strategy="simple")  # warm-up
    batched, one_by_one = [], []
    for _ in range(repeats):
        started = time.perf_counter()
        engine(list(texts), aggregation_strategy="simple")
        batched.append(len(texts) / (time.perf_counter() - started))
        started = time.perf_counter()
        for text in texts:
            engine(text, aggregation_strategy="simple")
        one_by_one.append(len(texts) / (time.perf_counter() - started))
    return statistics.median(batched), statistics.median(one_by_one)


def run_wrk_load(
    texts: Sequence[str],
    *,
    model: str | None = None,
    connections: int = 64,
    seconds: float = 20.0,
    warmup: float = 3.0,
    server_args: Sequence[str] = (),
    with_engine: bool = True,
    log_dir: Path | None = None,
    load_options: dict[str, Any] | None = None,
) -> WrkReport:
    find_wrk()  # before the engine's timing: a missing wrk is said at once
    if not texts:
        raise ServerLoadError("server load needs at least one text")
    if connections < 1:
        raise ServerLoadError(f"--clients must be a positive integer, got {connections}")
    if not seconds >= 1:
        raise ServerLoadError(f"--seconds must be at least 1 with wrk, got {seconds}")
    engine_rates = (
        engine_sentences_per_s(model, texts, load_options=load_options)
        if with_engine
        else (None, None)
    )
    port = free_port()
    work = Path(log_dir or tempfile.mkdtemp(prefix="nerve-wrk-"))
    script = work / "sentences.lua"
    script.write_text(wrk_script(texts), encoding="utf-8")
    proc = start_server(model, port, server_args, work / f"nerve-serve-{port}.log")
    try:
        report = drive_wrk(port, script, connections, seconds, warmup)
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=60)
    report.engine_sentences_per_s, report.engine_one_by_one_per_s = engine_rates
    report.cpu = f"{cpu_model()}, {len(os.sched_getaffinity(0))} cores"
    return report
