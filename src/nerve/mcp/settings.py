"""What ``nerve mcp`` and the executable's ``mcp`` verb are told (no SDK import here, so the
command line can be built without the ``mcp`` extra)."""

from __future__ import annotations

from dataclasses import dataclass, field

from .. import __version__
from ..errors import InvalidInput
from ..server.config import ServerConfig
from ..types import DEFAULT_AGGREGATION

TRANSPORTS = ("stdio", "http")
DEFAULT_PORT = 9100  # encoderfile's MCP port
MCP_PATH = "/mcp"


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

    def __post_init__(self) -> None:
        if self.transport not in TRANSPORTS:
            raise InvalidInput(f"unknown MCP transport {self.transport!r}; use one of {TRANSPORTS}")
        if not isinstance(self.port, int) or not 0 <= self.port <= 65535:
            raise InvalidInput(f"--port must be a port number (0-65535), got {self.port!r}")
