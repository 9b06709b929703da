"""uvicorn's httptools protocol with the limits it lacks: a thin layer, not a new server.

uvicorn (0.54) closes idle keep-alive connections, but it has no deadline for a request's
headers or body, no bound on header size with httptools, and no connection limit
(``limit_concurrency`` still accepts and parses every connection), so stalled clients are held
forever and enough of them exhaust file descriptors. The alternatives were weighed: hypercorn
and granian bring their own worker models and signal handling, and none bounds header + body
time together. Subclassing the protocol keeps Starlette, the ASGI app and the event loop as
they are and adds, per connection:

- a header deadline (``--header-timeout``): from the connection's start, or from the first
  byte of a later request on a keep-alive connection, the request line and headers must be
  complete in time; a trickle of bytes does not extend it;
- a header size cap (``MAX_HEAD_BYTES``, h11's default): beyond it, 431 and close;
- a body deadline (``--body-timeout``): from the end of the headers, the whole body (fixed
  length or chunked) must arrive in time;
- a connection limit (``--max-connections``): beyond it a new connection gets a fixed
  ``503`` and is closed at once, before anything is parsed, so the accept loop stays cheap;
- disconnect hooks (``DISCONNECT_HOOKS``): a request's work is cancelled the moment its
  connection is lost, without a watcher task per request.

Idle keep-alive connections are closed by uvicorn's own timer (``--keep-alive-timeout``).

Why httptools (C) and not h11 (pure Python): with one-sentence requests at saturation the
event loop, not the model, limited the server, and h11's parsing and response framing were a
tenth of the loop's time (measured: +9% requests/s on 2 cores, same run).
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

log = logging.getLogger(__name__)

# A scope extension: callables run when the connection of a request without a complete
# response is lost. A route registers one instead of a task per request that waits on
# ``receive`` for ``http.disconnect`` (see ``Call.unless_disconnected``).
DISCONNECT_HOOKS = "nerve.disconnect_hooks"

# The request line and headers of one request, at most (h11's default, which uvicorn's h11
# protocol used here before).
MAX_HEAD_BYTES = 16 * 1024


def _fixed_response(status: str, code: str, message: str) -> bytes:
    body = json.dumps({"error": {"code": code, "message": message}}).encode()
    return (
        f"HTTP/1.1 {status}\r\ncontent-type: application/json\r\nconnection: close\r\n"
        f"content-length: {len(body)}\r\n\r\n"
    ).encode() + body


BUSY_RESPONSE = _fixed_response(
    "503 Service Unavailable",
    "overloaded",
    "too many open connections (--max-connections); retry later",
)
# uvicorn answers bytes httptools cannot parse (a bad request line, Content-Length or chunk
# framing, both Content-Length and Transfer-Encoding, an HTTP/2 preface) with a text/plain 400;
# nerve's clients get every error as JSON.
INVALID_HTTP_RESPONSE = _fixed_response(
    "400 Bad Request",
    "invalid_http",
    "the request is not valid HTTP/1.1 (request line, headers, Content-Length or chunked "
    "framing); the connection is closed",
)
HEAD_TOO_LARGE_RESPONSE = _fixed_response(
    "431 Request Header Fields Too Large",
    "headers_too_large",
    f"the request line and headers exceed {MAX_HEAD_BYTES} bytes",
)


@dataclass(frozen=True)
class TransportLimits:
    max_connections: int
    header_timeout: float
    body_timeout: float


def protocol_class(limits: TransportLimits) -> type[HttpToolsProtocol]:
    """The protocol class to give ``uvicorn.Config(http=...)`` for these limits."""
    return type("LimitedHttpProtocol", (LimitedHttpProtocol,), {"limits": limits})


class LimitedHttpProtocol(HttpToolsProtocol):
    limits: TransportLimits

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._deadline: asyncio.TimerHandle | None = None
        self._waiting_for: str | None = None  # "headers" or "body" while a deadline runs
        # The head's size two ways: raw bytes while it is incomplete (a head that never ends),
        # and its parsed parts (a complete head that arrived in one chunk with its body).
        self._raw_head: int | None = None  # None: no head in progress
        self._head_size = 0
        self._head_refused = False
        # Set when bytes that are not HTTP follow complete requests still being answered: the
        # 400 waits for their responses (see send_400_response).
        self._invalid_pending = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        super().connection_made(transport)  # type: ignore[arg-type]
        if len(self.connections) > self.limits.max_connections:
            self.connections.discard(self)
            transport.write(BUSY_RESPONSE)  # type: ignore[attr-defined]
            transport.close()
            return
        self._raw_head = 0  # the first request's head starts now
        self._expect("headers")

    def connection_lost(self, exc: Exception | None) -> None:
        self._cancel_deadline()
        cycle = self.cycle
        super().connection_lost(exc)
        if cycle is not None and not cycle.response_complete:
            extensions: dict[str, Any] = cycle.scope.get("extensions") or {}
            for hook in list(extensions.get(DISCONNECT_HOOKS, ())):
                hook()

    def data_received(self, data: bytes) -> None:
        if self._head_refused or self._invalid_pending:
            return  # the connection is answered and closed; nothing after it is parsed
        if self._raw_head is None and not self._waiting_for:
            self._raw_head = 0  # a later request on a keep-alive connection begins
        if self._raw_head is not None:
            self._raw_head += len(data)  # cleared by on_headers_complete if this ends the head
        super().data_received(data)
        incomplete_too_long = self._raw_head is not None and self._raw_head > MAX_HEAD_BYTES
        if (self._head_refused or incomplete_too_long) and not self.transport.is_closing():
            self._head_refused = True
            self._cancel_deadline()
            self.transport.write(HEAD_TOO_LARGE_RESPONSE)
            self.transport.close()

    def send_400_response(self, msg: str) -> None:
        # uvicorn's own answer to an unparseable request, as nerve's JSON error (uvicorn has
        # logged its warning already). Requests that arrived whole before the bad bytes
        # (pipelined, or one still running) are answered first, in order, as HTTP/1.1 asks;
        # uvicorn closed the connection under them, so a client lost valid answers.
        if self._answers_pending():
            self._invalid_pending = True
            self._cancel_deadline()  # the bad bytes are not a request whose head is awaited
            self.flow.pause_reading()
            return
        self._refuse_invalid()

    def _answers_pending(self) -> bool:
        """Whether complete requests are still to be answered on this connection: the bad
        bytes came after them, not inside one (a body that breaks its framing makes its
        own request the bad one, answered by the 400 at once)."""
        cycle = self.cycle
        return cycle is not None and not cycle.response_complete and not cycle.more_body

    def _refuse_invalid(self) -> None:
        self.transport.write(INVALID_HTTP_RESPONSE)
        self.transport.close()

    def on_response_complete(self) -> None:
        super().on_response_complete()  # starts the next pipelined request, if any
        if self._invalid_pending and not self.transport.is_closing():
            if not self._answers_pending():
                self._refuse_invalid()
            else:
                self.flow.pause_reading()  # uvicorn resumed it

    # -- parser callbacks ------------------------------------------------------------------
    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._head_size = 0
        if self._waiting_for != "headers":
            self._expect("headers")
        if self._raw_head is None:
            self._raw_head = 0

    def on_url(self, url: bytes) -> None:
        self._head_size += len(url)
        super().on_url(url)

    def on_header(self, name: bytes, value: bytes) -> None:
        self._head_size += len(name) + len(value) + 4  # ": " and CRLF
        super().on_header(name, value)

    def on_headers_complete(self) -> None:
        self._raw_head = None  # the head is complete
        if self._head_size > MAX_HEAD_BYTES:
            self._head_refused = True  # answered 431 by data_received; the app never runs
            return
        self._expect("body")  # cancelled at once by on_message_complete when there is none
        hooks: list[Callable[[], None]] = []
        self.scope["extensions"] = {DISCONNECT_HOOKS: hooks}  # type: ignore[dict-item]
        super().on_headers_complete()

    def on_body(self, body: bytes) -> None:
        if not self._head_refused:
            super().on_body(body)

    def on_message_complete(self) -> None:
        if self._head_refused:
            return
        self._cancel_deadline()  # the request is complete: the app has it
        super().on_message_complete()

    # -- deadlines ---------------------------------------------------------------------------
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
