"""Request bodies in, JSON answers out, and the client-disconnect watch, on raw ASGI.

A ``Call`` is one request to a JSON route as the route sees it: the ASGI scope and receive
channel and the service, no framework objects, so the same route runs behind the front door's
fast path (``front.py``) and inside Starlette (``app.py``).

Bodies are read with a hard size limit (the declared Content-Length is checked before any
byte is read), decoded as strict UTF-8 and parsed as JSON; large bodies are parsed and large
answers rendered in the service's thread pools so the event loop keeps serving.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from starlette.requests import Request
from starlette.types import Receive, Scope

from ...io.json_problems import json_problem
from ..cancelling import CancelTrigger
from ..errors import InvalidJson, UnsupportedMediaType, payload_too_large
from ..service import InferenceService
from .answer import JSON_MEDIA_TYPE, Answer, ClientDisconnected, dump_json
from .transport import DISCONNECT_HOOKS

T = TypeVar("T")

# Below these, parsing/serializing on the loop is cheaper than a hop to a worker thread.
OFFLOAD_BYTES = 64 * 1024
OFFLOAD_ITEMS = 256
# How much of an over-size body is read (and dropped) before the 413, and for how long.
DISCARD_BYTES = 64 * 1024 * 1024
DISCARD_SECONDS = 10.0


def service_of(request: Request) -> InferenceService:
    service: InferenceService = request.app.state.service
    return service


@dataclass(frozen=True)
class Call:
    scope: Scope
    receive: Receive
    service: InferenceService

    def header(self, name: bytes) -> str | None:
        """A request header's value (``name`` lower-case); None when absent."""
        for key, value in self.scope["headers"]:
            if key == name:
                return str(value.decode("latin-1"))
        return None

    async def json(self) -> object:
        """The body as JSON: ``Content-Type: application/json`` required, at most
        ``--max-body-bytes``."""
        self._check_content_type()
        body = await self._read_body(self.service.config.max_body_bytes)
        if len(body) > OFFLOAD_BYTES:
            return await self.service.parse_body(parse_json, body)
        return parse_json(body)

    async def unless_disconnected(self, work: Awaitable[T]) -> T:
        """Await ``work``; if the client disconnects first, cancel it (its queued model work
        is dropped) and raise ``ClientDisconnected``.

        Once the body is fully read, the ASGI ``receive`` channel only yields when the client
        disconnects, so watching it costs nothing while the request runs; behind nerve's own
        transport a disconnect hook does the same without the watching task.
        """
        gone = CancelTrigger()
        hooks = self.scope.get("extensions", {}).get(DISCONNECT_HOOKS)
        # nerve's transport calls a hook when the connection is lost; elsewhere (tests, Ray
        # Serve) a task watches ``receive``.
        watcher = None if hooks is not None else asyncio.ensure_future(self._disconnected(gone))
        if hooks is not None:
            hooks.append(gone.fire)
        try:
            return await work
        except asyncio.CancelledError as cancelled:
            if gone.caused(cancelled):
                raise ClientDisconnected() from None
            raise  # the handler itself was cancelled (forced shutdown): the work goes with it
        finally:
            if watcher is not None:
                watcher.cancel()
            else:
                hooks.remove(gone.fire)

    async def json_answer(self, render: Callable[[], Any], *, large: bool) -> Answer:
        """Render a payload (``render()``) to a JSON answer; off the loop when ``large``."""

        def build() -> bytes:
            return dump_json(render())

        body = await self.service.offload(build) if large else build()
        return Answer(200, body)

    # -- internals ---------------------------------------------------------------------------
    def _check_content_type(self) -> None:
        # A web page can POST text/plain to a local server without a CORS preflight; JSON only.
        declared = self.header(b"content-type")
        media = (declared or "").split(";", 1)[0].strip().lower()
        is_json = media == JSON_MEDIA_TYPE or (
            media.startswith("application/") and media.endswith("+json")
        )
        if not is_json:
            got = repr(declared) if declared is not None else "none"
            raise UnsupportedMediaType(
                f"{self.scope['method']} {self.scope['path']} takes a JSON body: send "
                f"'Content-Type: application/json' (got {got})"
            )
        # Compressed bodies are not decoded: refused by name (RFC 9110 15.5.16), not read as
        # JSON and failed as "not valid UTF-8", nor (for an encoding whose bytes happen to be
        # JSON) silently served.
        coding = (self.header(b"content-encoding") or "identity").strip().lower()
        if coding != "identity":
            raise UnsupportedMediaType(
                f"{self.scope['method']} {self.scope['path']} takes an uncompressed body: "
                f"Content-Encoding {coding!r} is not supported"
            )

    async def _read_body(self, limit: int) -> bytes:
        declared = self.header(b"content-length") or ""
        if declared.isdigit() and int(declared) > limit:
            await self._discard(int(declared))
            raise payload_too_large(int(declared), limit)
        chunks: list[bytes] = []
        size = 0
        more = True
        while more:
            message = await self.receive()
            if message["type"] == "http.disconnect":
                raise ClientDisconnected()  # an aborted upload: logged once, as INFO
            chunk = message.get("body", b"")
            more = message.get("more_body", False)
            size += len(chunk)
            if size > limit:
                if more:
                    await self._discard(size)
                raise payload_too_large(size, limit)
            chunks.append(chunk)
        return chunks[0] if len(chunks) == 1 else b"".join(chunks)

    async def _discard(self, seen: int) -> None:
        """Read and drop the rest of an over-size body, up to a bound, so that a client that
        sends its whole body before reading the answer (most do) receives the 413 instead of
        a connection reset. Beyond DISCARD_BYTES, or after DISCARD_SECONDS, the server stops
        reading and the connection is closed after the 413."""

        async def drain() -> None:
            total = seen
            while total <= DISCARD_BYTES:
                message = await self.receive()
                if message["type"] != "http.request":
                    return
                total += len(message.get("body", b""))
                if not message.get("more_body", False):
                    return

        if seen <= DISCARD_BYTES:
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(drain(), DISCARD_SECONDS)

    async def _disconnected(self, gone: CancelTrigger) -> None:
        while True:
            message = await self.receive()
            if message["type"] == "http.disconnect":
                gone.fire()
                return


def parse_json(body: bytes) -> object:
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InvalidJson(
            f"request body is not valid UTF-8 (bad byte at offset {exc.start})"
        ) from None
    if not text.strip():
        raise InvalidJson("request body is empty; expected a JSON object")
    try:
        return json.loads(text, parse_constant=_refuse_constant)
    except json.JSONDecodeError as exc:
        raise InvalidJson(
            f"request body is not valid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})"
        ) from None
    except RecursionError:
        raise InvalidJson("request body is nested too deeply") from None
    except ValueError as exc:  # a number of too many digits (see json_problem)
        raise InvalidJson(f"request body is not valid JSON: {json_problem(exc)}") from None


def _refuse_constant(name: str) -> object:
    """Python's json reads NaN, Infinity and -Infinity, which JSON (RFC 8259) does not have:
    a body holding them is not JSON, and other servers and clients refuse it."""
    raise InvalidJson(f"request body is not valid JSON: {name} is not a JSON value")


def is_large(n_items: int) -> bool:
    """Whether an answer of ``n_items`` entities/tokens is worth rendering off the loop."""
    return n_items > OFFLOAD_ITEMS
