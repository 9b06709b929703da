"""Tool arguments the tools do not take are refused, as nerve's HTTP API refuses unknown
fields: a typo (``aggregation`` for ``aggregation_strategy``) would otherwise fall back to the
default without a word. The SDK derives each tool's schema from its function and drops extra
arguments silently; this middleware (the SDK's ``MCPServer.middleware`` chain) answers such a
call with a tool error naming them, and publishes ``additionalProperties: false`` in the
schemas so that agents know before they call.
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from mcp import types


def argument_names(fn: Callable[..., Any]) -> frozenset[str]:
    """The arguments a tool function takes (its signature is its schema)."""
    return frozenset(inspect.signature(fn).parameters)


def strict_arguments(
    known: Mapping[str, frozenset[str]],
) -> Callable[[Any, Callable[[Any], Awaitable[Any]]], Awaitable[Any]]:
    """The middleware for tools ``known`` (tool name → its argument names)."""

    async def middleware(ctx: Any, call_next: Callable[[Any], Awaitable[Any]]) -> Any:
        params = ctx.params if isinstance(ctx.params, Mapping) else {}
        if ctx.method == "tools/call":
            allowed = known.get(params.get("name"))  # type: ignore[arg-type]
            arguments = params.get("arguments")
            if allowed is not None and isinstance(arguments, Mapping):
                unknown = sorted(set(arguments) - allowed)
                if unknown:
                    text = (
                        f"unknown argument(s) {unknown}; {params['name']} takes "
                        f"{', '.join(sorted(allowed))}"
                    )
                    return types.CallToolResult(
                        content=[types.TextContent(type="text", text=text)], is_error=True
                    )
        result = await call_next(ctx)
        if ctx.method == "tools/list" and isinstance(result, dict):
            for tool in result.get("tools", ()):
                schema = tool.get("inputSchema") if isinstance(tool, dict) else None
                if isinstance(schema, dict) and tool.get("name") in known:
                    schema["additionalProperties"] = False
        return result

    return middleware
