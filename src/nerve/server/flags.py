"""Command-line flags of the server's limits, shared by ``nerve serve`` and the built
executable's ``serve`` verb.

They live here, not in ``nerve.cli``, because the executable leaves ``nerve.cli`` out of its
bundle (see ``nerve.build.pyinstaller.EXCLUDES``): its verbs may import only what ships.
"""

from __future__ import annotations

import argparse

from .config import name_list


def add_limit_options(p: argparse.ArgumentParser) -> None:
    """Threads, batching, admission and size limits: shared with the built executable."""
    p.add_argument("--threads", type=int, help="intra-op threads of the backend")
    p.add_argument("--max-batch-tokens", type=int, help="padded tokens per batch (default 16384)")
    p.add_argument(
        "--max-concurrent-requests", type=int, help="beyond this, answer 429 (default 512)"
    )
    p.add_argument("--max-client-batch-size", type=int, help="texts per request (default 32)")
    p.add_argument("--max-input-chars", type=int, help="characters per text (default 100000)")
    p.add_argument("--max-body-bytes", type=int, help="request body size (default 8 MiB)")
    p.add_argument("--request-timeout", type=float, help="seconds per request (default 60)")
    p.add_argument(
        "--max-queued-tokens",
        type=int,
        help="model tokens waiting for the model, all requests together; beyond it, 429 "
        "(default 131072)",
    )
    p.add_argument(
        "--max-request-tokens",
        type=int,
        help="model tokens of one request; beyond it, 413 (default 16384)",
    )
    p.add_argument(
        "--graceful-timeout",
        type=float,
        help="on SIGTERM/SIGINT, answer what was received and exit within this (default 30 s)",
    )
    p.add_argument("--max-connections", type=int, help="open HTTP connections (default 2048)")
    p.add_argument(
        "--header-timeout", type=float, help="seconds to receive request headers (default 10)"
    )
    p.add_argument(
        "--body-timeout", type=float, help="seconds to receive a request body (default 30)"
    )
    p.add_argument(
        "--keep-alive-timeout",
        type=float,
        help="seconds an idle keep-alive connection stays open (default 5)",
    )
    p.add_argument(
        "--strict-length",
        action="store_const",
        const=True,
        help="refuse over-long input (truncate=false) with 422 instead of using windows",
    )
    p.add_argument("--log-level", choices=["debug", "info", "warning", "error"])
    # -- HTTP browser protections (nerve.server.http.guards) --
    p.add_argument(
        "--allowed-hosts",
        type=name_list,
        help="comma-separated Host names served besides the loopback ones ('*': any)",
    )
    p.add_argument(
        "--cors-origins",
        type=name_list,
        help="comma-separated origins allowed by CORS (default: none, CORS off)",
    )


def add_tls_options(p: argparse.ArgumentParser) -> None:
    """HTTPS and gRPC over TLS (encoderfile's flags): both files, PEM."""
    p.add_argument("--cert-file", help="PEM certificate (chain): serve HTTPS and gRPC over TLS")
    p.add_argument("--key-file", help="PEM private key of --cert-file")


def add_runtime_options(p: argparse.ArgumentParser) -> None:
    """ONNX Runtime session options (encoderfile's flags; onnx backend only)."""
    p.add_argument(
        "--execution-provider",
        help="ONNX Runtime execution provider: cpu, cuda, tensorrt, rocm, openvino, coreml, "
        "directml, or a full name such as CUDAExecutionProvider (default cpu)",
    )
    p.add_argument(
        "--graph-optimization-level",
        help="disable, basic, extended or all (default all)",
    )
    p.add_argument(
        "--disable-cpu-fallback",
        action="store_const",
        const=True,
        help="fail instead of running unsupported nodes on the CPU",
    )
    p.add_argument(
        "--with-arena-allocator",
        action="store_const",
        const=True,
        help="turn ONNX Runtime's CPU memory arena on explicitly (default: ONNX Runtime's, on)",
    )
    p.add_argument("--device-id", type=int, help="device of the execution provider (default 0)")


def add_otel_options(p: argparse.ArgumentParser) -> None:
    """OpenTelemetry request traces (encoderfile's flags; needs the ``otel`` extra)."""
    p.add_argument(
        "--enable-otel",
        action="store_const",
        const=True,
        help="export a trace per request (tokenize/queue/model/decode spans) over OTLP/gRPC",
    )
    p.add_argument(
        "--otel-exporter-url",
        help="OTLP/gRPC collector (default http://localhost:4317)",
    )
