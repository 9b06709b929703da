"""``grpc.health.v1.Health`` for nerve's gRPC server: Check and Watch, with the limits the
stock servicer (``grpc_health.v1.health.aio``) lacks.

- Watch streams are capped (``MAX_HEALTH_WATCHES``): they need no API key and stay open, so
  without a cap anyone could hold as many as gRPC admits and use up the server's RPC slots.
- A graceful shutdown tells every watcher NOT_SERVING and then ends its stream: a stream that
  stays open holds the server's stop for its whole grace period.
- Check says NOT_SERVING while the model worker is down, whatever was last set.
"""

from __future__ import annotations

import asyncio

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

from .service import InferenceService

SERVING = health_pb2.HealthCheckResponse.SERVING
NOT_SERVING = health_pb2.HealthCheckResponse.NOT_SERVING
SERVICE_UNKNOWN = health_pb2.HealthCheckResponse.SERVICE_UNKNOWN

# Open Watch streams at once. Health checkers (Kubernetes, Envoy, grpc-health-probe) use Check,
# or a few long-lived Watch streams per load balancer; 64 leaves room for many of those.
MAX_HEALTH_WATCHES = 64


class HealthServicer(health_pb2_grpc.HealthServicer):
    """The health service's methods (any the protocol adds later: UNIMPLEMENTED, from the
    generated base)."""

    def __init__(self, service: InferenceService) -> None:
        super().__init__()
        self._service = service
        self._status: dict[str, int] = {}
        self._changed = asyncio.Condition()
        self._closing = False
        self._watches = 0

    def _current(self, name: str) -> int | None:
        status = self._status.get(name)
        if status == SERVING and not self._service.healthy:
            return NOT_SERVING
        return status

    async def Check(  # noqa: N802 - the method name is fixed by grpc.health.v1
        self, request: health_pb2.HealthCheckRequest, context: grpc.aio.ServicerContext
    ) -> health_pb2.HealthCheckResponse:
        status = self._current(request.service)
        if status is None:
            await context.abort(grpc.StatusCode.NOT_FOUND, f"unknown service {request.service!r}")
        return health_pb2.HealthCheckResponse(status=status)

    async def List(  # noqa: N802 - the method name is fixed by grpc.health.v1
        self, request: health_pb2.HealthListRequest, context: grpc.aio.ServicerContext
    ) -> health_pb2.HealthListResponse:
        statuses = {}
        for name in self._status:
            status = self._current(name)
            statuses[name] = health_pb2.HealthCheckResponse(status=status)
        return health_pb2.HealthListResponse(statuses=statuses)

    async def Watch(  # noqa: N802 - the method name is fixed by grpc.health.v1
        self, request: health_pb2.HealthCheckRequest, context: grpc.aio.ServicerContext
    ) -> None:
        if self._watches >= MAX_HEALTH_WATCHES:
            await context.abort(
                grpc.StatusCode.RESOURCE_EXHAUSTED,
                f"the server has {MAX_HEALTH_WATCHES} health Watch streams open, its limit; "
                "use Check, or close a stream",
            )
        self._watches += 1
        try:
            sent = None
            async with self._changed:
                while True:
                    status = self._current(request.service)
                    status = SERVICE_UNKNOWN if status is None else status
                    if status != sent:
                        await context.write(health_pb2.HealthCheckResponse(status=status))
                        sent = status
                    if self._closing:
                        return  # the stream ends with OK after NOT_SERVING
                    await self._changed.wait()
        finally:
            self._watches -= 1

    async def set(self, name: str, status: int) -> None:
        if self._closing:
            return  # a shutdown is final
        async with self._changed:
            self._status[name] = status
            self._changed.notify_all()

    async def enter_graceful_shutdown(self) -> None:
        """Every service NOT_SERVING from now on; each watcher is told so and its stream
        ends."""
        async with self._changed:
            self._status = dict.fromkeys(self._status, NOT_SERVING)
            self._closing = True
            self._changed.notify_all()
