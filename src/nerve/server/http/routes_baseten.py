"""Baseten BEI compatible route: ``POST /predict_tokens``."""

from __future__ import annotations

from ..errors import TooManyInputs
from ..wire.baseten import parse_predict_tokens, render_predict_tokens
from .answer import Answer
from .io import Call, is_large


async def predict_tokens(call: Call) -> Answer:
    service = call.service
    req = parse_predict_tokens(await call.json())
    # The texts are counted against --max-client-batch-size by the service; the batches
    # holding them are counted here too, as the OpenAPI document says (maxItems).
    limit = service.config.max_client_batch_size
    if req.batches > limit:
        raise TooManyInputs(
            f"'inputs' holds {req.batches} batches in one request; the limit is {limit} "
            "(--max-client-batch-size)"
        )
    results = await call.unless_disconnected(
        service.entities(req.texts, req.options, "/predict_tokens")
    )
    n_items = sum(len(r.entities) for r in results)
    return await call.json_answer(
        lambda: render_predict_tokens(results, service.labels, req.options.raw_scores),
        large=is_large(n_items) or req.options.raw_scores,
    )
