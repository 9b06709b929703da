"""API-key check for the MCP HTTP transport (the same keys and headers as ``nerve serve``)."""

from __future__ import annotations

import json
from typing import Any

from ..server.auth import ApiKey

ASGIApp = Any


def require_api_key(app: ASGIApp, key: str) -> ASGIApp:
    """Wrap an ASGI app: HTTP requests without ``Authorization: Bearer KEY`` get a 401."""
    checker = ApiKey(key)
    body = json.dumps(
        {"error": {"code": "unauthorized", "message": "missing or wrong API key"}}
    ).encode()

    async def guarded(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":  # lifespan events pass through
            await app(scope, receive, send)
            return
        headers = [(k.decode("latin-1"), v.decode("latin-1")) for k, v in scope["headers"]]
        if checker.allows(headers):
            await app(scope, receive, send)
            return
        await send(
            {
                "type": "http.response.start",
                "status": 401,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"www-authenticate", b"Bearer"),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})

    return guarded
