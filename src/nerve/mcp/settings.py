"""What ``nerve mcp`` and the executable's ``mcp`` verb are told (no SDK import here, so the
command line can be built without the ``mcp`` extra)."""

from __future__ import annotations

import argparse
from dataclasses import dataclass, field
from typing import Any

from .. import __version__
from ..errors import InvalidInput
from ..server.config import ServerConfig
from ..types import DEFAULT_AGGREGATION

TRANSPORTS = ("stdio", "http")
DEFAULT_PORT = 9100  # encoderfile's MCP port
MCP_PATH = "/mcp"
# Open Streamable HTTP sessions (each holds an MCP server session, ~40 KB) and how long an
# unused one lives: an agent keeps one session, so a few hundred covers many agents.
DEFAULT_MAX_SESSIONS = 256
DEFAULT_SESSION_IDLE_TIMEOUT = 600.0


@dataclass(frozen=True)
class McpSettings:
    transport: str = "stdio"
    host: str = "127.0.0.1"
    port: int = DEFAULT_PORT
    aggregation: str = DEFAULT_AGGREGATION.value  # the tool's default strategy
    api_key: str | None = None  # HTTP only: require "Authorization: Bearer KEY"
    title: str | None = None  # shown to clients (the model's name)
    version: str = __version__
    limits: ServerConfig = field(default_factory=ServerConfig)
    max_sessions: int = DEFAULT_MAX_SESSIONS  # HTTP: --mcp-max-sessions
    session_idle_timeout: float = DEFAULT_SESSION_IDLE_TIMEOUT  # HTTP: --mcp-session-idle-timeout

    def __post_init__(self) -> None:
        if self.transport not in TRANSPORTS:
            raise InvalidInput(f"unknown MCP transport {self.transport!r}; use one of {TRANSPORTS}")
        if not isinstance(self.port, int) or not 0 <= self.port <= 65535:
            raise InvalidInput(f"--port must be a port number (0-65535), got {self.port!r}")
        if self.max_sessions < 1:
            raise InvalidInput(f"--mcp-max-sessions must be positive, got {self.max_sessions}")
        if not 0 < self.session_idle_timeout < float("inf"):
            raise InvalidInput(
                f"--mcp-session-idle-timeout must be a positive number of seconds, "
                f"got {self.session_idle_timeout}"
            )


def add_session_options(p: argparse.ArgumentParser) -> None:
    """The Streamable HTTP session limits; shared by ``nerve mcp`` and the executable."""
    p.add_argument(
        "--mcp-max-sessions",
        type=int,
        default=DEFAULT_MAX_SESSIONS,
        help=f"HTTP: open sessions at most; beyond, 503 (default {DEFAULT_MAX_SESSIONS})",
    )
    p.add_argument(
        "--mcp-session-idle-timeout",
        type=float,
        default=DEFAULT_SESSION_IDLE_TIMEOUT,
        help=f"HTTP: seconds an unused session lives (default {DEFAULT_SESSION_IDLE_TIMEOUT:g})",
    )


# The admission limits of `nerve serve` the tools run through; their refusals name these flags.
ADMISSION_FLAGS = ("max_request_tokens", "max_queued_tokens", "max_concurrent_requests")


def add_admission_options(p: argparse.ArgumentParser, *, from_build: bool = False) -> None:
    """``--max-request-tokens``, ``--max-queued-tokens``, ``--max-concurrent-requests``;
    shared by ``nerve mcp`` and the executable (``from_build``: unset values are the build's
    limits). Without them a text within ``--max-input-chars`` could be too much work to ever
    be tagged, with no way to raise the limit its refusal names."""
    import dataclasses

    from ..server.config import ServerConfig

    serve_defaults = {f.name: f.default for f in dataclasses.fields(ServerConfig)}

    def default(name: str) -> str:
        return "default: the build's" if from_build else f"default {serve_defaults[name]}"

    p.add_argument(
        "--max-request-tokens",
        type=int,
        help=f"model tokens of one call ({default('max_request_tokens')})",
    )
    p.add_argument(
        "--max-queued-tokens",
        type=int,
        help="model tokens waiting for the model, all calls together "
        f"({default('max_queued_tokens')})",
    )
    p.add_argument(
        "--max-concurrent-requests",
        type=int,
        help=f"calls inside the server at once ({default('max_concurrent_requests')})",
    )


def admission_overrides(args: argparse.Namespace) -> dict[str, Any]:
    """The admission flags given on the command line, as ``ServerConfig`` fields."""
    return {n: getattr(args, n) for n in ADMISSION_FLAGS if getattr(args, n) is not None}
