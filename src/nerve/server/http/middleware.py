"""API-key authentication (``key_refusal``), and the pure ASGI middleware that applies a
guard rule (this one, or the Host allow-list's ``host_refusal``) to the routes Starlette
serves; the front door's fast path calls the same rules itself."""

from __future__ import annotations

from collections.abc import Callable

from starlette.types import ASGIApp, Receive, Scope, Send

from ...errors import NerveError
from ..auth import ApiKey
from ..errors import Unauthorized
from .answer import error_answer

# A guard rule: the error to answer a request with, or None when it may go on.
Refusal = Callable[[Scope], NerveError | None]

# Routes reachable without a key: the liveness probe (load balancers carry no secrets) and the
# static demo page, which only holds HTML/JS and asks for the key itself before any call.
PUBLIC_PATHS = frozenset({"/health", "/", "/favicon.ico", "/favicon.svg"})


def key_refusal(scope: Scope, key: ApiKey | None) -> Unauthorized | None:
    """With a key configured, every non-public route needs ``Authorization: Bearer KEY`` (or
    ``Api-Key``): the 401 to answer otherwise; None when the request may go on."""
    if key is None or scope["path"] in PUBLIC_PATHS:
        return None
    # ASGI headers are bytes; HTTP header values are latin-1 by definition.
    headers = [(k.decode("latin-1"), v.decode("latin-1")) for k, v in scope["headers"]]
    if key.allows(headers):
        return None
    return Unauthorized("missing or wrong API key: send 'Authorization: Bearer KEY'")


class RefusingMiddleware:
    """Answers a request with the error its ``refusal`` rule names; passes it on otherwise."""

    def __init__(self, app: ASGIApp, refusal: Refusal) -> None:
        self.app = app
        self.refusal = refusal

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        error = self.refusal(scope) if scope["type"] == "http" else None
        if error is None:
            await self.app(scope, receive, send)
            return
        await error_answer(error).send(send)
