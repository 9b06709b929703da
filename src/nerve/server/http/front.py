"""The front door: every HTTP request passes here first. It answers what needs no route (the
shutdown drain), counts and times every request (metrics, ``--access-log``), and serves the
JSON inference routes on a fast path; every other request goes to the Starlette app.

Why a fast path: with one-sentence requests at saturation the event loop limits the server,
and Starlette's layers (middleware and router frames, Request and Response objects, a send
wrapper per layer) cost more than a quarter of the loop's time per request (measured in
process on /predict_tokens: 282 µs of loop CPU per request through Starlette, 203 µs
without). The fast path applies the same guard rules as the Starlette middleware
(``host_refusal``, ``key_refusal``, built once by ``create_app``), runs the same route
functions (each takes a ``Call``) and maps errors with the same function (``answer_for``);
only the framework is skipped. With
CORS configured (``--cors-origins``) every request goes through Starlette, whose CORS
middleware adds the headers browsers check.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable, Collection, Sequence

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ..service import InferenceService
from . import routes_baseten, routes_encoderfile, routes_ops
from .answer import Answer, answer_for, error_answer
from .drain import Drain, refuse_while_draining
from .io import Call
from .middleware import Refusal

ACCESS_LOG = logging.getLogger("nerve.access")

Route = Callable[[Call], Awaitable[Answer]]
# The JSON inference routes, all POST: what clients call at volume.
CALL_ROUTES: dict[str, Route] = {
    "/predict_tokens": routes_baseten.predict_tokens,
    "/predict": routes_encoderfile.predict,
    "/v1/entities": routes_ops.entities,
}


class FrontDoor:
    def __init__(
        self,
        app: ASGIApp,
        service: InferenceService,
        paths: Collection[str],
        guards: Sequence[Refusal],
        drain: Drain | None = None,
    ) -> None:
        """``guards``: the Host and API-key rules in force, in the order Starlette's middleware
        applies them (``create_app`` builds both from one config)."""
        config = service.config
        self.app = app
        self.service = service
        self.metrics = service.metrics
        self.drain = drain or Drain()
        self.paths = frozenset(paths)
        self.guards = tuple(guards)
        self.fast: dict[str, Route] = {} if config.cors_origins else dict(CALL_ROUTES)
        self.access_log = config.access_log
        if self.access_log:
            # Shown whatever --log-level says: the operator asked for these lines.
            ACCESS_LOG.setLevel(logging.INFO)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = [499]  # stays so when the client left before an answer started
        try:
            route = self.fast.get(scope["path"]) if scope["method"] == "POST" else None
            if self.drain.active:
                status[0] = await refuse_while_draining(receive, send)
            elif route is not None:
                status[0] = await self._fast(route, scope, receive, send)
            else:
                await self._framework(scope, receive, send, status)
        finally:
            elapsed = time.perf_counter() - started
            # Unknown paths share one label so scanners cannot blow up the series count.
            label = scope["path"] if scope["path"] in self.paths else "other"
            self.metrics.observe_request(label, status[0], elapsed)
            if self.access_log:
                ACCESS_LOG.info(
                    "%s %s %d %.1f ms", scope["method"], scope["path"], status[0], elapsed * 1000
                )

    async def _fast(self, route: Route, scope: Scope, receive: Receive, send: Send) -> int:
        refusal = next((error for guard in self.guards if (error := guard(scope))), None)
        if refusal is not None:
            answer = error_answer(refusal)
        else:
            try:
                answer = await route(Call(scope, receive, self.service))
            except Exception as exc:
                answer = answer_for(exc, scope)
        if answer.status == 499:
            return 499  # the client left: nobody reads an answer
        await answer.send(send, closing=self.drain.active)
        return answer.status

    async def _framework(
        self, scope: Scope, receive: Receive, send: Send, status: list[int]
    ) -> None:
        """Starlette serves the request; its status is noted as it starts, and an answer that
        starts once the drain has begun gets ``Connection: close``."""
        started = False

        async def noting(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                status[0] = message["status"]
                if self.drain.active:
                    headers = [*message.get("headers", []), (b"connection", b"close")]
                    message = {**message, "headers": headers}
            await send(message)

        try:
            await self.app(scope, receive, noting)
        except Exception:
            # An unhandled error: Starlette's outermost middleware answers 500 and re-raises
            # (uvicorn logs the traceback), so the status is not seen on its way out.
            if not started:
                status[0] = 500
            raise
