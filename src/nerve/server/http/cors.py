"""Starlette's CORS middleware, with its refusals in nerve's shape.

A preflight the configured origins, methods or headers do not allow gets a JSON 400
(``cors_refused``, naming what was refused and ``--cors-origins``) and no ``Access-Control-*``
header at all; Starlette's own answer is a text/plain 400 that still lists the allowed methods
and headers."""

from __future__ import annotations

from starlette.datastructures import Headers
from starlette.middleware.cors import CORSMiddleware
from starlette.responses import Response

from ..errors import CorsRefused
from .answer import error_answer


class RefusingCorsMiddleware(CORSMiddleware):
    def preflight_response(self, request_headers: Headers) -> Response:
        response = super().preflight_response(request_headers)
        if response.status_code != 400:
            return response
        refused = bytes(response.body).decode().removeprefix("Disallowed CORS ")
        origin = request_headers.get("origin", "")
        return error_answer(
            CorsRefused(
                f"CORS preflight from {origin!r} refused ({refused}); the origins allowed are "
                "set with --cors-origins"
            )
        ).response()
