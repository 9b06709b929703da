"""What an HTTP client gets back: an ``Answer`` (status, body, headers), sent the same way
whether a route ran behind the front door's fast path or inside Starlette, and the answer to
each error (one mapping, used by both)."""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from typing import Any

from starlette.responses import Response
from starlette.types import Scope, Send

from ...errors import NerveError
from ..errors import InternalError, Unauthorized, error_body, http_status

log = logging.getLogger("nerve.server.http")

JSON_MEDIA_TYPE = "application/json"


class ClientDisconnected(Exception):
    """The client went away before its response was ready; nothing is sent."""


@dataclass(frozen=True)
class Answer:
    status: int
    body: bytes
    media_type: str = JSON_MEDIA_TYPE
    headers: tuple[tuple[bytes, bytes], ...] = ()

    def response(self) -> Response:
        """The same answer as a Starlette response (routes served inside Starlette)."""
        headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in self.headers}
        return Response(self.body, self.status, headers=headers, media_type=self.media_type)

    async def send(self, send: Send, *, closing: bool = False) -> None:
        """Send as ASGI messages; ``closing`` adds ``Connection: close`` (see drain.py)."""
        headers = [
            (b"content-type", self.media_type.encode()),
            (b"content-length", str(len(self.body)).encode()),
            *self.headers,
        ]
        if closing:
            headers.append((b"connection", b"close"))
        await send({"type": "http.response.start", "status": self.status, "headers": headers})
        await send({"type": "http.response.body", "body": self.body})


def dump_json(payload: Any) -> bytes:
    # NaN/inf are not JSON; the engine never produces them for valid input.
    return json.dumps(payload, ensure_ascii=False, allow_nan=False, separators=(",", ":")).encode()


def json_answer(payload: Any, status: int = 200) -> Answer:
    return Answer(status, dump_json(payload))


def error_answer(error: NerveError) -> Answer:
    headers: tuple[tuple[bytes, bytes], ...] = ()
    if isinstance(error, Unauthorized):
        headers = ((b"www-authenticate", b'Bearer realm="nerve"'),)
    return Answer(http_status(error), dump_json(error_body(error)), headers=headers)


def answer_for(exc: Exception, scope: Scope, *, traceback: bool = True) -> Answer:
    """The answer to an exception a route raised: a nerve error says what was wrong; a client
    that left gets nothing (499 labels the request in the metrics); anything else is a bug,
    logged (with its traceback unless the caller's framework logs it), and the client gets a
    fixed text."""
    if isinstance(exc, NerveError):
        return error_answer(exc)
    if isinstance(exc, ClientDisconnected):
        # Routine (a client timed out, or was stopped): one line, no traceback.
        log.info("client disconnected before its response: %s %s", scope["method"], scope["path"])
        return Answer(499, b"")
    log.error(
        "unhandled %s on %s %s",
        type(exc).__name__,
        scope["method"],
        scope["path"],
        exc_info=exc if traceback else None,
    )
    return error_answer(InternalError())
