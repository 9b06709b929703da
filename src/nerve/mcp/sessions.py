"""The Streamable HTTP session limit, explained to the client.

The SDK enforces the limits (``max_sessions``, ``session_idle_timeout``); when it refuses a
new session it answers 503 "Too many open sessions". This wrapper replaces that answer's
message with one that names the limit and the flags that change it.
"""

from __future__ import annotations

import json
from typing import Any

ASGIApp = Any

# JSON-RPC "internal error", the code the SDK's own refusal carries.
_INTERNAL_ERROR = -32603


def explain_session_limit(app: ASGIApp, max_sessions: int) -> ASGIApp:
    body = json.dumps(
        {
            "jsonrpc": "2.0",
            "id": None,
            "error": {
                "code": _INTERNAL_ERROR,
                "message": f"too many open MCP sessions: {max_sessions} is the limit "
                "(--mcp-max-sessions); end one with DELETE /mcp, or wait until an unused one "
                "expires (--mcp-session-idle-timeout)",
            },
        }
    ).encode()

    async def explained(scope: dict[str, Any], receive: Any, send: Any) -> None:
        opening = scope["type"] == "http" and not any(
            name == b"mcp-session-id" for name, _ in scope["headers"]
        )
        if not opening:
            await app(scope, receive, send)
            return
        refused = False

        async def send_explained(message: dict[str, Any]) -> None:
            nonlocal refused
            if message["type"] == "http.response.start" and message["status"] == 503:
                refused = True
                await send(
                    {
                        "type": "http.response.start",
                        "status": 503,
                        "headers": [
                            (b"content-type", b"application/json"),
                            (b"content-length", str(len(body)).encode()),
                            (b"retry-after", b"1"),
                        ],
                    }
                )
            elif refused and message["type"] == "http.response.body":
                if not message.get("more_body", False):
                    await send({"type": "http.response.body", "body": body})
            else:
                await send(message)

        await app(scope, receive, send_explained)

    return explained
