"""The gRPC transport: the encoderfile service, ``grpc.health.v1`` and API-key checking."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

from .auth import ApiKey
from .errors import ListenError
from .grpc_health import MAX_HEALTH_WATCHES, HealthServicer
from .grpc_service import SERVICE_NAME, TokenClassificationServicer, add_to_server
from .metrics import ServerMetrics
from .ports import ensure_free
from .service import InferenceService
from .tls import grpc_credentials

_HEALTH_PREFIX = "/grpc.health.v1.Health/"


class ApiKeyInterceptor(grpc.aio.ServerInterceptor):
    """Every RPC except the health service needs ``authorization: Bearer KEY`` (or
    ``api-key``) metadata; others are answered UNAUTHENTICATED before reaching the service,
    and counted in ``nerve_requests_total`` as HTTP's 401s are."""

    def __init__(self, key: str, metrics: ServerMetrics) -> None:
        self._key = ApiKey(key)
        self._metrics = metrics

    async def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], Awaitable[grpc.RpcMethodHandler]],
        handler_call_details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler:
        method: str = handler_call_details.method  # type: ignore[attr-defined]
        metadata = handler_call_details.invocation_metadata or ()  # type: ignore[attr-defined]
        if method.startswith(_HEALTH_PREFIX) or self._key.allows(metadata):
            return await continuation(handler_call_details)
        route = f"grpc:{method.rsplit('/', 1)[-1]}"

        async def unauthenticated(request: bytes, context: grpc.aio.ServicerContext) -> None:
            self._metrics.observe_request(route, "UNAUTHENTICATED", 0.0)
            await context.abort(
                grpc.StatusCode.UNAUTHENTICATED,
                "missing or wrong API key: send 'authorization: Bearer KEY'",
            )

        return grpc.unary_unary_rpc_method_handler(unauthenticated)


def grpc_receive_cap(max_body_bytes: int) -> int:
    return min(2 * max_body_bytes, 2**31 - 1)  # gRPC takes a C int


class GrpcTransport:
    def __init__(self, service: InferenceService, host: str, port: int) -> None:
        config = service.config
        interceptors = (
            [ApiKeyInterceptor(config.api_key, service.metrics)] if config.api_key else []
        )
        self._server = grpc.aio.server(
            interceptors=interceptors,
            # No unbounded RPC queue: beyond this, gRPC answers RESOURCE_EXHAUSTED at once. It
            # is a backstop above the service's own admission, which refuses a Predict beyond
            # --max-concurrent-requests with the message naming it, and above the health
            # service's Watch cap: at exactly the request limit, open Watch streams (which need
            # no key) took every slot and shut out authenticated clients.
            maximum_concurrent_rpcs=2 * config.max_concurrent_requests + MAX_HEALTH_WATCHES,
            options=[
                # Twice the limit in gRPC's core, so that a message a little over it reaches
                # the handler, which refuses it naming --max-body-bytes as HTTP does (the core's
                # own refusal says only "larger than max"); beyond twice, the core refuses.
                ("grpc.max_receive_message_length", grpc_receive_cap(config.max_body_bytes)),
                # gRPC's default SO_REUSEPORT would let a second server share the port silently.
                ("grpc.so_reuseport", 0),
            ],
        )
        # The flag that set the address: --grpc-host, or --host that it defaults to.
        host_flag = "--grpc-host" if config.grpc_host else "--host"
        add_to_server(TokenClassificationServicer(service), self._server)
        self._health = HealthServicer(service)
        health_pb2_grpc.add_HealthServicer_to_server(self._health, self._server)
        address = (
            f"[{host}]:{port}" if ":" in host and not host.startswith("[") else f"{host}:{port}"
        )
        # Before gRPC's own failure, which logs raw C-core lines.
        ensure_free(host, port, "gRPC", host_flag, "--grpc-port")
        credentials = grpc_credentials(config)
        try:
            if credentials is None:
                self.port = self._server.add_insecure_port(address)
            else:
                self.port = self._server.add_secure_port(address, credentials)
        except RuntimeError as exc:
            raise ListenError(f"cannot listen for gRPC on {address}: {exc}") from None
        self.address = address

    async def start(self) -> None:
        await self._server.start()
        for name in ("", SERVICE_NAME):
            await self._health.set(name, health_pb2.HealthCheckResponse.SERVING)

    async def stop(self, grace: float) -> None:
        """Refuse new RPCs, let running ones finish for up to ``grace`` seconds. Health Watch
        streams are told NOT_SERVING and ended: they would otherwise hold the shutdown for
        all of ``grace``."""
        await self._health.enter_graceful_shutdown()
        await self._server.stop(grace)
