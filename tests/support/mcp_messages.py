"""JSON-RPC messages an MCP client sends first, shared by the stdio and HTTP tests."""

from __future__ import annotations

from typing import Any


def initialize_request(client: str, request_id: int = 1) -> dict[str, Any]:
    """The ``initialize`` request that opens an MCP session."""
    return {
        "jsonrpc": "2.0",
        "id": request_id,
        "method": "initialize",
        "params": {
            "protocolVersion": "2025-06-18",
            "capabilities": {},
            "clientInfo": {"name": client, "version": "1"},
        },
    }


# The notification a client sends once it has the answer to ``initialize``.
INITIALIZED = {"jsonrpc": "2.0", "method": "notifications/initialized"}
