"""Pure ASGI middleware: request metrics (outermost), the optional access log and API-key
authentication."""

from __future__ import annotations

import logging
import time
from collections.abc import Collection

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ..auth import ApiKey
from ..errors import Unauthorized, error_body, http_status
from ..metrics import ServerMetrics
from .io import JSON_MEDIA_TYPE, dump_json

# Routes reachable without a key: the liveness probe (load balancers carry no secrets) and the
# static demo page, which only holds HTML/JS and asks for the key itself before any call.
PUBLIC_PATHS = frozenset({"/health", "/", "/favicon.ico", "/favicon.svg"})
ACCESS_LOG = logging.getLogger("nerve.access")


class MetricsMiddleware:
    """Counts every HTTP request by route and status and times it."""

    def __init__(self, app: ASGIApp, metrics: ServerMetrics, routes: Collection[str]) -> None:
        self.app = app
        self.metrics = metrics
        self.routes = frozenset(routes)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        # Unknown paths share one label so scanners cannot blow up the series count.
        route = scope["path"] if scope["path"] in self.routes else "other"
        status = 499  # stays so when the client left before a response started
        started = time.perf_counter()

        started_response = False

        async def send_wrapper(message: Message) -> None:
            nonlocal status, started_response
            if message["type"] == "http.response.start":
                status = message["status"]
                started_response = True
            await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        except Exception:
            # An unhandled error: Starlette's outermost middleware answers 500 after it has
            # passed through here, so the status is not seen on its way out.
            if not started_response:
                status = 500
            raise
        finally:
            self.metrics.observe_request(route, status, time.perf_counter() - started)


class AccessLogMiddleware:
    """``--access-log``: one line per HTTP request, ``GET /health 200 0.4 ms``, logged when
    the response is complete (or the client left: status 499)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        # Shown whatever --log-level says: the operator asked for these lines.
        ACCESS_LOG.setLevel(logging.INFO)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        status = 499
        started = time.perf_counter()

        async def send_wrapper(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        finally:
            elapsed_ms = (time.perf_counter() - started) * 1000
            ACCESS_LOG.info("%s %s %d %.1f ms", scope["method"], scope["path"], status, elapsed_ms)


class ApiKeyMiddleware:
    """With a key configured, every non-public route needs ``Authorization: Bearer KEY``
    (or ``Api-Key``); 401 otherwise."""

    def __init__(self, app: ASGIApp, api_key: str) -> None:
        self.app = app
        self.key = ApiKey(api_key)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] in PUBLIC_PATHS or self._allowed(scope):
            await self.app(scope, receive, send)
            return
        error = Unauthorized("missing or wrong API key: send 'Authorization: Bearer KEY'")
        await send(
            {
                "type": "http.response.start",
                "status": http_status(error),
                "headers": [
                    (b"content-type", JSON_MEDIA_TYPE.encode()),
                    (b"www-authenticate", b'Bearer realm="nerve"'),
                ],
            }
        )
        await send({"type": "http.response.body", "body": dump_json(error_body(error))})

    def _allowed(self, scope: Scope) -> bool:
        # ASGI headers are bytes; HTTP header values are latin-1 by definition.
        headers = [(k.decode("latin-1"), v.decode("latin-1")) for k, v in scope["headers"]]
        return self.key.allows(headers)
