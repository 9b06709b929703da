"""Baseten BEI compatible route: ``POST /predict_tokens``."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from ..wire.baseten import parse_predict_tokens, render_predict_tokens
from .io import is_large, json_response, read_json, service_of, unless_disconnected


async def predict_tokens(request: Request) -> Response:
    service = service_of(request)
    req = parse_predict_tokens(await read_json(request, service.config.max_body_bytes))
    results = await unless_disconnected(request, service.entities(req.texts, req.options))
    n_items = sum(len(r.entities) for r in results)
    return await json_response(
        request,
        lambda: render_predict_tokens(results, service.labels, req.options.raw_scores),
        large=is_large(n_items) or req.options.raw_scores,
    )
