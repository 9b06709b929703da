"""The one inference interface both transports call: validate → admit → tokenize → batch →
forward → decode, without blocking the event loop for longer than a sentence's work.

A small request (``INLINE_CHARS``) is tokenized on the loop and decoded by the model lane
that finishes it, together with the rest of its batch; a larger one is tokenized and decoded
in a bounded thread pool. The model runs in the
scheduler's lanes, one per backend session on CPU. Cancelling the awaiting task (client
disconnect, timeout) cancels the job, whose remaining windows the lanes then drop.

Admission, in the order a request meets it: the request count (``--max-concurrent-requests``),
window/stride settings that would multiply work, a full work queue, or one where even 90% of
the request's likely work (``WorkSizes``) does not fit (both refused before tokenizing), then
the request's own model tokens (``--max-request-tokens``, 413) and the queued work with it
(``--max-queued-tokens``, 429).
"""

from __future__ import annotations

import asyncio
import dataclasses
import functools
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar, cast

import numpy as np

from ..engine.core import Engine, check_unicode
from ..errors import InputTooLong, InvalidInput, Overloaded
from ..text.encode import EncodedText
from ..types import InferenceOptions, TextResult, WordLabels
from .cancelling import CancelTrigger
from .config import ServerConfig
from .errors import InputTooLarge, RequestTimeout, RequestTooLarge, TooManyInputs, Unavailable
from .metrics import ServerMetrics
from .pool import BoundedPool
from .scheduler import Admission, JobResult, ModelWorker
from .tracing import RequestTrace, RequestTracer, now_ns
from .wakeups import ResultDelivery

# On CPU a batch of 512 tokens (the engine's own CPU batch for ONNX) takes ~0.05-0.2 s on 2
# cores: a sentence that arrives behind a large document waits about that long (the scheduler
# interleaves by window). Accelerators take --max-batch-tokens whole; their batches are fast.
CPU_FAIR_BATCH_TOKENS = 512
# Windows overlap by ``stride`` tokens; past half the window's content, each token is computed
# more than twice (window 128, stride 125: 40x), so the server refuses such settings.
MAX_STRIDE_FRACTION = 0.5
# A request of at most this many characters is tokenized and decoded on the event loop: that
# takes ~0.1 ms, less than handing it to a pool thread and back (two wake-ups of the loop and
# a GIL hand-off each way), which cost the server a third of its one-sentence throughput.
# Larger requests go to the pool, so the loop never stalls on one.
INLINE_CHARS = 2048
# Large bodies are parsed one at a time (json.loads holds the GIL): a few may wait, more get 429.
PARSE_WORKERS = 1
PARSE_BACKLOG = 4

T = TypeVar("T")
# Turns tokenized texts and their per-window logits into one result per text.
Decoder = Callable[[list[EncodedText], list[list[np.ndarray]], InferenceOptions], list[T]]


class InferenceService:
    """Owns the engine's worker thread and thread pool for the lifetime of a server."""

    def __init__(
        self,
        engine: Engine,
        config: ServerConfig,
        metrics: ServerMetrics,
        tracer: RequestTracer | None = None,
        lanes: int | None = None,
    ) -> None:
        """``lanes``: model threads (default: one per backend session on CPU, one on an
        accelerator); tests that hold the model pass 1."""
        self.engine = engine
        self.config = config
        self.metrics = metrics
        self.tracer = tracer or RequestTracer()  # no-op unless --enable-otel
        self._admission = Admission(config.max_concurrent_requests)
        # On CPU each of the backend's sessions (one per core) gets a lane of its own, whose
        # batches the engine sorts by length into near-equal groups (little padding), so the
        # scheduler counts a batch's real tokens. An accelerator runs one batch at a time as
        # one padded tensor, which the scheduler counts as such.
        on_cpu = _on_cpu(engine)
        run_windows = (
            functools.partial(engine.run_windows, spread=True, serial=True)
            if on_cpu
            else engine.run_windows
        )
        self._worker = ModelWorker(
            run_windows,
            fair_batch_tokens(engine, config),
            observer=metrics,
            max_queued_tokens=config.max_queued_tokens,
            max_queue_seconds=config.request_timeout / 2,
            padded_budget=not on_cpu,
            lanes=lanes or (_sessions(engine) if on_cpu else 1),
        )
        self._results = ResultDelivery()
        self._sizes = WorkSizes()
        # Tokenizer (Rust, releases the GIL) and numpy decoding; a few threads keep them busy
        # while the model worker runs the previous batch. Each admitted request has at most one
        # task here at a time, so the backlog bound is a backstop, not a limit that bites.
        self._cpu = BoundedPool(
            4,
            2 * config.max_concurrent_requests,
            "nerve-cpu",
            "the server's tokenizer threads are saturated",
        )
        self._bodies = BoundedPool(
            PARSE_WORKERS,
            PARSE_BACKLOG,
            "nerve-parse",
            "the server is busy parsing other large request bodies",
        )

    # -- lifecycle -----------------------------------------------------------------------
    def start(self) -> None:
        self._worker.start()

    def close(self, timeout: float | None = None) -> None:
        """After the transports stopped: drain the worker (waiting at most ``timeout``), stop
        the threads."""
        self._worker.close(timeout)
        self._cpu.shutdown()
        self._bodies.shutdown()

    def abort(self, reason: str) -> int:
        """Fail every request waiting for the model with 503 ``reason`` (shutdown deadline);
        returns how many."""
        return self._worker.abort(Unavailable(reason))

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
    async def entities(
        self, texts: Sequence[str], options: InferenceOptions, route: str = "entities"
    ) -> list[TextResult]:
        """Entities of each text (any aggregation strategy, options as the engine takes them).
        ``route``: what the caller serves (``/predict``, ``grpc:Predict``), for the trace."""
        chars = self._check_inputs(texts)
        options = self._effective(options)
        return await self._run(texts, options, False, self._decode_texts, chars, route)

    async def words(
        self, sentences: Sequence[Sequence[str]], options: InferenceOptions, route: str = "words"
    ) -> list[WordLabels]:
        """One label per word of pre-split input."""
        chars = self._check_inputs([" ".join(words) for words in sentences])
        options = self._effective(options)
        return await self._run(sentences, options, True, self._decode_words, chars, route)

    async def offload(self, fn: Callable[..., T], *args: Any) -> T:
        """Run CPU work (rendering big responses) off the event loop."""
        return await self._cpu.run(functools.partial(fn, *args))

    async def parse_body(self, fn: Callable[..., T], *args: Any) -> T:
        """Parse a large request body off the event loop, in a small pool whose backlog is
        bounded: beyond it, 429 (parsing counts against admission; nothing waits unbounded)."""
        return await self._bodies.run(functools.partial(fn, *args))

    # -- internals -------------------------------------------------------------------------
    def _effective(self, options: InferenceOptions) -> InferenceOptions:
        if self.config.strict_length and options.allow_windows:
            return dataclasses.replace(options, allow_windows=False)
        return options

    def _check_inputs(self, texts: Sequence[str]) -> int:
        """Refuse inputs over the limits; their characters in all."""
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
            check_unicode(f"input {i}", text)
        return sum(len(text) for text in texts)

    async def _run(
        self,
        inputs: Sequence[Any],
        options: InferenceOptions,
        presplit: bool,
        decode: Decoder[T],
        chars: int,
        route: str,
    ) -> list[T]:
        self._admission.enter()
        self.metrics.in_flight.inc()
        try:
            setting = self._check_windows(options)
            if self._worker.full:
                raise self._queue_full()
            # A request that clearly cannot fit is refused before its tokenization, which for
            # a large one takes longer than the 429 should (see ``WorkSizes``).
            likely = self._sizes.least_likely(setting, chars)
            if likely and (refusal := self._worker.refusal(likely)) is not None:
                raise refusal
            timeout = CancelTrigger()
            timer = asyncio.get_running_loop().call_later(self.config.request_timeout, timeout.fire)
            try:
                with self.tracer.request(route, len(inputs)) as trace:
                    inline = chars <= INLINE_CHARS
                    return await self._pipeline(
                        inputs, options, presplit, decode, trace, inline, setting, chars
                    )
            except asyncio.CancelledError as cancelled:
                if not timeout.caused(cancelled):
                    raise
                raise RequestTimeout(
                    f"the request took longer than {self.config.request_timeout:g} s "
                    "(--request-timeout)"
                ) from None
            finally:
                timer.cancel()
        finally:
            self.metrics.in_flight.dec()
            self._admission.leave()

    def _check_windows(self, options: InferenceOptions) -> tuple[int, int]:
        """Refuse window/stride settings whose overlap multiplies the model's work; the
        (window, stride) the request runs with."""
        encoder = self.engine.text_encoder
        length, stride = encoder.settings(options)  # InvalidInput if invalid
        limit = largest_stride(self.engine, length)
        if stride > limit:
            raise InvalidInput(
                f"stride {stride} with window {length} repeats more than half of each "
                f"window's {length - encoder.num_specials} content tokens, which multiplies "
                f"the model's work; the largest stride this server accepts for window "
                f"{length} is {limit}"
            )
        if options.truncate and options.stride is not None:
            # A truncated request ignores its stride, but one that no window could take is
            # still refused: the OpenAPI document's maximum says so, and schemathesis holds
            # the server to it.
            largest = largest_stride(self.engine, encoder.max_length)
            if options.stride > largest:
                raise InvalidInput(
                    f"stride {options.stride} is larger than any window takes (at most "
                    f"{largest}, with the model's window of {encoder.max_length}); a "
                    "truncated request does not use its stride, but it must still be valid"
                )
        return length, stride

    def _queue_full(self) -> Overloaded:
        return Overloaded(
            f"the server has {self._worker.queued_tokens} model tokens of work queued, at its "
            f"limit (--max-queued-tokens {self.config.max_queued_tokens}, or half of "
            "--request-timeout at the throughput measured now); retry later"
        )

    def _check_work(self, tokens: int, windows: int) -> None:
        limit = self.config.max_request_tokens
        if tokens > limit:
            raise RequestTooLarge(
                f"this request is {tokens} model tokens ({windows} windows); the limit is "
                f"{limit} (--max-request-tokens); send fewer or shorter texts"
            )

    async def _pipeline(
        self,
        inputs: Sequence[Any],
        options: InferenceOptions,
        presplit: bool,
        decode: Decoder[T],
        trace: RequestTrace,
        inline: bool,
        setting: tuple[int, int],
        chars: int,
    ) -> list[T]:
        tokenize = functools.partial(self.engine.tokenize, inputs, options, presplit=presplit)
        try:
            encoded = await self._timed("tokenize", tokenize, trace, inline)
        except InputTooLong as exc:  # only --strict-length turns windows off here
            raise exc.with_advice(STRICT_LENGTH_ADVICE) from None
        flat = [w for e in encoded for w in e.windows]
        tokens = sum(len(w) for w in flat)
        self._sizes.learn(setting, chars, tokens)
        self._check_work(tokens, len(flat))
        submitted = now_ns()
        # The engine's own rule, so that the server answers as the library does (int8).
        alone = self.engine.windows_alone(encoded) or ()
        # A small request is decoded by the model lane that finishes it, with the rest of its
        # batch in one vectorized pass (a sentence alone costs ~4x its share of a batch's); a
        # large one in the thread pool, so that no lane stalls on it. On CPU a lane that
        # decodes holds up only its own core. On an accelerator the loop, not the lane, bounds
        # the server (the GIL serializes the host's Python whichever thread runs it), and one
        # pass per batch leaves the loop more of it: with a model that costs nothing, 64
        # clients got +25-31% requests/s (BENCHMARKS.md, "The server's host ceiling").
        finish = Decoding(decode, options) if inline else None
        job = self._worker.submit(flat, alone, finish, encoded)
        result: JobResult = await self._results.wrap(job)
        self.metrics.observe_stage("queue", result.queue_seconds)
        self.metrics.observe_stage("model", result.model_seconds)
        queued_until = submitted + int(result.queue_seconds * 1e9)
        trace.stage("queue", submitted, queued_until)
        trace.stage("model", queued_until, queued_until + int(result.model_seconds * 1e9))
        if result.finish_ns is not None:
            started, ended = result.finish_ns
            self.metrics.observe_stage("decode", (ended - started) / 1e9)
            trace.stage("decode", started, ended)
            return cast("list[T]", result.finished)
        per_text = _split(result.logits, [len(e.windows) for e in encoded])
        decoding = functools.partial(decode, encoded, per_text, options)
        return await self._timed("decode", decoding, trace, inline)

    async def _timed(self, stage: str, fn: Callable[[], T], trace: RequestTrace, inline: bool) -> T:
        def run() -> T:
            # Timed inside the pool thread: the stage's own cost, not the wait for a thread.
            started = time.perf_counter()
            started_ns = now_ns()
            try:
                return fn()
            finally:
                self.metrics.observe_stage(stage, time.perf_counter() - started)
                trace.stage(stage, started_ns, now_ns())

        if inline:
            return run()
        return await self._cpu.run(run)

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


# Every route's caller can send a shorter text; only these two routes take `truncate`.
STRICT_LENGTH_ADVICE = (
    "this server refuses over-long input (--strict-length): send a shorter text, or "
    "truncate: true on /predict_tokens or /v1/entities"
)


class WorkSizes:
    """Model tokens per character of recent requests, by (window, stride) setting and size
    class (characters, in powers of two: a sentence's specials weigh more than a document's):
    what a request will likely cost before it is tokenized.

    Used only to refuse early: a request is refused before its tokenization when even
    ``EARLY_SHARE`` of its likely work does not fit the queue. Other requests are tokenized
    and counted exactly. Under a flood of large requests most 429s then come at once instead
    of after a tokenization each, which on a loaded 2-core machine took up to a quarter of a
    second (measured server-side: 429 p90 34 ms, p99 100 ms with half the likely work as the
    bar; see docs/reliability.md for the figures with this one). A request refused this way
    could have fitted only if it were a tenth smaller than the recent average of its kind;
    its 429 says to retry, as any other does."""

    SMOOTHING = 0.2
    EARLY_SHARE = 0.9

    def __init__(self) -> None:
        self._per_char: dict[tuple[int, int, int], float] = {}

    def learn(self, setting: tuple[int, int], chars: int, tokens: int) -> None:
        if chars <= 0:
            return
        key = (*setting, chars.bit_length())
        sample = tokens / chars
        old = self._per_char.get(key)
        self._per_char[key] = (
            sample if old is None else (1 - self.SMOOTHING) * old + self.SMOOTHING * sample
        )

    def least_likely(self, setting: tuple[int, int], chars: int) -> int:
        """``EARLY_SHARE`` of the likely model tokens of ``chars`` characters; 0 when nothing
        is known of requests like it."""
        rate = self._per_char.get((*setting, chars.bit_length()))
        return 0 if rate is None else int(chars * rate * self.EARLY_SHARE)


@dataclass(frozen=True)
class Decoding:
    """The scheduler's ``finish`` for requests decoded in their model lane: all the finished
    requests of a batch that share ``decode`` and ``options``, decoded in one call."""

    decode: Decoder[Any]
    options: InferenceOptions

    def __call__(
        self, payloads: list[list[EncodedText]], logits: list[list[np.ndarray]]
    ) -> list[list[Any]]:
        texts = [e for encoded in payloads for e in encoded]
        per_text: list[list[np.ndarray]] = []
        for encoded, job_logits in zip(payloads, logits, strict=True):
            per_text += _split(job_logits, [len(e.windows) for e in encoded])
        results = self.decode(texts, per_text, self.options)
        out, pos = [], 0
        for encoded in payloads:
            out.append(results[pos : pos + len(encoded)])
            pos += len(encoded)
        return out


def fair_batch_tokens(engine: Engine, config: ServerConfig) -> int:
    """The scheduler's token budget per batch (see ``CPU_FAIR_BATCH_TOKENS``): on CPU, one
    engine batch per lane (each lane runs on one core, so a sentence's wait behind a large
    document stays one such batch); on accelerators, ``--max-batch-tokens``."""
    if _on_cpu(engine):
        return min(config.max_batch_tokens, CPU_FAIR_BATCH_TOKENS)
    return config.max_batch_tokens


def _sessions(engine: Engine) -> int:
    """How many batches the backend runs at once (ONNX: one session per core)."""
    return max(1, int(getattr(engine.backend, "concurrency", 1)))


def largest_stride(engine: Engine, length: int) -> int:
    """The largest stride the server takes with a window of ``length`` tokens: smaller than
    the window's content (the tokenizer's rule) and at most ``MAX_STRIDE_FRACTION`` of it."""
    content = length - engine.text_encoder.num_specials
    return min(content - 1, int(content * MAX_STRIDE_FRACTION))


def _on_cpu(engine: Engine) -> bool:
    return str(engine.backend.device).startswith("cpu")


def _split(flat: list[np.ndarray], counts: Sequence[int]) -> list[list[np.ndarray]]:
    out, pos = [], 0
    for n in counts:
        out.append(flat[pos : pos + n])
        pos += n
    return out
