"""``mcp``: the MCP server over the embedded model.

encoderfile's ``mcp`` serves Streamable HTTP on ``--hostname`` 0.0.0.0, ``--port`` 9100;
so does this verb by default. ``--transport stdio`` serves a local agent on stdin/stdout.
"""

from __future__ import annotations

import argparse
import dataclasses
import logging
import sys

from ..server.config import ServerConfig
from ..types import DEFAULT_AGGREGATION, Aggregation
from .embedded import EmbeddedModel

_LIMIT_FIELDS = frozenset(f.name for f in dataclasses.fields(ServerConfig))


def add_parser(sub: argparse._SubParsersAction, model: EmbeddedModel) -> None:  # type: ignore[type-arg]
    from ..mcp.settings import (
        DEFAULT_PORT,
        TRANSPORTS,
        add_admission_options,
        add_session_options,
    )

    p = sub.add_parser("mcp", help="serve the model as an MCP tool (Streamable HTTP or stdio)")
    p.add_argument("--transport", choices=TRANSPORTS, default="http", help="default http")
    p.add_argument("--hostname", default="0.0.0.0", help="HTTP address (default 0.0.0.0)")
    p.add_argument("--port", type=int, default=DEFAULT_PORT, help="HTTP port (default 9100)")
    p.add_argument("--api-key", default=None, help="HTTP: require 'Authorization: Bearer KEY'")
    p.add_argument(
        "-a",
        "--aggregation",
        choices=[a.value for a in Aggregation],
        default=model.manifest.defaults.get("aggregation", DEFAULT_AGGREGATION.value),
        help="the tool's default strategy (default: the build's)",
    )
    p.add_argument("--threads", type=int, default=None, help="model threads")
    p.add_argument("--log-level", choices=["debug", "info", "warning", "error"], default="info")
    add_session_options(p)
    add_admission_options(p, from_build=True)
    p.set_defaults(run=run)


def run(args: argparse.Namespace, model: EmbeddedModel) -> int:
    from ..mcp.server import run_mcp
    from ..mcp.settings import McpSettings, admission_overrides
    from .embedded import build_threads
    from .engine import load_embedded

    # stdout is the protocol channel on stdio: logs go to stderr, always.
    logging.basicConfig(level=args.log_level.upper(), stream=sys.stderr)
    defaults = {k: v for k, v in model.manifest.defaults.items() if k in _LIMIT_FIELDS}
    if "threads" in defaults and args.threads is None:
        defaults["threads"] = build_threads(model.manifest)  # lowered to this machine's CPUs
    limits = ServerConfig(**{**defaults, **admission_overrides(args)})
    threads = args.threads if args.threads is not None else limits.threads
    engine = load_embedded(model.dir, threads=threads, max_batch_tokens=limits.max_batch_tokens)
    settings = McpSettings(
        transport=args.transport,
        host=args.hostname,
        port=args.port,
        aggregation=args.aggregation,
        api_key=args.api_key,
        title=model.manifest.name,
        version=model.manifest.version,
        limits=limits,
        max_sessions=args.mcp_max_sessions,
        session_idle_timeout=args.mcp_session_idle_timeout,
    )
    return run_mcp(engine, settings)
