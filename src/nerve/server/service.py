"""The one inference interface both transports call: validate → admit → tokenize → batch →
forward → decode, without ever blocking the event loop.

Tokenization and decoding run in a thread pool, the model in the scheduler's single worker
thread; this module only awaits. Cancelling the awaiting task (client disconnect, timeout)
cancels the queued job, which the worker then skips.
"""

from __future__ import annotations

import asyncio
import dataclasses
import functools
import time
from collections.abc import AsyncIterator, Callable, Sequence
from concurrent.futures import Executor, ThreadPoolExecutor
from contextlib import asynccontextmanager
from typing import Any, TypeVar

import numpy as np

from ..engine.core import Engine
from ..errors import InvalidInput
from ..text.encode import EncodedText
from ..types import InferenceOptions, TextResult, WordLabels
from .config import ServerConfig
from .errors import InputTooLarge, RequestTimeout, TooManyInputs
from .metrics import ServerMetrics
from .scheduler import Admission, JobResult, ModelWorker
from .tracing import RequestTrace, RequestTracer, now_ns

T = TypeVar("T")
# Turns tokenized texts and their per-window logits into one result per text (off the loop).
Decoder = Callable[[list[EncodedText], list[list[np.ndarray]], InferenceOptions], list[T]]


class InferenceService:
    """Owns the engine's worker thread and thread pool for the lifetime of a server."""

    def __init__(
        self,
        engine: Engine,
        config: ServerConfig,
        metrics: ServerMetrics,
        executor: Executor | None = None,
        tracer: RequestTracer | None = None,
    ) -> None:
        self.engine = engine
        self.config = config
        self.metrics = metrics
        self.tracer = tracer or RequestTracer()  # no-op unless --enable-otel
        self._admission = Admission(config.max_concurrent_requests)
        self._worker = ModelWorker(engine.run_windows, config.max_batch_tokens, observer=metrics)
        # Tokenizer (Rust, releases the GIL) and numpy decoding; a few threads keep them busy
        # while the model worker runs the previous batch.
        self._executor = executor or ThreadPoolExecutor(4, thread_name_prefix="nerve-cpu")

    # -- lifecycle -----------------------------------------------------------------------
    def start(self) -> None:
        self._worker.start()

    def close(self) -> None:
        """After the transports stopped: drain the worker, stop the threads."""
        self._worker.close()
        self._executor.shutdown(wait=True)

    @property
    def healthy(self) -> bool:
        return self._worker.healthy

    @property
    def queue_depth(self) -> int:
        """Requests waiting for the model worker."""
        return self._worker.queue_depth

    # -- facts -----------------------------------------------------------------------------
    @property
    def model_id(self) -> str:
        return self.engine.model_id

    @property
    def labels(self) -> tuple[str, ...]:
        return self.engine.labels

    # -- inference -------------------------------------------------------------------------
    async def entities(self, texts: Sequence[str], options: InferenceOptions) -> list[TextResult]:
        """Entities of each text (any aggregation strategy, options as the engine takes them)."""
        self._check_inputs(texts)
        return await self._run(texts, self._effective(options), False, self._decode_texts)

    async def words(
        self, sentences: Sequence[Sequence[str]], options: InferenceOptions
    ) -> list[WordLabels]:
        """One label per word of pre-split input."""
        self._check_inputs([" ".join(words) for words in sentences])
        return await self._run(sentences, self._effective(options), True, self._decode_words)

    async def offload(self, fn: Callable[..., T], *args: Any) -> T:
        """Run CPU work (JSON parsing/rendering of big bodies) off the event loop."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, functools.partial(fn, *args))

    # -- internals -------------------------------------------------------------------------
    def _effective(self, options: InferenceOptions) -> InferenceOptions:
        if self.config.strict_length and options.allow_windows:
            return dataclasses.replace(options, allow_windows=False)
        return options

    def _check_inputs(self, texts: Sequence[str]) -> None:
        if not texts:
            raise InvalidInput("inputs must hold at least one text")
        limit = self.config.max_client_batch_size
        if len(texts) > limit:
            raise TooManyInputs(
                f"{len(texts)} inputs in one request; the limit is {limit} "
                "(--max-client-batch-size)"
            )
        max_chars = self.config.max_input_chars
        for i, text in enumerate(texts):
            if len(text) > max_chars:
                raise InputTooLarge(
                    f"input {i} has {len(text)} characters; the limit is {max_chars} "
                    "(--max-input-chars)"
                )
            _check_unicode(i, text)

    async def _run(
        self,
        inputs: Sequence[Any],
        options: InferenceOptions,
        presplit: bool,
        decode: Decoder[T],
    ) -> list[T]:
        async with self._admitted():
            try:
                with self.tracer.request("words" if presplit else "entities", len(inputs)) as trace:
                    pipeline = self._pipeline(inputs, options, presplit, decode, trace)
                    return await asyncio.wait_for(pipeline, self.config.request_timeout)
            except asyncio.TimeoutError:
                raise RequestTimeout(
                    f"the request took longer than {self.config.request_timeout:g} s "
                    "(--request-timeout)"
                ) from None

    @asynccontextmanager
    async def _admitted(self) -> AsyncIterator[None]:
        self._admission.enter()
        self.metrics.in_flight.inc()
        try:
            yield
        finally:
            self.metrics.in_flight.dec()
            self._admission.leave()

    async def _pipeline(
        self,
        inputs: Sequence[Any],
        options: InferenceOptions,
        presplit: bool,
        decode: Decoder[T],
        trace: RequestTrace,
    ) -> list[T]:
        tokenize = functools.partial(self.engine.tokenize, inputs, options, presplit=presplit)
        encoded = await self._timed("tokenize", tokenize, trace)
        flat = [w for e in encoded for w in e.windows]
        submitted = now_ns()
        result: JobResult = await asyncio.wrap_future(self._worker.submit(flat))
        self.metrics.observe_stage("queue", result.queue_seconds)
        self.metrics.observe_stage("model", result.model_seconds)
        queued_until = submitted + int(result.queue_seconds * 1e9)
        trace.stage("queue", submitted, queued_until)
        trace.stage("model", queued_until, queued_until + int(result.model_seconds * 1e9))
        per_text = _split(result.logits, [len(e.windows) for e in encoded])
        decoding = functools.partial(decode, encoded, per_text, options)
        return await self._timed("decode", decoding, trace)

    async def _timed(self, stage: str, fn: Callable[[], T], trace: RequestTrace) -> T:
        def run() -> T:
            # Timed inside the pool thread: the stage's own cost, not the wait for a thread.
            started = time.perf_counter()
            started_ns = now_ns()
            try:
                return fn()
            finally:
                self.metrics.observe_stage(stage, time.perf_counter() - started)
                trace.stage(stage, started_ns, now_ns())

        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, run)

    def _decode_texts(
        self,
        encoded: list[EncodedText],
        logits: list[list[np.ndarray]],
        options: InferenceOptions,
    ) -> list[TextResult]:
        # One vectorized pass over all the request's texts (same results as decode per text).
        return self.engine.decode_many(encoded, logits, options)

    def _decode_words(
        self,
        encoded: list[EncodedText],
        logits: list[list[np.ndarray]],
        options: InferenceOptions,
    ) -> list[WordLabels]:
        return [self.engine.decode_words(e, lg) for e, lg in zip(encoded, logits, strict=True)]


def _split(flat: list[np.ndarray], counts: Sequence[int]) -> list[list[np.ndarray]]:
    out, pos = [], 0
    for n in counts:
        out.append(flat[pos : pos + n])
        pos += n
    return out


def _check_unicode(index: int, text: str) -> None:
    # JSON allows lone surrogates ("\ud800"), which no tokenizer can encode; refuse them here
    # with a clear message instead of failing inside the tokenizer.
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise InvalidInput(
            f"input {index} is not valid Unicode: lone surrogate at character {exc.start}"
        ) from None
