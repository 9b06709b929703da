"""MCP over stdio, with an answer for every line that is not a JSON-RPC message.

The SDK's stdio transport hands a line it cannot read to the server as an exception, which the
server drops: the client never hears back and waits forever (an agent that cuts a string
inside an emoji sends exactly such a line: JSON with a lone surrogate escape). JSON-RPC 2.0
asks for an error instead, and the HTTP transport sends one. Here the line's exception is
answered: "Parse error" (-32700, id null) for text that is not JSON, "Invalid Request"
(-32600) with the request's own id when it is JSON but not a valid message, so the client
waiting on that id gets its answer.
"""

from __future__ import annotations

import json
from typing import Any

import anyio
from mcp import types
from mcp.server.stdio import stdio_server
from mcp.shared.memory import create_context_streams
from mcp.shared.message import SessionMessage
from pydantic import ValidationError


async def run_stdio(server: Any) -> None:
    """Serve ``server`` (an ``MCPServer``) until stdin closes."""
    # The SDK's MCPServer.run_stdio_async, with the relay between the transport and the
    # protocol loop; the loop is the SDK's low-level server, which MCPServer keeps as
    # ``_lowlevel_server`` (the mcp 2.x API nerve pins; tests/mcp cover this path).
    lowlevel = server._lowlevel_server
    async with stdio_server() as (read_stream, write_stream):
        relay_send, relay_receive = create_context_streams[SessionMessage | Exception](0)

        async def relay() -> None:
            async with relay_send:
                async for item in read_stream:
                    if isinstance(item, Exception):
                        await write_stream.send(SessionMessage(unreadable_line_error(item)))
                    else:
                        await relay_send.send(item)

        async with anyio.create_task_group() as tasks:
            tasks.start_soon(relay)
            await lowlevel.run(
                relay_receive, write_stream, lowlevel.create_initialization_options()
            )


def unreadable_line_error(exc: Exception) -> types.JSONRPCError:
    """The JSON-RPC error answering a line the transport could not read as a message."""
    problem, raw = _first_problem(exc)
    message: Any = None
    if isinstance(raw, str):
        try:
            message = json.loads(raw)  # Python's json takes lone surrogate escapes
        except ValueError:
            message = None
    elif isinstance(raw, dict):
        message = raw
    if not isinstance(message, dict):
        return _error(None, types.PARSE_ERROR, f"Parse error: the line is not JSON ({problem})")
    request_id = message.get("id")
    if isinstance(request_id, bool) or not isinstance(request_id, (int, str)):
        request_id = None
    if _has_lone_surrogate(message):
        reason = "a string holds a lone surrogate escape (half of a UTF-16 pair): not valid Unicode"
    else:
        reason = problem
    return _error(request_id, types.INVALID_REQUEST, f"Invalid Request: {reason}")


def _first_problem(exc: Exception) -> tuple[str, object]:
    if isinstance(exc, ValidationError) and exc.errors():
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first.get("loc", ()))
        text = str(first.get("msg", "invalid"))
        return (f"{where}: {text}" if where else text), first.get("input")
    return str(exc) or type(exc).__name__, None


def _has_lone_surrogate(value: object) -> bool:
    if isinstance(value, str):
        return any("\ud800" <= c <= "\udfff" for c in value)
    if isinstance(value, dict):
        return any(_has_lone_surrogate(k) or _has_lone_surrogate(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_has_lone_surrogate(v) for v in value)
    return False


def _error(request_id: int | str | None, code: int, message: str) -> types.JSONRPCError:
    return types.JSONRPCError(
        jsonrpc="2.0", id=request_id, error=types.ErrorData(code=code, message=message)
    )
