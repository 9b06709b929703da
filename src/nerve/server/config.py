"""Server settings: one frozen dataclass, filled from command-line flags and ``NERVE_*``
environment variables (a flag wins over its variable, a variable over the default).

The environment is passed in as a mapping, never read at import, so tests can give their own.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from ..errors import InvalidInput

ENV_PREFIX = "NERVE_"
_TRUE = frozenset({"1", "true", "yes", "on"})
_FALSE = frozenset({"0", "false", "no", "off", ""})


@dataclass(frozen=True)
class ServerConfig:
    """Everything ``nerve serve`` can be told. Field ``x`` ↔ flag ``--x`` ↔ ``NERVE_X``."""

    model: str | None = None  # None: the embedded default model
    model_id: str | None = None  # reported as model_id; None: derived from the model
    host: str = "127.0.0.1"  # loopback unless the operator asks for more
    grpc_host: str | None = None  # None: the same address as ``host``
    http_port: int = 8080
    grpc_port: int = 50051
    disable_http: bool = False
    disable_grpc: bool = False
    api_key: str | None = None
    backend: str = "auto"
    onnx_file: str | None = None  # onnx backend: which graph (onnx/model_q4.onnx, q4, ...)
    device: str = "cpu"
    dtype: str | None = None
    threads: int | None = None
    max_batch_tokens: int = 16384
    max_concurrent_requests: int = 512
    max_client_batch_size: int = 32
    max_input_chars: int = 100_000
    max_body_bytes: int = 8 * 1024 * 1024
    request_timeout: float = 60.0
    strict_length: bool = False  # refuse over-long input instead of windowing it
    log_level: str = "info"

    def __post_init__(self) -> None:
        for name in (
            "max_batch_tokens",
            "max_concurrent_requests",
            "max_client_batch_size",
            "max_input_chars",
            "max_body_bytes",
        ):
            _check_positive(name, getattr(self, name))
        for name in ("http_port", "grpc_port"):
            port = getattr(self, name)
            if not 0 <= port <= 65535:
                raise InvalidInput(f"{_flag(name)} must be a port number, got {port}")
        if self.request_timeout <= 0:
            raise InvalidInput(f"--request-timeout must be positive, got {self.request_timeout}")
        if self.threads is not None:
            _check_positive("threads", self.threads)
        if self.disable_http and self.disable_grpc:
            raise InvalidInput("--disable-http and --disable-grpc together leave nothing to serve")
        for name in ("host", "grpc_host"):
            value = getattr(self, name)
            if value is not None and not value.strip():
                raise InvalidInput(f"{_flag(name)} must not be empty")
        if self.api_key is not None and not self.api_key.strip():
            raise InvalidInput("--api-key must not be empty")

    @property
    def grpc_address(self) -> str:
        """The address gRPC binds: ``grpc_host``, or ``host`` when that is not set."""
        return self.grpc_host or self.host


def _flag(name: str) -> str:
    return "--" + name.replace("_", "-")


def env_name(name: str) -> str:
    return ENV_PREFIX + name.upper()


def _check_positive(name: str, value: int) -> None:
    if value < 1:
        raise InvalidInput(f"{_flag(name)} must be a positive integer, got {value}")


def _parse_bool(text: str) -> bool:
    value = text.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ValueError(f"expected one of {sorted(_TRUE | _FALSE)}")


def _optional_str(text: str) -> str | None:
    return text or None


def _optional_int(text: str) -> int | None:
    return int(text) if text.strip() else None


# How each field's environment variable is read (every value arrives as text).
_PARSERS: dict[str, Callable[[str], Any]] = {
    "model": _optional_str,
    "model_id": _optional_str,
    "host": str,
    "grpc_host": _optional_str,
    "http_port": int,
    "grpc_port": int,
    "disable_http": _parse_bool,
    "disable_grpc": _parse_bool,
    "api_key": _optional_str,
    "backend": str,
    "onnx_file": _optional_str,
    "device": str,
    "dtype": _optional_str,
    "threads": _optional_int,
    "max_batch_tokens": int,
    "max_concurrent_requests": int,
    "max_client_batch_size": int,
    "max_input_chars": int,
    "max_body_bytes": int,
    "request_timeout": float,
    "strict_length": _parse_bool,
    "log_level": str,
}


def resolve_config(flags: Mapping[str, Any], environ: Mapping[str, str]) -> ServerConfig:
    """A config from parsed flags (``None`` = not given) over ``NERVE_*`` variables."""
    values: dict[str, Any] = {}
    for field in dataclasses.fields(ServerConfig):
        name = field.name
        given = flags.get(name)
        if given is not None:
            values[name] = given
        elif env_name(name) in environ:
            values[name] = _from_env(name, environ[env_name(name)])
    return ServerConfig(**values)


def _from_env(name: str, text: str) -> Any:
    try:
        return _PARSERS[name](text)
    except ValueError as exc:
        raise InvalidInput(f"environment variable {env_name(name)}={text!r}: {exc}") from None
