"""Run the HTTP and gRPC transports in one event loop over one engine, and stop them
within ``--graceful-timeout`` on SIGTERM/SIGINT, answering every request received:

1. stop accepting (listeners closed); HTTP answers requests that arrive on already-open
   connections with 503 + ``Connection: close`` and marks in-flight responses
   ``Connection: close``; gRPC refuses new RPCs;
2. idle keep-alive connections close when their client sends again (503 + close), or at
   ``--keep-alive-timeout``, never under a request already on its way (which would be reset);
3. wait for the requests in flight; at the deadline minus a margin, fail whatever still waits
   for the model with 503, let those answers go out, then exit 0.

A second signal skips the waiting: everything still waiting is answered 503 at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import resource
import signal
import socket
import sys
import time
from collections.abc import Callable, Iterator

import uvicorn

from ..backends.cuda_graphs import graphs_setting
from ..backends.ort_options import OrtOptions
from ..engine.core import Engine
from ..loader import load
from .config import ServerConfig
from .errors import ListenError
from .grpc_server import GrpcTransport
from .http.app import create_app
from .http.drain import Drain
from .http.transport import TransportLimits, protocol_class
from .metrics import ServerMetrics
from .ports import ensure_free
from .service import InferenceService
from .tls import check_tls, uvicorn_tls
from .tracing import request_tracer

log = logging.getLogger("nerve.server")


# The abort margin (seconds) leaves time for the 503s of requests still waiting for the model
# at the deadline to be written before the process exits.
ABORT_MARGIN = 2.0
SHUTDOWN_REASON = "the server is shutting down"


class Deadline:
    """When the graceful shutdown must be over (set by the first signal)."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.at: float | None = None  # time.monotonic() of the exit deadline

    def start(self) -> None:
        if self.at is None:
            self.at = time.monotonic() + self.seconds

    def left(self, margin: float = 0.0) -> float:
        """Seconds until the deadline minus ``margin`` (never negative)."""
        if self.at is None:
            return self.seconds
        return max(0.0, self.at - margin - time.monotonic())

    @property
    def abort_margin(self) -> float:
        return min(ABORT_MARGIN, self.seconds / 2)


class _HttpServer(uvicorn.Server):
    """uvicorn, minus its signal handling (the runner owns SIGTERM/SIGINT for both
    transports; uvicorn would re-raise the signal, ending with -15, not 0), and with a
    bounded, lossless shutdown (see the module docstring)."""

    def __init__(
        self, config: uvicorn.Config, drain: Drain, deadline: Deadline, abort: Callable[[], int]
    ) -> None:
        super().__init__(config)
        self.drain = drain
        self.deadline = deadline
        self.abort = abort

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield

    @property
    def port(self) -> int:
        return int(self.servers[0].sockets[0].getsockname()[1])

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        # From here, new requests on open connections get 503 + Connection: close, and the
        # answers to requests in flight carry Connection: close (see DrainGate).
        self.drain.active = True
        await self._stop_accepting()
        state = self.server_state
        await self._wait(self._drained, self.deadline.left(self.deadline.abort_margin))
        if state.tasks:
            aborted = self.abort()
            log.warning(
                "graceful timeout: %d request(s) still waiting for the model answered 503",
                aborted,
            )
            await self._wait(lambda: not state.tasks, self.deadline.left(0.5))
        for task in list(state.tasks):
            task.cancel()
        for conn in list(state.connections):
            conn.transport.close()

    def _drained(self) -> bool:
        """True once nothing is left to answer. Idle keep-alive connections are not closed
        here: closing one races with a client that is sending on it right then (its request
        would get a reset). They close when their client sends (503 + close), when it closes
        them, or at --keep-alive-timeout, whichever comes first."""
        state = self.server_state
        return not state.tasks and not state.connections

    async def _stop_accepting(self) -> None:
        """Close the listeners without resetting the connections the kernel already queued
        for them (a client there has sent its request and would get a reset): accept those
        first and answer them like any request during the drain (503 + close)."""
        loop = asyncio.get_running_loop()
        for server in self.servers:
            for listener in server.sockets:
                loop.remove_reader(listener.fileno())  # accept nothing more from here on
        # asyncio sets up each connection it has just accepted in a task of its own; one that
        # runs after Server.close() fails to attach to the closed server and its socket is
        # dropped: a reset for a client that may have sent its request. Let them run first.
        for _ in range(3):
            await asyncio.sleep(0)
        queued: list[socket.socket] = []
        for server in self.servers:
            dups = [socket.socket(fileno=os.dup(s.fileno())) for s in server.sockets]
            server.close()
            for listener in dups:
                _refuse_new_handshakes(listener)
                listener.setblocking(False)
                with contextlib.suppress(BlockingIOError, InterruptedError):
                    while True:
                        queued.append(listener.accept()[0])
                listener.close()
        for sock in queued:
            sock.setblocking(False)
            with contextlib.suppress(OSError):
                await loop.connect_accepted_socket(self._new_protocol, sock)

    def _new_protocol(self) -> asyncio.Protocol:
        cls: Callable[..., asyncio.Protocol] = self.config.http_protocol_class  # type: ignore[assignment]
        return cls(config=self.config, server_state=self.server_state, app_state={})

    async def _wait(self, done: Callable[[], bool], seconds: float) -> None:
        end = time.monotonic() + seconds
        while not done() and not self.force_exit and time.monotonic() < end:
            await asyncio.sleep(0.02)


def _refuse_new_handshakes(listener: socket.socket) -> None:
    """Make the kernel drop every packet that would complete a new connection on this
    listener (a socket filter that accepts nothing), so the accept queue can be emptied before
    the listener closes: a connection that completed after the last accept would be reset
    with its request unread. A client whose SYN was dropped retries, finds the listener
    closed, and sees a refused connection: nothing was sent. Linux only; elsewhere the short
    window between the last accept and the close remains."""
    if not sys.platform.startswith("linux"):
        return
    import ctypes
    import struct

    drop_all = (ctypes.c_uint64 * 1)(0x0006)  # BPF_RET | BPF_K, 0: keep 0 bytes = drop
    program = struct.pack("HL", 1, ctypes.addressof(drop_all))  # struct sock_fprog
    with contextlib.suppress(OSError):
        listener.setsockopt(socket.SOL_SOCKET, SO_ATTACH_FILTER, program)


SO_ATTACH_FILTER = 26


def load_engine(config: ServerConfig) -> Engine:
    patterns = None
    if config.patterns is not None:
        from ..patterns import Patterns

        patterns = Patterns.from_jsonl(
            config.patterns,
            overlap=config.patterns_overlap,
            ignore_case=config.patterns_ignore_case,
        )
    return load(
        config.model,
        backend=config.backend,
        device=config.device,
        dtype=config.dtype,
        threads=config.threads,
        max_batch_tokens=config.max_batch_tokens,
        model_id=config.model_id,
        ort_options=ort_options(config),
        patterns=patterns,
        onnx_file=config.onnx_file,
        cuda_graphs=graphs_setting(config.cuda_graphs),
    )


def ort_options(config: ServerConfig) -> OrtOptions:
    """The ONNX Runtime settings among the server's flags."""
    return OrtOptions(
        execution_provider=config.execution_provider,
        graph_optimization_level=config.graph_optimization_level,
        disable_cpu_fallback=config.disable_cpu_fallback,
        with_arena_allocator=config.with_arena_allocator,
        device_id=config.device_id,
    )


def serve(config: ServerConfig) -> int:
    """Load the model and serve until a signal; the ``nerve serve`` command."""
    check_tls(config)  # before the model loads
    engine = load_engine(config)
    raise_fd_limit(config.max_connections + 256)
    asyncio.run(run(config, engine))
    # Every request has its answer by now. A tokenizer or decode thread may still be busy
    # with the work of a request that was answered 503 at the deadline; the interpreter would
    # wait for it at exit, past --graceful-timeout. Nothing is left to flush but the log.
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)


def raise_fd_limit(wanted: int) -> None:
    """Let the process hold ``--max-connections`` sockets (plus its own files): raise the
    soft descriptor limit up to the hard one if it is lower."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
    if soft != resource.RLIM_INFINITY and soft < target:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
    if target < wanted:
        log.warning(
            "the descriptor limit (%d) is below --max-connections + 256; raise ulimit -n", hard
        )


async def run(config: ServerConfig, engine: Engine, stop: asyncio.Event | None = None) -> None:
    """Serve ``engine`` until ``stop`` is set (by default: on SIGTERM or SIGINT)."""
    check_tls(config)  # a bad certificate/key pair: one clear error before anything listens
    stop = stop or asyncio.Event()
    tracer = request_tracer(config, engine.model_id)
    service = InferenceService(engine, config, ServerMetrics(), tracer=tracer)
    service.start()
    deadline = Deadline(config.graceful_timeout)
    http: _HttpServer | None = None
    http_task: asyncio.Task[None] | None = None
    grpc_transport: GrpcTransport | None = None
    started: list[_HttpServer] = []
    # Handlers go in before anything listens: a signal that arrives while the servers start
    # (a client may already see /health) still means a graceful stop, never a traceback.
    with _signals_set(stop, started, deadline, service):
        try:
            if not config.disable_grpc:
                grpc_transport = GrpcTransport(service, config.grpc_address, config.grpc_port)
                await grpc_transport.start()
            if not config.disable_http:
                # Before uvicorn, which logs its own error and exits without naming a flag.
                ensure_free(config.host, config.http_port, "HTTP", "--host", "--http-port")
                http = _http_server(service, deadline)
                started.append(http)
                http_task = asyncio.create_task(_serve_http(http, config))
                await _until_started(http, http_task)
            _log_started(config, engine, http, grpc_transport)
            await _until_stopped(stop, http_task)
            log.info("shutting down: no new requests, finishing the ones in flight")
        finally:
            deadline.start()
            await _shutdown(deadline, service, http, http_task, grpc_transport)
            # Whatever is left in the worker was aborted; wait at most for its running batch.
            await asyncio.to_thread(service.close, max(0.1, deadline.left()))
            await asyncio.to_thread(tracer.shutdown, max(0.1, deadline.left()))
    log.info("stopped")


def _http_server(service: InferenceService, deadline: Deadline) -> _HttpServer:
    config = service.config
    drain = Drain()
    limits = TransportLimits(config.max_connections, config.header_timeout, config.body_timeout)
    return _HttpServer(
        uvicorn.Config(
            create_app(service, drain),
            host=config.host,
            port=config.http_port,
            http=protocol_class(limits),
            log_config=None,  # keep the process's logging setup
            access_log=False,  # /metrics counts requests; a log line per request costs CPU
            # Nothing in nerve reads the client's address, so uvicorn's X-Forwarded-For
            # rewriting would only be one more ASGI layer on every request.
            proxy_headers=False,
            lifespan="off",
            timeout_keep_alive=config.keep_alive_timeout,  # type: ignore[arg-type]
            backlog=min(4096, config.max_connections),
            **uvicorn_tls(config),
        ),
        drain,
        deadline,
        lambda: service.abort(SHUTDOWN_REASON),
    )


async def _serve_http(server: _HttpServer, config: ServerConfig) -> None:
    try:
        await server.serve()
    except SystemExit:
        # uvicorn calls sys.exit when it cannot bind; turn that into an ordinary error.
        raise ListenError(
            f"cannot listen for HTTP on {config.host}:{config.http_port} (see the log above; "
            "--host and --http-port set the address)"
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
def _signals_set(
    stop: asyncio.Event,
    http_servers: list[_HttpServer],
    deadline: Deadline,
    service: InferenceService,
) -> Iterator[None]:
    loop = asyncio.get_running_loop()

    def on_signal(signum: signal.Signals) -> None:
        log.info("received %s", signum.name)
        if stop.is_set():
            # A second signal: stop waiting. Requests still waiting for the model get 503.
            log.warning("second signal: answering what is left with 503 and exiting now")
            deadline.at = time.monotonic()
            service.abort(SHUTDOWN_REASON)
            for http in http_servers:
                http.force_exit = True
        deadline.start()
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
    deadline: Deadline,
    service: InferenceService,
    http: _HttpServer | None,
    http_task: asyncio.Task[None] | None,
    grpc_transport: GrpcTransport | None,
) -> None:
    if http is not None:
        http.should_exit = True  # uvicorn leaves its loop and calls _HttpServer.shutdown
    if grpc_transport is not None:
        grace = deadline.left(deadline.abort_margin)
        grpc_stop = asyncio.ensure_future(grpc_transport.stop(grace=grace))
        # Past the grace, gRPC cancels its RPCs (their jobs are dropped by the worker).
        await grpc_stop
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
        scheme = "https" if config.cert_file else "http"
        where.append(f"HTTP on {scheme}://{_host(config.host)}:{http.port}")
    if grpc_transport is not None:
        tls = " (TLS)" if config.cert_file else ""
        where.append(f"gRPC{tls} on {_host(config.grpc_address)}:{grpc_transport.port}")
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
