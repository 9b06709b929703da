"""uvicorn's h11 protocol with the limits it lacks: a thin layer, not a new server.

uvicorn (0.54) closes idle keep-alive connections, but it has no deadline for a request's
headers or body and no connection limit (``limit_concurrency`` still accepts and parses every
connection), so stalled clients are held forever and enough of them exhaust file descriptors.
The alternatives were weighed: hypercorn and granian bring their own worker models and signal
handling, and none bounds header + body time together. Subclassing the protocol keeps
Starlette, the ASGI app and the event loop as they are and adds, per connection:

- a header deadline (``--header-timeout``): from the connection's start, or from the first
  byte of a later request on a keep-alive connection, the request line and headers must be
  complete in time; a trickle of bytes does not extend it;
- a body deadline (``--body-timeout``): from the end of the headers, the whole body (fixed
  length or chunked) must arrive in time;
- a connection limit (``--max-connections``): beyond it a new connection gets a fixed
  ``503`` and is closed at once, before anything is parsed, so the accept loop stays cheap.

Idle keep-alive connections are closed by uvicorn's own timer (``--keep-alive-timeout``).
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from typing import Any

import h11
from uvicorn.protocols.http.h11_impl import H11Protocol

log = logging.getLogger(__name__)

_BUSY_BODY = (
    b'{"error":{"code":"overloaded","message":'
    b'"too many open connections (--max-connections); retry later"}}'
)
BUSY_RESPONSE = (
    b"HTTP/1.1 503 Service Unavailable\r\n"
    b"content-type: application/json\r\n"
    b"connection: close\r\n"
    b"content-length: " + str(len(_BUSY_BODY)).encode() + b"\r\n\r\n" + _BUSY_BODY
)


@dataclass(frozen=True)
class TransportLimits:
    max_connections: int
    header_timeout: float
    body_timeout: float


def protocol_class(limits: TransportLimits) -> type[H11Protocol]:
    """The protocol class to give ``uvicorn.Config(http=...)`` for these limits."""
    return type("LimitedH11Protocol", (LimitedH11Protocol,), {"limits": limits})


class LimitedH11Protocol(H11Protocol):
    limits: TransportLimits

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._deadline: asyncio.TimerHandle | None = None
        self._waiting_for: str | None = None  # "headers" or "body" while a deadline runs

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        super().connection_made(transport)  # type: ignore[arg-type]
        if len(self.connections) > self.limits.max_connections:
            self.connections.discard(self)
            transport.write(BUSY_RESPONSE)  # type: ignore[attr-defined]
            transport.close()
            return
        self._expect("headers")

    def connection_lost(self, exc: Exception | None) -> None:
        self._cancel_deadline()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        self._follow_state()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        # Waiting for the next request is uvicorn's keep-alive timer's job; our header
        # deadline starts with that request's first byte (see data_received), unless the
        # client already pipelined more.
        self._cancel_deadline()
        self._follow_state()

    def _follow_state(self) -> None:
        if self.transport.is_closing():
            return
        state = self.conn.their_state
        if state is h11.IDLE:
            buffered = bool(self.conn.trailing_data[0])
            if buffered and self._waiting_for != "headers":
                self._expect("headers")
        elif state is h11.SEND_BODY:
            if self._waiting_for != "body":
                self._expect("body")
        else:  # the request is complete (or the connection is closing): the app has it
            self._cancel_deadline()

    def _expect(self, part: str) -> None:
        self._cancel_deadline()
        seconds = self.limits.header_timeout if part == "headers" else self.limits.body_timeout
        self._waiting_for = part
        self._deadline = self.loop.call_later(seconds, self._too_slow, part)

    def _cancel_deadline(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None
        self._waiting_for = None

    def _too_slow(self, part: str) -> None:
        self._deadline = None
        self._waiting_for = None
        if self.transport.is_closing():
            return
        log.debug("closing a connection whose request %s did not arrive in time", part)
        self.transport.close()
