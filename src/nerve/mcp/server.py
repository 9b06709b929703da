"""Serve ``extract_entities`` and encoderfile's ``run_encoder`` over MCP (official ``mcp``
SDK): stdio or Streamable HTTP.

The tool runs through the server's ``InferenceService``, so MCP calls get the same request
merging, limits (texts per call, characters per text) and timeouts as ``nerve serve``.
stdout belongs to the protocol on stdio: nothing here prints, logs go to stderr.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import socket
from typing import Any

from ..engine.core import Engine
from ..server.metrics import ServerMetrics
from ..server.service import InferenceService
from .run_encoder import DESCRIPTION as RUN_ENCODER_DESCRIPTION
from .run_encoder import TOOL_NAME as RUN_ENCODER
from .run_encoder import make_run_encoder
from .settings import MCP_PATH, McpSettings
from .strict import argument_names, strict_arguments
from .tool import DESCRIPTION, TOOL_NAME, make_tool

log = logging.getLogger("nerve.mcp")


def create_server(service: InferenceService, settings: McpSettings) -> Any:
    """An ``MCPServer`` with nerve's tool and encoderfile's, bound to ``service``."""
    from mcp.server.mcpserver import MCPServer
    from mcp.server.mcpserver.exceptions import ToolError

    server = MCPServer(
        name="nerve",
        title=settings.title or service.model_id,
        version=settings.version,
        instructions=f"Named-entity recognition with the model {service.model_id!r}. "
        f"Labels: {', '.join(service.labels)}.",
        log_level="WARNING",
    )
    # Each tool's calls are traced under its own name (``nerve.route``).
    tool = make_tool(
        functools.partial(service.entities, route=f"mcp:{TOOL_NAME}"),
        service.model_id,
        settings.aggregation,
        ToolError,
    )
    server.add_tool(tool, name=TOOL_NAME, description=DESCRIPTION, structured_output=True)
    # encoderfile's own tool, for agents written against an encoderfile.
    encoder = make_run_encoder(
        functools.partial(service.entities, route=f"mcp:{RUN_ENCODER}"),
        service.model_id,
        service.engine.vocabulary_piece,
        ToolError,
    )
    server.add_tool(
        encoder, name=RUN_ENCODER, description=RUN_ENCODER_DESCRIPTION, structured_output=True
    )
    known = {TOOL_NAME: argument_names(tool), RUN_ENCODER: argument_names(encoder)}
    server.middleware.append(strict_arguments(known))  # type: ignore[arg-type]
    return server


def run_mcp(engine: Engine, settings: McpSettings) -> int:
    """Serve until stdin closes (stdio) or a signal (HTTP)."""
    asyncio.run(_serve(engine, settings))
    return 0


async def _serve(engine: Engine, settings: McpSettings) -> None:
    service = InferenceService(engine, settings.limits, ServerMetrics())
    service.start()
    try:
        server = create_server(service, settings)
        if settings.transport == "stdio":
            from .stdio import run_stdio

            await run_stdio(server)
        else:
            await _serve_http(server, settings)
    finally:
        await asyncio.to_thread(service.close)


async def _serve_http(server: Any, settings: McpSettings) -> None:
    from .auth import require_api_key
    from .http import serve_app
    from .sessions import explain_session_limit

    app = server.streamable_http_app(
        streamable_http_path=MCP_PATH,
        host=settings.host,
        max_sessions=settings.max_sessions,
        session_idle_timeout=settings.session_idle_timeout,
    )
    app = explain_session_limit(app, settings.max_sessions)
    if settings.api_key:
        app = require_api_key(app, settings.api_key)
    from ..server.ports import ensure_free

    # Before saying where it listens, and before uvicorn, which logs its own error and exits.
    ensure_free(settings.host, settings.port, "MCP HTTP", "--host", "--port")
    # Bound here, so that the line says the port the system chose for --port 0.
    sock = _listening_socket(settings.host, settings.port)
    port = sock.getsockname()[1]
    log.info("nerve mcp: Streamable HTTP on http://%s:%d%s", settings.host, port, MCP_PATH)
    await serve_app(app, settings.host, port).serve(sockets=[sock])


def _listening_socket(host: str, port: int) -> socket.socket:
    """A TCP socket listening on ``host:port`` (IPv6 when the host is an IPv6 address)."""
    name = host.strip("[]")
    family = socket.AF_INET6 if ":" in name else socket.AF_INET
    return socket.create_server((name, port), family=family)
