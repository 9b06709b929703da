"""encoderfile compatible routes: ``POST /predict``, ``GET /model``, ``GET /health``."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from ..errors import Unavailable
from ..wire.encoderfile import PREDICT_OPTIONS, model_json, parse_predict, predict_json, token_rows
from .answer import Answer, json_answer
from .io import Call, service_of


async def predict(call: Call) -> Answer:
    service = call.service
    req = parse_predict(await call.json())
    results = await call.unless_disconnected(
        service.entities(req.texts, PREDICT_OPTIONS, "/predict")
    )
    # One row per sub-word with a probability per label: always worth rendering off the loop.
    return await call.json_answer(
        lambda: predict_json(
            [token_rows(r, service.engine.vocabulary_piece) for r in results],
            service.model_id,
            req.metadata,
        ),
        large=True,
    )


async def model(request: Request) -> Response:
    service = service_of(request)
    return json_answer(model_json(service.model_id, service.labels)).response()


async def health(request: Request) -> Response:
    """The JSON string ``"OK!"`` (as encoderfile answers) while the model worker runs; 503
    otherwise."""
    if not service_of(request).healthy:
        raise Unavailable("the model worker is not running")
    return JSONResponse("OK!")
