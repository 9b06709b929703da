"""Server-side errors and the ONE table that maps every error code to HTTP and gRPC statuses.

Both transports call ``http_status`` / ``grpc_status_name`` / ``error_body`` from here, so a
code has the same meaning (and the same message) on every protocol. Messages are written for
the caller; tracebacks and exception text of unexpected failures never reach them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..errors import InvalidInput, NerveError


class InvalidJson(InvalidInput):
    """The body is not UTF-8 JSON (syntax error, bad encoding, empty body)."""

    code = "invalid_json"


class TooManyInputs(InvalidInput):
    """More texts in one request than ``--max-client-batch-size``."""

    code = "too_many_inputs"


class InputTooLarge(InvalidInput):
    """One text has more characters than ``--max-input-chars``."""

    code = "input_too_large"


class RequestTooLarge(InvalidInput):
    """A request's model work (tokens over all its windows) exceeds ``--max-request-tokens``."""

    code = "request_too_large"


class PayloadTooLarge(NerveError):
    """The request body is larger than ``--max-body-bytes``."""

    code = "payload_too_large"


def payload_too_large(size: int, limit: int) -> PayloadTooLarge:
    """The error of a body (HTTP) or message (gRPC) of ``size`` bytes over ``limit``."""
    return PayloadTooLarge(
        f"request body of {size} bytes exceeds the limit of {limit} bytes (--max-body-bytes)"
    )


class UnsupportedMediaType(NerveError):
    """A POST body that is not declared ``Content-Type: application/json``."""

    code = "unsupported_media_type"


class HostNotAllowed(NerveError):
    """The ``Host`` header names a host this server does not serve (``--allowed-hosts``)."""

    code = "host_not_allowed"


class BadHostHeader(NerveError):
    """An HTTP/1.1 request without a ``Host`` header, or with more than one."""

    code = "bad_host_header"


class CorsRefused(NerveError):
    """A CORS preflight whose origin, method or headers ``--cors-origins`` does not allow."""

    code = "cors_refused"


class Unauthorized(NerveError):
    code = "unauthorized"


class NotFound(NerveError):
    code = "not_found"


class MethodNotAllowed(NerveError):
    code = "method_not_allowed"


class RequestTimeout(NerveError):
    """The request did not finish within ``--request-timeout``."""

    code = "timeout"


class ModelFailure(NerveError):
    """The model raised on a batch; only that batch's requests fail."""

    code = "model_error"


class Unavailable(NerveError):
    """The model worker is down or the server is shutting down."""

    code = "unavailable"


class ListenError(NerveError):
    """A transport cannot bind its address (port taken, bad host)."""

    code = "listen_error"


class InternalError(NerveError):
    """Anything unexpected; the details are in the server log, never in the response."""

    code = "internal"

    def __init__(self, message: str = "internal server error; see the server log") -> None:
        super().__init__(message)


@dataclass(frozen=True)
class Status:
    http: int
    grpc: str  # a grpc.StatusCode member name; kept as text so HTTP-only use needs no grpc


# code → statuses. Subclasses without an entry inherit their parent's (see ``status_of``).
STATUSES: dict[str, Status] = {
    "invalid_json": Status(400, "INVALID_ARGUMENT"),
    "invalid_input": Status(422, "INVALID_ARGUMENT"),
    "input_too_long": Status(422, "INVALID_ARGUMENT"),
    "too_many_inputs": Status(413, "INVALID_ARGUMENT"),
    "input_too_large": Status(413, "INVALID_ARGUMENT"),
    "request_too_large": Status(413, "INVALID_ARGUMENT"),
    "payload_too_large": Status(413, "RESOURCE_EXHAUSTED"),
    "unsupported_media_type": Status(415, "INVALID_ARGUMENT"),
    "host_not_allowed": Status(421, "PERMISSION_DENIED"),
    "bad_host_header": Status(400, "INVALID_ARGUMENT"),
    "cors_refused": Status(400, "INVALID_ARGUMENT"),
    "unauthorized": Status(401, "UNAUTHENTICATED"),
    "not_found": Status(404, "NOT_FOUND"),
    "method_not_allowed": Status(405, "UNIMPLEMENTED"),
    "overloaded": Status(429, "RESOURCE_EXHAUSTED"),
    "timeout": Status(504, "DEADLINE_EXCEEDED"),
    "unavailable": Status(503, "UNAVAILABLE"),
    "model_error": Status(500, "INTERNAL"),
    "internal": Status(500, "INTERNAL"),
    "listen_error": Status(500, "INTERNAL"),
    "nerve_error": Status(500, "INTERNAL"),
}


def status_of(error: NerveError) -> Status:
    """The statuses of ``error``'s code, or of the nearest ancestor class that has one."""
    for cls in type(error).__mro__:
        code = getattr(cls, "code", None)
        if isinstance(code, str) and code in STATUSES:
            return STATUSES[code]
    return STATUSES["internal"]


def http_status(error: NerveError) -> int:
    return status_of(error).http


def grpc_status_name(error: NerveError) -> str:
    return status_of(error).grpc


def error_body(error: NerveError) -> dict[str, Any]:
    """The JSON error shape every HTTP route answers with."""
    return {"error": {"code": error.code, "message": error.message}}
