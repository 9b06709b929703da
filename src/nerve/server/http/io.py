"""Request bodies in, JSON responses out, and the client-disconnect watch.

Bodies are read with a hard size limit (the declared Content-Length is checked before any
byte is read), decoded as strict UTF-8 and parsed as JSON; large bodies are parsed and large
responses serialized in the service's thread pool so the event loop keeps serving.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, TypeVar

from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response

from ..cancelling import CancelTrigger
from ..errors import InvalidJson, PayloadTooLarge, UnsupportedMediaType
from ..service import InferenceService

T = TypeVar("T")

# Below these, parsing/serializing on the loop is cheaper than a hop to a worker thread.
OFFLOAD_BYTES = 64 * 1024
OFFLOAD_ITEMS = 256
JSON_MEDIA_TYPE = "application/json"
# How much of an over-size body is read (and dropped) before the 413, and for how long.
DISCARD_BYTES = 64 * 1024 * 1024
DISCARD_SECONDS = 10.0


class ClientDisconnected(Exception):
    """The client went away before its response was ready; nothing is sent."""


def service_of(request: Request) -> InferenceService:
    service: InferenceService = request.app.state.service
    return service


async def read_json(request: Request, limit: int) -> object:
    _check_content_type(request)
    service = service_of(request)
    body = await _read_body(request, limit)
    if len(body) > OFFLOAD_BYTES:
        return await service.parse_body(parse_json, body)
    return parse_json(body)


def _check_content_type(request: Request) -> None:
    # A web page can POST text/plain to a local server without a CORS preflight; JSON only.
    declared = request.headers.get("content-type")
    media = (declared or "").split(";", 1)[0].strip().lower()
    is_json = media == JSON_MEDIA_TYPE or (
        media.startswith("application/") and media.endswith("+json")
    )
    if not is_json:
        got = repr(declared) if declared is not None else "none"
        raise UnsupportedMediaType(
            f"{request.method} {request.url.path} takes a JSON body: send "
            f"'Content-Type: application/json' (got {got})"
        )


async def _read_body(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length", "")
    chunks: list[bytes] = []
    size = 0
    stream = request.stream()
    try:
        if declared.isdigit() and int(declared) > limit:
            await _discard(stream, int(declared))
            raise _too_large(int(declared), limit)
        async for chunk in stream:
            size += len(chunk)
            if size > limit:
                await _discard(stream, size)
                raise _too_large(size, limit)
            chunks.append(chunk)
    except ClientDisconnect:
        raise ClientDisconnected() from None  # an aborted upload: logged once, as INFO
    return b"".join(chunks)


async def _discard(stream: AsyncIterator[bytes], size: int) -> None:
    """Read and drop the rest of an over-size body, up to a bound, so that a client that sends
    its whole body before reading the answer (most do) receives the 413 instead of a
    connection reset. Beyond DISCARD_BYTES, or after DISCARD_SECONDS, the server stops
    reading and the connection is closed after the 413."""

    async def drain() -> None:
        seen = size
        async for chunk in stream:
            seen += len(chunk)
            if seen > DISCARD_BYTES:
                return

    if size <= DISCARD_BYTES:
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(drain(), DISCARD_SECONDS)


def _too_large(size: int, limit: int) -> PayloadTooLarge:
    return PayloadTooLarge(
        f"request body of {size} bytes exceeds the limit of {limit} bytes (--max-body-bytes)"
    )


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
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise InvalidJson(
            f"request body is not valid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})"
        ) from None
    except RecursionError:
        raise InvalidJson("request body is nested too deeply") from None


def dump_json(payload: Any) -> bytes:
    # NaN/inf are not JSON; the engine never produces them for valid input.
    return json.dumps(payload, ensure_ascii=False, allow_nan=False, separators=(",", ":")).encode()


def is_large(n_items: int) -> bool:
    """Whether a response of ``n_items`` entities/tokens is worth rendering off the loop."""
    return n_items > OFFLOAD_ITEMS


async def json_response(
    request: Request, render: Callable[[], Any], *, large: bool, status: int = 200
) -> Response:
    """Render a payload (``render()``) to a JSON response; off the loop when ``large``."""

    def build() -> bytes:
        return dump_json(render())

    body = await service_of(request).offload(build) if large else build()
    return Response(body, status_code=status, media_type=JSON_MEDIA_TYPE)


async def unless_disconnected(request: Request, work: Awaitable[T]) -> T:
    """Await ``work``; if the client disconnects first, cancel it (its queued model work is
    dropped) and raise ``ClientDisconnected``.

    Once the body is fully read, the ASGI ``receive`` channel only yields when the client
    disconnects, so watching it costs nothing while the request runs.
    """
    gone = CancelTrigger()
    watcher = asyncio.ensure_future(_disconnected(request, gone))
    try:
        return await work
    except asyncio.CancelledError as cancelled:
        if gone.caused(cancelled):
            raise ClientDisconnected() from None
        raise  # the handler itself was cancelled (forced shutdown): the work goes with it
    finally:
        watcher.cancel()


async def _disconnected(request: Request, gone: CancelTrigger) -> None:
    while True:
        message = await request.receive()
        if message["type"] == "http.disconnect":
            gone.fire()
            return
