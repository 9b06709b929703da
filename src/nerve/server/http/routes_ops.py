"""Operations and nerve-native routes: ``POST /v1/entities``, ``GET /metrics``,
``GET /openapi.json``, the demo page ``GET /`` and its icon."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import HTMLResponse, Response

from ..assets import favicon_svg, index_html
from ..wire.native import parse_entities, render_entities, render_words
from .answer import JSON_MEDIA_TYPE, Answer, dump_json
from .guards import page_security_headers
from .io import Call, is_large, service_of
from .openapi import engine_window_rules, openapi_document


async def entities(call: Call) -> Answer:
    service = call.service
    req = parse_entities(await call.json())
    if req.words is not None:
        labelled = await call.unless_disconnected(
            service.words(req.words, req.options, "/v1/entities")
        )
        n_words = sum(len(r.words) for r in labelled)
        return await call.json_answer(
            lambda: render_words(labelled, service.model_id), large=is_large(n_words)
        )
    assert req.texts is not None  # parse_entities sets exactly one of words / texts
    results = await call.unless_disconnected(
        service.entities(req.texts, req.options, "/v1/entities")
    )
    n_items = sum(len(r.entities) for r in results)
    return await call.json_answer(
        lambda: render_entities(results, req.format, service.model_id),
        large=is_large(n_items) or req.options.raw_scores,
    )


async def metrics(request: Request) -> Response:
    body, content_type = service_of(request).metrics.render()
    return Response(body, media_type=content_type)


async def openapi(request: Request) -> Response:
    # Built once per app: it bisects the model's window rules (a few thousand checks).
    state = request.app.state
    if getattr(state, "openapi_json", None) is None:
        service = service_of(request)

        def build() -> bytes:
            rules = engine_window_rules(service.engine)
            return dump_json(openapi_document(service.config, rules))

        state.openapi_json = await service.offload(build)
    return Response(state.openapi_json, media_type=JSON_MEDIA_TYPE)


async def page(request: Request) -> Response:
    html = index_html()
    return HTMLResponse(html, headers=page_security_headers(html))


async def favicon(request: Request) -> Response:
    # Browsers ask for /favicon.ico whatever the page links; an SVG answers both names.
    return Response(
        favicon_svg(), media_type="image/svg+xml", headers={"cache-control": "max-age=86400"}
    )
