"""The HTTP side of a graceful shutdown: while draining, a request that arrives on a
connection that was already open gets ``503`` with ``Connection: close`` instead of a reset,
and an answer to a request received before carries ``Connection: close`` too (the front
door applies both).

The header matters: a server that closes after an answer without it leaves the client free
to send its next request on the connection, and that request meets the close (a reset)."""

from __future__ import annotations

from starlette.types import Receive, Send

from ..errors import Unavailable
from .answer import error_answer


class Drain:
    """Set once, when shutdown starts; read by the front door on every request."""

    def __init__(self) -> None:
        self.active = False


async def refuse_while_draining(receive: Receive, send: Send) -> int:
    """Answer 503 with ``Connection: close``; the status sent."""
    # Read the body first (the transport's body timeout bounds this): closing with unread
    # bytes makes the kernel send a reset, and the client would never see the 503.
    message = await receive()
    while message["type"] == "http.request" and message.get("more_body", False):
        message = await receive()
    answer = error_answer(Unavailable("the server is shutting down; retry on a new connection"))
    await answer.send(send, closing=True)
    return answer.status
