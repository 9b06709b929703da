"""How fast nerve's server alone goes: the whole request path with a model that costs nothing.

On a GPU the model is fast enough that the server's host side (HTTP, JSON, tokenizing,
admission, batching, decoding, rendering: Python and Rust on the CPU, one event loop) sets
how many requests a second it can answer. This starts nerve's real server (the runner of
``nerve serve``, default flags) on the stand-in model of ``nerve.bench.stand_in``, which takes
the accelerator's path (one lane, a padded token budget), and drives it with one CoNLL-2003
test sentence per ``/predict_tokens`` request: no GPU takes the server past these figures on
this CPU.

    NERVE_CONLL_DIR=../shared/data/conll2003 python scripts/server_ceiling.py [--json FILE]

The load comes from wrk when it is on PATH (one C thread, a few percent of a core), else from
Python client threads (``nerve bench --server-load``'s), whose own cost is then part of what
is measured; the report says which.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import shutil
import signal
import sys
import tempfile
from pathlib import Path
from typing import Any

from nerve.bench.arguments import at_least
from nerve.bench.runner import cpu_model
from nerve.bench.server_load import drive_clients, free_port, start_server
from nerve.bench.workloads import default_conll_file, read_sentences, short_texts
from nerve.bench.wrk_load import drive_wrk, wrk_script
from nerve.errors import NerveError

SERVE_FLAG = "--serve-stand-in"


def serve_stand_in(port: int, model: str | None) -> None:
    """The child process: nerve's server on ``port`` until SIGTERM, with the stand-in model."""
    from nerve.bench.stand_in import free_engine
    from nerve.server.config import ServerConfig
    from nerve.server.runner import run

    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    engine, _ = free_engine(model)
    config = ServerConfig(model=model, http_port=port, disable_grpc=True)
    asyncio.run(run(config, engine))


def _clients(value: str) -> list[int]:
    try:
        counts = [int(part) for part in value.split(",") if part.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected numbers separated by commas, got {value!r}"
        ) from None
    if not counts or min(counts) < 1:
        raise argparse.ArgumentTypeError(f"each client count must be at least 1, got {value!r}")
    return counts


def measure(
    port: int,
    texts: list[str],
    clients: int,
    seconds: float,
    generator: str,
    work: Path,
    processes: int = 1,
) -> dict[str, Any]:
    warmup = min(3.0, seconds)
    if generator == "wrk":
        script = work / "sentences.lua"
        if not script.exists():
            script.write_text(wrk_script(texts), encoding="utf-8")
        wrk = drive_wrk(port, script, clients, seconds, warmup)
        requests, rate, p50, p99 = wrk.requests, wrk.requests_per_s, wrk.p50_ms, wrk.p99_ms
        failed = wrk.non_2xx + wrk.socket_errors
    else:
        # Never more processes than clients (1 client: one process).
        load = drive_clients(port, texts, clients, seconds, warmup, min(processes, clients))
        requests, rate, p50, p99 = load.requests, load.requests_per_s, load.p50_ms, load.p99_ms
        failed = load.errors
    return {
        "clients": clients,
        "requests": requests,
        "requests_per_s": round(rate, 1),
        "p50_ms": round(p50, 3),
        "p99_ms": round(p99, 3),
        "failed": failed,
    }


def main() -> None:
    if len(sys.argv) >= 2 and sys.argv[1] == SERVE_FLAG:
        serve_stand_in(int(sys.argv[2]), sys.argv[3] if len(sys.argv) > 3 else None)
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=None, help="model path (default: the embedded one)")
    parser.add_argument(
        "--clients", type=_clients, default=[1, 64], help="concurrent connections, e.g. 1,64"
    )
    parser.add_argument(
        "--seconds", type=at_least(1, float), default=10.0, help="measured per count"
    )
    parser.add_argument(
        "--load-generator",
        choices=["auto", "wrk", "python"],
        default="auto",
        help="auto: wrk when it is on PATH, else Python client threads",
    )
    parser.add_argument(
        "--client-processes",
        type=at_least(1),
        default=1,
        help="Python clients: spread them over this many processes (their GIL bounds one)",
    )
    parser.add_argument("--json", type=Path, default=None, help="also write the figures here")
    args = parser.parse_args()
    generator = args.load_generator
    if generator == "auto":
        generator = "wrk" if shutil.which("wrk") else "python"
    if generator == "wrk" and args.client_processes != 1:
        parser.error("--client-processes spreads Python clients; wrk is one process")
    texts = short_texts(read_sentences(default_conll_file()), 1000)
    cores = len(os.sched_getaffinity(0))
    report: dict[str, Any] = {
        "cpu": cpu_model(),
        "cores": cores,
        "load_generator": generator,
        "client_processes": args.client_processes,
        "runs": [],
    }
    spread = f" in up to {args.client_processes} processes" if args.client_processes > 1 else ""
    print(
        f"CPU: {report['cpu']}, {cores} cores; the model costs nothing; load: {generator}{spread}"
    )
    work = Path(tempfile.mkdtemp(prefix="nerve-server-ceiling-"))
    try:
        run_all(args, generator, texts, report, work)
    except NerveError as exc:  # a missing wrk, a server that did not start: one line
        sys.exit(f"error: {exc}")
    if args.json is not None:
        args.json.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")


def run_all(
    args: argparse.Namespace, generator: str, texts: list[str], report: dict[str, Any], work: Path
) -> None:
    port = free_port()
    command = [sys.executable, str(Path(__file__).resolve()), SERVE_FLAG, str(port)]
    command += [args.model] if args.model else []
    proc = start_server(args.model, port, (), work / "server.log", command=command)
    try:
        for clients in args.clients:
            figures = measure(
                port, texts, clients, args.seconds, generator, work, args.client_processes
            )
            report["runs"].append(figures)
            print(
                f"{clients} clients: {figures['requests']:,} requests, "
                f"{figures['requests_per_s']:,.0f} req/s, p50 {figures['p50_ms']:.2f} ms, "
                f"p99 {figures['p99_ms']:.2f} ms, {figures['failed']} failed"
            )
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=60)


if __name__ == "__main__":
    main()
