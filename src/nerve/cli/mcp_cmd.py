"""``nerve mcp``: serve ``extract_entities`` to agents over MCP (stdio or Streamable HTTP)."""

from __future__ import annotations

import argparse
import logging
import sys

from ..errors import MissingExtra
from ..types import DEFAULT_AGGREGATION, Aggregation
from .common import add_model_options, add_patterns_options, load_engine


def add_parser(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    from ..mcp.settings import (
        DEFAULT_PORT,
        TRANSPORTS,
        add_admission_options,
        add_session_options,
    )

    p = sub.add_parser(
        "mcp",
        help="serve entity extraction as an MCP tool (stdio or Streamable HTTP)",
        description="Two tools: extract_entities(text | texts, aggregation_strategy), "
        "nerve's entities, and run_encoder(inputs), encoderfile's /predict answer. "
        "stdio (default) is for agents that start nerve themselves; http serves "
        f"http://HOST:PORT/mcp (default port {DEFAULT_PORT}).",
    )
    p.add_argument("--transport", choices=TRANSPORTS, default="stdio", help="default stdio")
    p.add_argument("--host", default="127.0.0.1", help="HTTP address (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=DEFAULT_PORT, help=f"HTTP port ({DEFAULT_PORT})")
    p.add_argument("--api-key", default=None, help="HTTP: require 'Authorization: Bearer KEY'")
    p.add_argument(
        "--aggregation",
        "-a",
        default=DEFAULT_AGGREGATION.value,
        choices=[a.value for a in Aggregation],
        help=f"the tool's default aggregation strategy (default {DEFAULT_AGGREGATION.value})",
    )
    p.add_argument("--max-client-batch-size", type=int, default=32, help="texts per call")
    p.add_argument("--max-input-chars", type=int, default=100_000, help="characters per text")
    p.add_argument("--request-timeout", type=float, default=60.0, help="seconds per call")
    add_admission_options(p)
    p.add_argument("--log-level", choices=["debug", "info", "warning", "error"], default="info")
    add_session_options(p)
    add_model_options(p)
    add_patterns_options(p)
    p.set_defaults(run=run)


def _check_extra() -> None:
    import importlib.util

    for module, package, extra in (("mcp", "mcp", "mcp"), ("uvicorn", "uvicorn", "server")):
        if importlib.util.find_spec(module) is None:
            raise MissingExtra(package, extra, "nerve mcp")


def run(args: argparse.Namespace) -> int:
    _check_extra()
    from ..mcp.server import run_mcp
    from ..mcp.settings import McpSettings, admission_overrides
    from ..server.config import ServerConfig
    from ..transform import with_model_transform

    # stdout is the protocol channel on stdio: logs go to stderr, always.
    logging.basicConfig(level=args.log_level.upper(), stream=sys.stderr)
    admission = admission_overrides(args)
    limits = ServerConfig(
        max_batch_tokens=args.max_batch_tokens,
        max_client_batch_size=args.max_client_batch_size,
        max_input_chars=args.max_input_chars,
        request_timeout=args.request_timeout,
        threads=args.threads,
        **admission,
    )
    engine = load_engine(args)
    # A built model (.nerve bundle) carries a transform; apply it like the executable does.
    engine.backend = with_model_transform(engine.model_dir, engine.backend)
    settings = McpSettings(
        transport=args.transport,
        host=args.host,
        port=args.port,
        aggregation=args.aggregation,
        api_key=args.api_key,
        limits=limits,
        max_sessions=args.mcp_max_sessions,
        session_idle_timeout=args.mcp_session_idle_timeout,
    )
    return run_mcp(engine, settings)
