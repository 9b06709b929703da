"""The HTTP side of a graceful shutdown: while draining, a request that arrives on a
connection that was already open gets ``503`` with ``Connection: close`` instead of a reset,
and an answer to a request received before carries ``Connection: close`` too.

The header matters: a server that closes after an answer without it leaves the client free
to send its next request on the connection, and that request meets the close (a reset)."""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ..errors import Unavailable, error_body
from .io import dump_json


class Drain:
    """Set once, when shutdown starts; read by ``DrainGate`` on every request."""

    def __init__(self) -> None:
        self.active = False


class DrainGate:
    def __init__(self, app: ASGIApp, drain: Drain) -> None:
        self.app = app
        self.drain = drain

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if not self.drain.active:
            await self.app(scope, receive, self._closing_once_draining(send))
            return
        error = Unavailable("the server is shutting down; retry on a new connection")
        # Read the body first (the transport's body timeout bounds this): closing with unread
        # bytes makes the kernel send a reset, and the client would never see the 503.
        message = await receive()
        while message["type"] == "http.request" and message.get("more_body", False):
            message = await receive()
        await send(
            {
                "type": "http.response.start",
                "status": 503,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"connection", b"close"),
                ],
            }
        )
        await send({"type": "http.response.body", "body": dump_json(error_body(error))})

    def _closing_once_draining(self, send: Send) -> Send:
        """``send``, adding ``Connection: close`` to an answer that starts once the drain has
        begun (uvicorn then closes the connection after it)."""

        async def send_closing(message: Message) -> None:
            if message["type"] == "http.response.start" and self.drain.active:
                headers = [*message.get("headers", []), (b"connection", b"close")]
                message = {**message, "headers": headers}
            await send(message)

        return send_closing
