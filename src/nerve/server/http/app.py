"""The ASGI app factory: the front door (``front.py``) before a Starlette app of routes,
error handlers and the guard middleware, nothing else."""

from __future__ import annotations

import functools
import logging
from collections.abc import Awaitable, Callable

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp

from ...errors import NerveError
from ..auth import ApiKey
from ..errors import MethodNotAllowed, NotFound
from ..service import InferenceService
from . import routes_encoderfile, routes_ops
from .answer import ClientDisconnected, answer_for, error_answer
from .cors import RefusingCorsMiddleware
from .drain import Drain
from .front import CALL_ROUTES, FrontDoor
from .front import Route as CallRoute
from .guards import allowed_host_names, host_refusal
from .io import Call, service_of
from .middleware import Refusal, RefusingMiddleware, key_refusal

log = logging.getLogger(__name__)


def _endpoint(route: CallRoute) -> Callable[[Request], Awaitable[Response]]:
    """A JSON route as a Starlette endpoint (the front door serves it without Starlette
    unless CORS is configured; other methods on its path get Starlette's 405)."""

    async def endpoint(request: Request) -> Response:
        answer = await route(Call(request.scope, request.receive, service_of(request)))
        return answer.response()

    return endpoint


ROUTES = [
    *(Route(path, _endpoint(route), methods=["POST"]) for path, route in CALL_ROUTES.items()),
    Route("/model", routes_encoderfile.model, methods=["GET"]),
    Route("/health", routes_encoderfile.health, methods=["GET"]),
    Route("/metrics", routes_ops.metrics, methods=["GET"]),
    Route("/openapi.json", routes_ops.openapi, methods=["GET"]),
    Route("/", routes_ops.page, methods=["GET"]),
    Route("/favicon.ico", routes_ops.favicon, methods=["GET"]),
    Route("/favicon.svg", routes_ops.favicon, methods=["GET"]),
]


def create_app(service: InferenceService, drain: Drain | None = None) -> ASGIApp:
    """The server's HTTP app; ``drain`` is set by the runner when shutdown starts."""
    config = service.config
    # The guard rules, built once: the front door applies them to its fast path, Starlette's
    # middleware to every other request (the CORS middleware between them).
    hosts = allowed_host_names(config.host, config.allowed_hosts)
    # Always on: besides the allow-list it refuses a missing (HTTP/1.1) or repeated Host.
    host_guard = functools.partial(host_refusal, allowed=hosts)
    key_guard = (
        None
        if config.api_key is None
        else functools.partial(key_refusal, key=ApiKey(config.api_key))
    )
    guards = [guard for guard in (host_guard, key_guard) if guard is not None]
    app = _starlette_app(service, host_guard, key_guard)
    return FrontDoor(app, service, _paths(), guards, drain)


def _starlette_app(
    service: InferenceService, host_guard: Refusal | None, key_guard: Refusal | None
) -> Starlette:
    config = service.config
    middleware = []
    if host_guard is not None:
        middleware.append(Middleware(RefusingMiddleware, refusal=host_guard))
    if config.cors_origins:
        # Outside the API-key check: a preflight (OPTIONS) carries no credentials.
        middleware.append(
            Middleware(
                RefusingCorsMiddleware,
                allow_origins=list(config.cors_origins),
                allow_methods=["GET", "POST"],
                allow_headers=["Content-Type", "Authorization", "Api-Key"],
            )
        )
    if key_guard is not None:
        middleware.append(Middleware(RefusingMiddleware, refusal=key_guard))
    app = Starlette(
        routes=ROUTES,
        middleware=middleware,
        exception_handlers={
            NerveError: _answer_for,
            HTTPException: _http_exception,
            ClientDisconnected: _answer_for,
            Exception: _unexpected,
        },
    )
    # No 307 from /health/ to /health (an empty body): a path with a trailing slash is a 404
    # whose JSON names the route meant.
    app.router.redirect_slashes = False
    app.state.service = service
    return app


def _paths() -> list[str]:
    return [route.path for route in ROUTES]


async def _answer_for(request: Request, exc: Exception) -> Response:
    return answer_for(exc, request.scope).response()


async def _unexpected(request: Request, exc: Exception) -> Response:
    # Starlette re-raises a bug's exception after this handler, and uvicorn logs its
    # traceback: logged here without one, so that it appears once.
    return answer_for(exc, request.scope, traceback=False).response()


async def _http_exception(request: Request, exc: Exception) -> Response:
    # Starlette's own 404/405 answers, reshaped into nerve's error JSON.
    assert isinstance(exc, HTTPException)
    if exc.status_code == 405:
        allow = (exc.headers or {}).get("Allow", "")
        response = error_answer(
            MethodNotAllowed(
                f"{request.method} is not allowed on {request.url.path}; allowed: {allow}"
            )
        ).response()
        response.headers["Allow"] = allow
        return response
    if exc.status_code == 404:
        path = request.url.path
        meant = path.rstrip("/")
        hint = f" (did you mean {meant}?)" if meant != path and meant in _paths() else ""
        return error_answer(NotFound(f"no route {path}{hint}")).response()
    return JSONResponse(
        {"error": {"code": "http_error", "message": str(exc.detail)}}, status_code=exc.status_code
    )
