"""``nerve serve``: run the HTTP + gRPC server (a thin wrapper over ``nerve.server.runner``).

Every flag defaults to None here so that ``resolve_config`` can tell "not given" (fall back
to ``NERVE_*`` variables, then to the defaults) from an explicit value.
"""

from __future__ import annotations

import argparse
import importlib.util
import logging
import os

from ..errors import MissingExtra, NerveError
from ..patterns import OVERLAP_POLICIES
from ..server.config import DTYPES
from ..server.flags import (
    add_limit_options,
    add_otel_options,
    add_runtime_options,
    add_tls_options,
)
from .common import add_cuda_graphs_option

# (import name, pip name) of what the server needs beyond the base install.
_SERVER_PACKAGES = (
    ("starlette", "starlette"),
    ("uvicorn", "uvicorn"),
    ("grpc", "grpcio"),
    ("grpc_health", "grpcio-health-checking"),
    ("google.protobuf", "protobuf"),
    ("prometheus_client", "prometheus_client"),
)


def add_parser(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser(
        "serve",
        help="serve a model over HTTP and gRPC (Baseten- and encoderfile-compatible)",
        description="Every option can also be set with an environment variable NERVE_<OPTION> "
        "(e.g. NERVE_HTTP_PORT=9000, NERVE_API_KEY=...); a flag wins over its variable.",
    )
    p.add_argument("--model", "-m", help="model directory or Hub id (default: the embedded model)")
    p.add_argument("--model-id", help="name reported as model_id (default: from the model)")
    p.add_argument("--host", help="address to bind (default 127.0.0.1; 0.0.0.0 for all)")
    p.add_argument("--grpc-host", help="address for gRPC only (default: the same as --host)")
    p.add_argument("--http-port", type=int, help="HTTP port (default 8080)")
    p.add_argument("--grpc-port", type=int, help="gRPC port (default 50051)")
    p.add_argument("--disable-http", action="store_const", const=True, help="no HTTP server")
    p.add_argument("--disable-grpc", action="store_const", const=True, help="no gRPC server")
    p.add_argument(
        "--api-key", help="require 'Authorization: Bearer KEY' (except on /health and the / page)"
    )
    p.add_argument("--backend", choices=["auto", "torch", "onnx"], help="default auto")
    p.add_argument("--onnx-file", help="onnx backend: graph file or variant (e.g. q4)")
    p.add_argument("--device", help="cpu, cuda or cuda:N (default cpu)")
    p.add_argument(
        "--dtype", choices=list(DTYPES), help="torch backend precision (default float32)"
    )
    add_cuda_graphs_option(p, default=None)
    add_limit_options(p)
    p.add_argument(
        "--access-log",
        action="store_const",
        const=True,
        help="log one line per HTTP request: method, path, status, milliseconds",
    )
    add_tls_options(p)
    add_runtime_options(p)
    add_otel_options(p)
    p.add_argument(
        "--patterns",
        metavar="FILE",
        help="entity patterns (JSONL, see docs/patterns.md), merged into every aggregated result",
    )
    p.add_argument(
        "--patterns-overlap",
        choices=OVERLAP_POLICIES,
        help="who wins where a pattern and a model entity overlap (default rules)",
    )
    p.add_argument(
        "--patterns-ignore-case",
        action="store_const",
        const=True,
        help="match patterns case-insensitively unless a line sets ignore_case",
    )
    p.set_defaults(run=run)


def _check_extra() -> None:
    for module, package in _SERVER_PACKAGES:
        try:
            found = importlib.util.find_spec(module) is not None
        except ModuleNotFoundError:  # a missing parent package ("google")
            found = False
        if not found:
            raise MissingExtra(package, "server", "nerve serve")


def run(args: argparse.Namespace) -> int:
    _check_extra()
    from ..server.config import name_variables, resolve_config, set_by_variables

    flags = {k: v for k, v in vars(args).items() if k not in ("command", "run")}
    config = resolve_config(flags, os.environ)
    # gRPC's C core logs on its own (a TLS handshake a plaintext client fails is an INFO
    # line); it reads its level once, when grpc is first imported (by the runner, below).
    os.environ.setdefault("GRPC_VERBOSITY", "INFO" if config.log_level == "debug" else "ERROR")
    from ..server.runner import serve

    logging.basicConfig(
        level=config.log_level.upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    try:
        return serve(config)
    except NerveError as exc:
        # Refusals found while starting (a device, a graph file, a host name) name their flag;
        # an operator who set the NERVE_* variable instead must see that name too.
        exc.message = name_variables(exc.message, set_by_variables(flags, os.environ))
        exc.args = (exc.message,)
        raise
