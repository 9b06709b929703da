"""The server answers a long text exactly as the library does, also on the int8 default
model, where a window's logits depend on which windows share its model call: the windows of a
long text run one per call in both, whatever else the server's batch holds."""

from __future__ import annotations

import asyncio

import pytest

import nerve
from nerve.engine.core import options_from
from nerve.server.config import ServerConfig
from nerve.server.metrics import ServerMetrics
from nerve.server.service import InferenceService

from .cases import LONG_TEXT, TEXTS


def _entities(result: nerve.TextResult) -> list[tuple[str, int, int, float]]:
    return [(e.label, e.start, e.end, e.score) for e in result.entities]


@pytest.mark.parametrize("windowing", ["sentences", "tokens"])
def test_a_long_text_among_sentences_gets_the_library_answer(windowing: str) -> None:
    engine = nerve.load(None)  # the embedded default model: int8 ONNX
    assert engine.long_windows_alone
    long_text = LONG_TEXT * 3  # several windows of 128 tokens
    options = {"aggregation_strategy": "simple", "window": 128, "windowing": windowing}
    if windowing == "tokens":
        options["stride"] = 16
    library = engine(long_text, **options)
    assert len(engine.tokenize([long_text], options_from(options))[0].windows) > 1

    async def served() -> list[nerve.TextResult]:
        service = InferenceService(engine, ServerConfig(), ServerMetrics())
        service.start()
        try:
            # Sentences in flight with the long text: the worker batches them together.
            calls = [service.entities(TEXTS, options_from(options)) for _ in range(6)]
            calls.insert(3, service.entities([long_text], options_from(options)))
            answers = await asyncio.gather(*calls)
        finally:
            service.close(10)
        return answers[3]

    (answer,) = asyncio.run(served())
    # Exactly: same windows, each in a call of its own, give the same logits bit for bit.
    assert _entities(answer) == _entities(library)
