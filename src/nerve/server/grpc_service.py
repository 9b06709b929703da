"""encoderfile's ``TokenClassificationInference`` gRPC service over ``InferenceService``."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable
from typing import TypeVar

import grpc

from ..errors import NerveError
from .errors import InternalError, grpc_status_name
from .proto import metadata_pb2, token_classification_pb2, token_classification_pb2_grpc
from .service import InferenceService
from .wire.encoderfile import PREDICT_OPTIONS, model_proto, predict_proto, token_rows

log = logging.getLogger(__name__)
T = TypeVar("T")

SERVICE_NAME = "encoderfile.token_classification.TokenClassificationInference"


class TokenClassificationServicer(
    token_classification_pb2_grpc.TokenClassificationInferenceServicer
):
    def __init__(self, service: InferenceService) -> None:
        self._service = service

    async def Predict(  # noqa: N802 - the method name is fixed by the .proto
        self,
        request: token_classification_pb2.TokenClassificationRequest,
        context: grpc.aio.ServicerContext,
    ) -> token_classification_pb2.TokenClassificationResponse:
        return await _answer("Predict", self._service, context, self._predict(request))

    async def GetModelMetadata(  # noqa: N802 - the method name is fixed by the .proto
        self,
        request: metadata_pb2.GetModelMetadataRequest,
        context: grpc.aio.ServicerContext,
    ) -> metadata_pb2.GetModelMetadataResponse:
        service = self._service

        async def metadata() -> metadata_pb2.GetModelMetadataResponse:
            return model_proto(service.model_id, service.labels)

        return await _answer("GetModelMetadata", service, context, metadata())

    async def _predict(
        self, request: token_classification_pb2.TokenClassificationRequest
    ) -> token_classification_pb2.TokenClassificationResponse:
        service = self._service
        results = await service.entities(list(request.inputs), PREDICT_OPTIONS)
        rows = await service.offload(
            lambda: [token_rows(r, service.engine.vocabulary_piece) for r in results]
        )
        return predict_proto(rows, service.model_id, dict(request.metadata))


async def _answer(
    method: str, service: InferenceService, context: grpc.aio.ServicerContext, work: Awaitable[T]
) -> T:
    """Await ``work``; map nerve errors to gRPC statuses (same messages as HTTP) and count."""
    status = "OK"
    started = time.perf_counter()
    try:
        return await work
    except asyncio.CancelledError:
        status = "CANCELLED"  # the client went away or its deadline passed
        raise
    except NerveError as exc:
        status = grpc_status_name(exc)
        await context.abort(getattr(grpc.StatusCode, status), exc.message)
        raise  # unreachable: abort raises; keeps type checkers sure nothing is returned
    except Exception:
        # grpc.aio would otherwise send the exception's text to the client; log it instead
        # and answer with a fixed message.
        log.exception("unhandled error in gRPC %s", method)
        status = "INTERNAL"
        await context.abort(grpc.StatusCode.INTERNAL, InternalError().message)
        raise
    finally:
        service.metrics.observe_request(f"grpc:{method}", status, time.perf_counter() - started)
