"""The ASGI app factory: routes, error handlers and middleware, nothing else."""

from __future__ import annotations

import logging

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from ...errors import NerveError
from ..errors import InternalError, MethodNotAllowed, NotFound, error_body, http_status
from ..service import InferenceService
from . import routes_baseten, routes_encoderfile, routes_ops
from .guards import HostAllowListMiddleware, allowed_host_names
from .io import ClientDisconnected
from .middleware import AccessLogMiddleware, ApiKeyMiddleware, MetricsMiddleware

log = logging.getLogger(__name__)

ROUTES = [
    Route("/predict_tokens", routes_baseten.predict_tokens, methods=["POST"]),
    Route("/predict", routes_encoderfile.predict, methods=["POST"]),
    Route("/model", routes_encoderfile.model, methods=["GET"]),
    Route("/health", routes_encoderfile.health, methods=["GET"]),
    Route("/v1/entities", routes_ops.entities, methods=["POST"]),
    Route("/metrics", routes_ops.metrics, methods=["GET"]),
    Route("/openapi.json", routes_ops.openapi, methods=["GET"]),
    Route("/", routes_ops.page, methods=["GET"]),
    Route("/favicon.ico", routes_ops.favicon, methods=["GET"]),
    Route("/favicon.svg", routes_ops.favicon, methods=["GET"]),
]


def create_app(service: InferenceService) -> Starlette:
    config = service.config
    middleware = [Middleware(MetricsMiddleware, metrics=service.metrics, routes=_paths())]
    if config.access_log:
        middleware.append(Middleware(AccessLogMiddleware))
    hosts = allowed_host_names(config.host, config.allowed_hosts)
    if hosts is not None:
        middleware.append(Middleware(HostAllowListMiddleware, allowed=hosts))
    if config.cors_origins:
        # Outside the API-key check: a preflight (OPTIONS) carries no credentials.
        middleware.append(
            Middleware(
                CORSMiddleware,
                allow_origins=list(config.cors_origins),
                allow_methods=["GET", "POST"],
                allow_headers=["Content-Type", "Authorization", "Api-Key"],
            )
        )
    if config.api_key is not None:
        middleware.append(Middleware(ApiKeyMiddleware, api_key=config.api_key))
    app = Starlette(
        routes=ROUTES,
        middleware=middleware,
        exception_handlers={
            NerveError: _nerve_error,
            HTTPException: _http_exception,
            ClientDisconnected: _client_gone,
            Exception: _unexpected,
        },
    )
    app.state.service = service
    return app


def _paths() -> list[str]:
    return [route.path for route in ROUTES]


def error_response(error: NerveError) -> Response:
    return JSONResponse(error_body(error), status_code=http_status(error))


async def _nerve_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, NerveError)
    return error_response(exc)


async def _http_exception(request: Request, exc: Exception) -> Response:
    # Starlette's own 404/405 answers, reshaped into nerve's error JSON.
    assert isinstance(exc, HTTPException)
    if exc.status_code == 405:
        allow = (exc.headers or {}).get("Allow", "")
        response = error_response(
            MethodNotAllowed(
                f"{request.method} is not allowed on {request.url.path}; allowed: {allow}"
            )
        )
        response.headers["Allow"] = allow
        return response
    if exc.status_code == 404:
        return error_response(NotFound(f"no route {request.url.path}"))
    return JSONResponse(
        {"error": {"code": "http_error", "message": str(exc.detail)}}, status_code=exc.status_code
    )


async def _client_gone(request: Request, exc: Exception) -> Response:
    # Routine (a client timed out, or was stopped): one line, no traceback. Nobody reads the
    # response; its status only labels the request in the metrics.
    log.info("client disconnected before its response: %s %s", request.method, request.url.path)
    return Response(status_code=499)


async def _unexpected(request: Request, exc: Exception) -> Response:
    # A bug, not a client error: the client gets a fixed text. Starlette re-raises the
    # exception after this handler, so the server log gets the full traceback once.
    log.error("unhandled %s on %s %s", type(exc).__name__, request.method, request.url.path)
    return error_response(InternalError())
