"""Run the HTTP and gRPC transports in one event loop over one engine, and stop them
gracefully on SIGTERM/SIGINT: stop accepting, finish in-flight requests, exit 0."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections.abc import Iterator

import uvicorn

from ..engine.core import Engine
from ..loader import load
from .config import ServerConfig
from .errors import ListenError
from .grpc_server import GrpcTransport
from .http.app import create_app
from .metrics import ServerMetrics
from .service import InferenceService

log = logging.getLogger("nerve.server")


class _HttpServer(uvicorn.Server):
    """uvicorn, minus its signal handling: the runner owns SIGTERM/SIGINT for both
    transports (uvicorn would re-raise the signal after shutdown, ending with -15, not 0)."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield

    @property
    def port(self) -> int:
        return int(self.servers[0].sockets[0].getsockname()[1])


def load_engine(config: ServerConfig) -> Engine:
    return load(
        config.model,
        backend=config.backend,
        device=config.device,
        dtype=config.dtype,
        threads=config.threads,
        max_batch_tokens=config.max_batch_tokens,
        model_id=config.model_id,
        onnx_file=config.onnx_file,
    )


def serve(config: ServerConfig) -> int:
    """Load the model and serve until a signal; the ``nerve serve`` command."""
    engine = load_engine(config)
    asyncio.run(run(config, engine))
    return 0


async def run(config: ServerConfig, engine: Engine, stop: asyncio.Event | None = None) -> None:
    """Serve ``engine`` until ``stop`` is set (by default: on SIGTERM or SIGINT)."""
    stop = stop or asyncio.Event()
    service = InferenceService(engine, config, ServerMetrics())
    service.start()
    http: _HttpServer | None = None
    http_task: asyncio.Task[None] | None = None
    grpc_transport: GrpcTransport | None = None
    started: list[_HttpServer] = []
    # Handlers go in before anything listens: a signal that arrives while the servers start
    # (a client may already see /health) still means a graceful stop, never a traceback.
    with _signals_set(stop, started):
        try:
            if not config.disable_grpc:
                grpc_transport = GrpcTransport(service, config.grpc_address, config.grpc_port)
                await grpc_transport.start()
            if not config.disable_http:
                http = _http_server(service)
                started.append(http)
                http_task = asyncio.create_task(_serve_http(http, config))
                await _until_started(http, http_task)
            _log_started(config, engine, http, grpc_transport)
            await _until_stopped(stop, http_task)
            log.info("shutting down: no new requests, finishing the ones in flight")
        finally:
            await _shutdown(config, http, http_task, grpc_transport)
            await asyncio.to_thread(service.close)
    log.info("stopped")


def _http_server(service: InferenceService) -> _HttpServer:
    config = service.config
    return _HttpServer(
        uvicorn.Config(
            create_app(service),
            host=config.host,
            port=config.http_port,
            log_config=None,  # keep the process's logging setup
            access_log=False,  # /metrics counts requests; a log line per request costs CPU
            lifespan="off",
            timeout_graceful_shutdown=int(config.request_timeout) + 1,
        )
    )


async def _serve_http(server: _HttpServer, config: ServerConfig) -> None:
    try:
        await server.serve()
    except SystemExit:
        # uvicorn calls sys.exit when it cannot bind; turn that into an ordinary error.
        raise ListenError(
            f"cannot listen for HTTP on {config.host}:{config.http_port} (see the log above)"
        ) from None


async def _until_started(server: _HttpServer, task: asyncio.Task[None]) -> None:
    while not server.started:
        if task.done():
            task.result()  # raises the startup error
            raise ListenError("the HTTP server stopped during startup")
        await asyncio.sleep(0.02)


async def _until_stopped(stop: asyncio.Event, http_task: asyncio.Task[None] | None) -> None:
    stopped: asyncio.Future[object] = asyncio.ensure_future(stop.wait())
    waiters: set[asyncio.Future[object]] = {stopped}
    if http_task is not None:
        waiters.add(http_task)  # type: ignore[arg-type]
    done, _ = await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)
    stopped.cancel()
    if http_task is not None and http_task in done:
        http_task.result()  # an HTTP server that ends on its own failed: surface its error


@contextlib.contextmanager
def _signals_set(stop: asyncio.Event, http_servers: list[_HttpServer]) -> Iterator[None]:
    loop = asyncio.get_running_loop()

    def on_signal(signum: signal.Signals) -> None:
        if stop.is_set():
            for http in http_servers:
                http.force_exit = True  # a second signal: stop waiting for slow requests
        log.info("received %s", signum.name)
        stop.set()

    handled = (signal.SIGTERM, signal.SIGINT)
    for sig in handled:
        loop.add_signal_handler(sig, on_signal, sig)
    try:
        yield
    finally:
        for sig in handled:
            loop.remove_signal_handler(sig)


async def _shutdown(
    config: ServerConfig,
    http: _HttpServer | None,
    http_task: asyncio.Task[None] | None,
    grpc_transport: GrpcTransport | None,
) -> None:
    if http is not None:
        http.should_exit = True  # uvicorn closes its sockets, then waits for open requests
    if grpc_transport is not None:
        await grpc_transport.stop(grace=config.request_timeout)
    if http_task is not None and not http_task.done():
        await http_task


def _log_started(
    config: ServerConfig,
    engine: Engine,
    http: _HttpServer | None,
    grpc_transport: GrpcTransport | None,
) -> None:
    info = engine.info()
    where = []
    if http is not None:
        where.append(f"HTTP on http://{_host(config.host)}:{http.port}")
    if grpc_transport is not None:
        where.append(f"gRPC on {_host(config.grpc_address)}:{grpc_transport.port}")
    log.info(
        "nerve serve: %s; model %s (%s, %d labels) from %s; backend %s, device %s, dtype %s; "
        "max %d batch tokens, %d concurrent requests; API key %s",
        ", ".join(where),
        info["model_id"],
        info["architecture"],
        len(info["labels"]),
        info["model_dir"],
        info["backend"],
        info["device"],
        info["dtype"],
        config.max_batch_tokens,
        config.max_concurrent_requests,
        "required" if config.api_key else "not required",
    )


def _host(host: str) -> str:
    return f"[{host}]" if ":" in host and not host.startswith("[") else host
