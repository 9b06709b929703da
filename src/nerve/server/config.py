"""Server settings: one frozen dataclass, filled from command-line flags and ``NERVE_*``
environment variables (a flag wins over its variable, a variable over the default).

The environment is passed in as a mapping, never read at import, so tests can give their own.
"""

from __future__ import annotations

import dataclasses
import re
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
    cuda_graphs: str = "auto"  # torch on a GPU: auto/on/off (nerve.backends.cuda_graphs)
    threads: int | None = None
    max_batch_tokens: int = 16384
    max_concurrent_requests: int = 512
    max_client_batch_size: int = 32
    max_input_chars: int = 100_000
    max_body_bytes: int = 8 * 1024 * 1024
    request_timeout: float = 60.0
    # Model tokens (the sum of every window's length) waiting for the model, all requests
    # together: beyond it, 429 at once. 131,072 tokens are about 13 s of work for the default
    # model on 2 busy EPYC cores (~10,000 tokens/s measured), so what is admitted drains well
    # inside the 60 s request timeout; size it as throughput x (a fraction of the timeout).
    max_queued_tokens: int = 131_072
    # One request's model tokens: beyond it, 413. TEI's default per-request cap too (its
    # max_batch_tokens). Not only model time: tokenizing, decoding and rendering a request hold
    # Python's GIL for ~0.2 s per 5,000 tokens, during which every other request waits, so the
    # cap also bounds that. ~40,000 characters of English at the default window and stride.
    max_request_tokens: int = 16_384
    graceful_timeout: float = 30.0  # SIGTERM → exit within this many seconds
    max_connections: int = 2048  # open HTTP connections; beyond it new ones are closed at once
    header_timeout: float = 10.0  # seconds for a request line and headers to arrive
    body_timeout: float = 30.0  # seconds for a whole request body to arrive
    keep_alive_timeout: float = 5.0  # an idle keep-alive connection is closed after this
    strict_length: bool = False  # refuse over-long input instead of windowing it
    log_level: str = "info"
    access_log: bool = False  # one log line per HTTP request (method, path, status, ms)
    # TLS for HTTP and gRPC (nerve.server.tls): a PEM certificate chain and its private key.
    cert_file: str | None = None
    key_file: str | None = None
    # ONNX Runtime session (nerve.backends.ort_options): provider and its options.
    execution_provider: str | None = None
    graph_optimization_level: str | None = None
    disable_cpu_fallback: bool = False
    with_arena_allocator: bool = False
    device_id: int | None = None
    # OpenTelemetry request traces over OTLP/gRPC (nerve.server.tracing).
    enable_otel: bool = False
    otel_exporter_url: str | None = None
    # Entity patterns (nerve.patterns): a JSONL file, the overlap policy, the case default.
    patterns: str | None = None
    patterns_overlap: str = "rules"
    patterns_ignore_case: bool = False
    # -- HTTP browser protections (nerve.server.http.guards) --
    allowed_hosts: tuple[str, ...] = ()  # Host names served besides the default ones
    cors_origins: tuple[str, ...] = ()  # origins allowed by CORS; none: CORS is off

    def __post_init__(self) -> None:
        for name in (
            "max_batch_tokens",
            "max_concurrent_requests",
            "max_client_batch_size",
            "max_input_chars",
            "max_body_bytes",
            "max_queued_tokens",
            "max_request_tokens",
            "max_connections",
        ):
            _check_positive(name, getattr(self, name))
        for name in (
            "request_timeout",
            "graceful_timeout",
            "header_timeout",
            "body_timeout",
            "keep_alive_timeout",
        ):
            seconds = getattr(self, name)
            # `not (0 < x <= MAX)` also refuses NaN, which compares false with everything: a
            # NaN deadline never fires, and an infinite one overflows the thread joins and
            # timers that take it.
            if not 0 < seconds <= MAX_TIMEOUT_SECONDS:
                raise InvalidInput(
                    f"{_flag(name)} must be a number of seconds above 0 and at most "
                    f"{MAX_TIMEOUT_SECONDS:,} (a day), got {seconds}"
                )
        if self.max_request_tokens > self.max_queued_tokens:
            raise InvalidInput(
                f"--max-request-tokens ({self.max_request_tokens}) must not exceed "
                f"--max-queued-tokens ({self.max_queued_tokens}): such a request could never "
                "be admitted"
            )
        for name in ("http_port", "grpc_port"):
            port = getattr(self, name)
            if not 0 <= port <= 65535:
                raise InvalidInput(f"{_flag(name)} must be a port number, got {port}")
        if self.threads is not None:
            _check_positive("threads", self.threads)
        if self.disable_http and self.disable_grpc:
            raise InvalidInput("--disable-http and --disable-grpc together leave nothing to serve")
        for name in ("host", "grpc_host"):
            value = getattr(self, name)
            if value is not None and not value.strip():
                raise InvalidInput(f"{_flag(name)} must not be empty")
        for name in self.allowed_hosts:
            # A Host header holds a name (and maybe a port), never a scheme or a path: a URL
            # given here would match no request, and its bare name would stay refused.
            if name != "*" and not _HOST_NAME.fullmatch(name):
                raise InvalidInput(
                    f"--allowed-hosts takes host names such as ner.internal, "
                    f"ner.internal:8080 or [::1], got {name!r}"
                )
        if self.api_key is not None:
            _check_api_key(self.api_key)
        if self.model_id is not None and not self.model_id.strip():
            raise InvalidInput("--model-id must not be empty (leave it out for the model's name)")
        if self.log_level not in LOG_LEVELS:
            raise InvalidInput(
                f"--log-level must be one of {', '.join(LOG_LEVELS)}, got {self.log_level!r}"
            )
        if self.dtype is not None and self.dtype not in DTYPES:
            raise InvalidInput(f"--dtype must be one of {', '.join(DTYPES)}, got {self.dtype!r}")
        from ..loader import BACKENDS

        if self.backend not in BACKENDS:
            raise InvalidInput(
                f"--backend must be one of {', '.join(BACKENDS)}, got {self.backend!r}"
            )
        for origin in self.cors_origins:
            # Browsers send an Origin as scheme://host[:port], nothing after: an origin given
            # with a path or a trailing slash, or without its scheme, would match no request.
            if origin != "*" and not _ORIGIN.fullmatch(origin):
                raise InvalidInput(
                    "--cors-origins takes origins such as https://app.example or "
                    f"http://localhost:3000 (no path, no trailing slash), got {origin!r}"
                )
        if (self.cert_file is None) != (self.key_file is None):
            raise InvalidInput("TLS needs both --cert-file and --key-file")
        from ..patterns import OVERLAP_POLICIES

        if self.patterns_overlap not in OVERLAP_POLICIES:
            raise InvalidInput(
                f"--patterns-overlap must be one of {', '.join(OVERLAP_POLICIES)}, "
                f"got {self.patterns_overlap!r}"
            )

    @property
    def grpc_address(self) -> str:
        """The address gRPC binds: ``grpc_host``, or ``host`` when that is not set."""
        return self.grpc_host or self.host


LOG_LEVELS = ("debug", "info", "warning", "error")
# The torch backend's precisions (an ONNX graph's is fixed by its file).
DTYPES = ("float32", "float16", "bfloat16")
# An Origin header's form: scheme "://" host [":" port].
_ORIGIN = re.compile(
    r"[A-Za-z][A-Za-z0-9+.-]*://(?:[A-Za-z0-9_.-]+|\[[0-9A-Fa-f:.]+\])(?::\d{1,5})?"
)


def _check_api_key(key: str) -> None:
    """A key clients can send: HTTP header values and gRPC metadata carry visible ASCII, and
    header parsers trim the ends, so a key with spaces or other characters could never match."""
    if not key.strip():
        raise InvalidInput("--api-key (NERVE_API_KEY) must not be empty")
    if not all("!" <= c <= "~" for c in key):
        raise InvalidInput(
            "--api-key (NERVE_API_KEY) must be visible ASCII characters without spaces: "
            "clients send it in an HTTP header or gRPC metadata, which carry nothing else"
        )


# What --allowed-hosts accepts: a name or IPv4 address with an optional port, or a bracketed
# IPv6 address with an optional port (the forms a Host header takes).
_HOST_NAME = re.compile(
    r"(?:[A-Za-z0-9_](?:[A-Za-z0-9_.-]*[A-Za-z0-9_])?|\[[0-9A-Fa-f:.]+\])(?::\d{1,5})?"
)

# The longest any timeout flag may be: longer is a mistake, and infinity overflows time_t.
MAX_TIMEOUT_SECONDS = 86_400


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


def name_list(text: str) -> tuple[str, ...]:
    """``a,b , c`` → ``("a", "b", "c")``: the value of a list flag or variable."""
    return tuple(part.strip() for part in text.split(",") if part.strip())


# What a value that the parser refused should have been.
_WANTED: dict[Callable[[str], Any], str] = {
    int: "expected an integer",
    float: "expected a number",
    _optional_int: "expected an integer, or nothing",
}

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
    "api_key": str,  # an empty value is refused, never taken as "no key"
    "backend": str,
    "onnx_file": _optional_str,
    "device": str,
    "dtype": _optional_str,
    "cuda_graphs": str,
    "threads": _optional_int,
    "max_batch_tokens": int,
    "max_concurrent_requests": int,
    "max_client_batch_size": int,
    "max_input_chars": int,
    "max_body_bytes": int,
    "request_timeout": float,
    "max_queued_tokens": int,
    "max_request_tokens": int,
    "graceful_timeout": float,
    "max_connections": int,
    "header_timeout": float,
    "body_timeout": float,
    "keep_alive_timeout": float,
    "strict_length": _parse_bool,
    "log_level": str.lower,  # as the flag's choices
    "access_log": _parse_bool,
    "cert_file": _optional_str,
    "key_file": _optional_str,
    "execution_provider": _optional_str,
    "graph_optimization_level": _optional_str,
    "disable_cpu_fallback": _parse_bool,
    "with_arena_allocator": _parse_bool,
    "device_id": _optional_int,
    "enable_otel": _parse_bool,
    "otel_exporter_url": _optional_str,
    "patterns": _optional_str,
    "patterns_overlap": str,
    "patterns_ignore_case": _parse_bool,
    "allowed_hosts": name_list,
    "cors_origins": name_list,
}


def resolve_config(flags: Mapping[str, Any], environ: Mapping[str, str]) -> ServerConfig:
    """A config from parsed flags (``None`` = not given) over ``NERVE_*`` variables."""
    values: dict[str, Any] = {}
    from_env: list[str] = []
    for field in dataclasses.fields(ServerConfig):
        name = field.name
        given = flags.get(name)
        if given is not None:
            values[name] = given
        elif env_name(name) in environ:
            values[name] = _from_env(name, environ[env_name(name)])
            from_env.append(name)
    try:
        return ServerConfig(**values)
    except InvalidInput as exc:
        raise InvalidInput(name_variables(str(exc), from_env)) from None


def set_by_variables(flags: Mapping[str, Any], environ: Mapping[str, str]) -> list[str]:
    """The settings whose value came from a ``NERVE_*`` variable (no flag given)."""
    return [
        field.name
        for field in dataclasses.fields(ServerConfig)
        if flags.get(field.name) is None and env_name(field.name) in environ
    ]


def name_variables(message: str, from_env: list[str]) -> str:
    """``message`` with each flag whose value came from its ``NERVE_*`` variable named as
    such: an operator who set the variable, not the flag, must see which one to change."""
    for name in from_env:
        flag, variable = _flag(name), env_name(name)
        if variable in message:
            continue  # the check names it already
        message = re.sub(
            re.escape(flag) + r"(?![\w-])", f"{flag} (set by {variable})", message, count=1
        )
    return message


def _from_env(name: str, text: str) -> Any:
    parser = _PARSERS[name]
    try:
        return parser(text)
    except ValueError as exc:
        # int() and float() say "invalid literal for int() with base 10": say what is wanted.
        wanted = _WANTED.get(parser) or str(exc)
        raise InvalidInput(
            f"environment variable {env_name(name)}={text!r} ({_flag(name)}): {wanted}"
        ) from None
