"""``serve``: encoderfile's flags mapped onto ``nerve serve``'s server, embedded model.

Settings come, in order of precedence, from the flags, ``NERVE_*`` environment variables,
the build config's ``nerve.limits``/``threads``, then the server's defaults. As in
encoderfile, ``--http-hostname`` and ``--grpc-hostname`` are independent, each defaulting to
every IPv4 interface (``NERVE_HOST`` / ``NERVE_GRPC_HOST`` set them from the environment).
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import logging
import os
import sys
from collections.abc import Callable, Mapping
from typing import Any

from ..bundle.manifest import Manifest
from ..server.config import ServerConfig, env_name, resolve_config
from ..server.flags import (
    add_limit_options,
    add_otel_options,
    add_runtime_options,
    add_tls_options,
)
from .embedded import EmbeddedModel, build_threads

# encoderfile's default: every IPv4 interface.
DEFAULT_HOST = "0.0.0.0"
_SERVER_FIELDS = frozenset(f.name for f in dataclasses.fields(ServerConfig))
# Flags with the same name (and meaning) as ServerConfig fields.
_PASSTHROUGH = (
    "http_port",
    "grpc_port",
    "disable_http",
    "disable_grpc",
    "api_key",
    "threads",
    "max_batch_tokens",
    "max_concurrent_requests",
    "max_client_batch_size",
    "max_input_chars",
    "max_body_bytes",
    "request_timeout",
    "max_queued_tokens",
    "max_request_tokens",
    "graceful_timeout",
    "max_connections",
    "header_timeout",
    "body_timeout",
    "keep_alive_timeout",
    "strict_length",
    "log_level",
    "cert_file",
    "key_file",
    "execution_provider",
    "graph_optimization_level",
    "disable_cpu_fallback",
    "with_arena_allocator",
    "device_id",
    "enable_otel",
    "otel_exporter_url",
    "allowed_hosts",
    "cors_origins",
)

log = logging.getLogger("nerve.standalone")


def add_parser(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser(
        "serve",
        help="serve the model over HTTP and gRPC",
        description="encoderfile's serve verb; every option can also be set with an environment "
        "variable NERVE_<OPTION> (NERVE_HOST for the hostname).",
    )
    p.add_argument("--http-hostname", help=f"HTTP address to bind (default {DEFAULT_HOST})")
    p.add_argument("--http-port", type=int, help="HTTP port (default 8080)")
    p.add_argument("--grpc-hostname", help=f"gRPC address to bind (default {DEFAULT_HOST})")
    p.add_argument("--grpc-port", type=int, help="gRPC port (default 50051)")
    p.add_argument("--disable-grpc", action="store_const", const=True, help="no gRPC server")
    p.add_argument("--disable-http", action="store_const", const=True, help="no HTTP server")
    p.add_argument("--api-key", help="require 'Authorization: Bearer KEY' (except /health)")
    add_limit_options(p)
    add_tls_options(p)
    add_runtime_options(p)
    add_otel_options(p)
    p.set_defaults(run=run)


def bind_hosts(args: argparse.Namespace, environ: Mapping[str, str]) -> dict[str, str | None]:
    """``host`` (HTTP) and ``grpc_host`` flags; None leaves one to its environment variable."""
    hosts: dict[str, str | None] = {}
    for field, flag in (("host", args.http_hostname), ("grpc_host", args.grpc_hostname)):
        if flag:
            hosts[field] = str(flag)
        elif env_name(field) in environ or (field == "grpc_host" and env_name("host") in environ):
            hosts[field] = None  # NERVE_GRPC_HOST, or NERVE_HOST for both
        else:
            hosts[field] = DEFAULT_HOST
    return hosts


def server_config(
    args: argparse.Namespace,
    model: EmbeddedModel,
    environ: Mapping[str, str],
    say: Callable[[str], None] | None = None,
) -> ServerConfig:
    flags: dict[str, Any] = {name: getattr(args, name) for name in _PASSTHROUGH}
    flags.update(bind_hosts(args, environ))
    for key, value in _build_defaults(model.manifest).items():
        if flags.get(key) is None and env_name(key) not in environ:
            # Only the build's own count is lowered to this machine's CPUs: a --threads or
            # NERVE_THREADS given here is the user's, and is refused as given.
            if key == "threads":
                value = build_threads(model.manifest, say)
            flags[key] = value
    flags.update(model=str(model.dir), model_id=model.manifest.name, backend="onnx")
    return resolve_config(flags, environ)


def _build_defaults(manifest: Manifest) -> dict[str, Any]:
    return {k: v for k, v in manifest.defaults.items() if k in _SERVER_FIELDS}


def run(args: argparse.Namespace, model: EmbeddedModel) -> int:
    from ..server.runner import ort_options
    from ..server.runner import run as run_server
    from ..server.tls import check_tls
    from .engine import load_embedded

    config = server_config(args, model, os.environ)
    logging.basicConfig(
        level=config.log_level.upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    check_tls(config)  # before the model loads: a bad pair is the first thing reported
    engine = load_embedded(
        model.dir,
        threads=config.threads,
        max_batch_tokens=config.max_batch_tokens,
        ort_options=ort_options(config),
    )
    log.info("Model: %s v%s", model.manifest.name, model.manifest.version)
    asyncio.run(run_server(config, engine))
    return 0
