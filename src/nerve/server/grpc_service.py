"""encoderfile's ``TokenClassificationInference`` gRPC service over ``InferenceService``."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import grpc
from google.protobuf.message import DecodeError

from ..errors import NerveError
from .errors import InternalError, grpc_status_name, payload_too_large
from .proto import metadata_pb2, token_classification_pb2, token_classification_pb2_grpc
from .service import InferenceService
from .wire.encoderfile import (
    PREDICT_OPTIONS,
    check_predict_texts,
    model_proto,
    predict_proto,
    token_rows,
)

log = logging.getLogger(__name__)
T = TypeVar("T")

SERVICE_NAME = "encoderfile.token_classification.TokenClassificationInference"


class TokenClassificationServicer(
    token_classification_pb2_grpc.TokenClassificationInferenceServicer
):
    def __init__(self, service: InferenceService) -> None:
        self._service = service

    @property
    def service(self) -> InferenceService:
        return self._service

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
        texts = check_predict_texts(list(request.inputs))
        results = await service.entities(texts, PREDICT_OPTIONS, "grpc:Predict")
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


Handler = Callable[[Any, grpc.aio.ServicerContext], Awaitable[Any]]


def add_to_server(servicer: TokenClassificationServicer, server: grpc.aio.Server) -> None:
    """Register the service like the generated ``add_..._to_server``, except that requests
    arrive as bytes and are parsed here: a message that does not parse gets INVALID_ARGUMENT
    with a plain message (grpc.aio's own deserializer answers UNKNOWN and leaks the
    exception's class name)."""
    methods: dict[str, tuple[Handler, Any, Any]] = {
        "Predict": (
            servicer.Predict,
            token_classification_pb2.TokenClassificationRequest,
            token_classification_pb2.TokenClassificationResponse,
        ),
        "GetModelMetadata": (
            servicer.GetModelMetadata,
            metadata_pb2.GetModelMetadataRequest,
            metadata_pb2.GetModelMetadataResponse,
        ),
    }
    handlers = {
        name: grpc.unary_unary_rpc_method_handler(
            _parsing(name, servicer.service, method, request_type),
            request_deserializer=None,  # bytes in: parsed by _parsing
            response_serializer=response_type.SerializeToString,
        )
        for name, (method, request_type, response_type) in methods.items()
    }
    server.add_generic_rpc_handlers((grpc.method_handlers_generic_handler(SERVICE_NAME, handlers),))


def _parsing(name: str, service: InferenceService, method: Handler, request_type: Any) -> Handler:
    async def handler(raw: bytes, context: grpc.aio.ServicerContext) -> Any:
        limit = service.config.max_body_bytes
        if len(raw) > limit:
            service.metrics.observe_request(f"grpc:{name}", "RESOURCE_EXHAUSTED", 0.0)
            await context.abort(
                grpc.StatusCode.RESOURCE_EXHAUSTED, payload_too_large(len(raw), limit).message
            )
        try:
            request = request_type.FromString(raw)
        except DecodeError:
            service.metrics.observe_request(f"grpc:{name}", "INVALID_ARGUMENT", 0.0)
            await context.abort(
                grpc.StatusCode.INVALID_ARGUMENT,
                f"the request is not a valid {request_type.DESCRIPTOR.full_name} message "
                "(protobuf cannot parse it)",
            )
        return await method(request, context)

    return handler
