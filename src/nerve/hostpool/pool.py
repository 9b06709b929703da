"""``HostPool``: texts in, entities out, with tokenizing and decoding spread over worker
processes and the model run here, by the engine that was loaded in this process.

The flow of one call, per chunk of ``chunk_texts`` texts:

    this process ──texts──▶ worker: tokenize, keep the windows
    this process ◀──ids──── worker
    this process: the model on every chunk tokenized so far (one ``Engine.run_rows`` call)
    this process ──logits─▶ worker: decode the kept windows
    this process ◀─results─ worker

Each worker keeps ``depth`` chunks tokenized ahead, so while the model runs on some chunks
the workers tokenize the next ones and decode the last ones: the host work overlaps the
model's and scales with the workers. Only token ids, logits and results cross processes;
the windows (offsets, token strings) stay in the worker that made them.

Why processes and not threads: tokenizing and decoding are mostly Python, which one
process runs on one core at a time (the GIL). Why the model stays here: an accelerator is
held by one process, and its batches are largest when every worker's windows meet in them.

Results equal ``engine(texts, **options)``'s: the workers tokenize and decode with the same
model files, options, patterns and batching rules; on graphs whose logits depend on their
batch-mates (dynamic int8, see ``windows_run_alone``) the batches differ, as they do
between two engine calls over different text lists.
"""

from __future__ import annotations

import contextlib
import subprocess
import sys
import threading
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field
from multiprocessing.connection import Connection, wait
from typing import Any, overload

import numpy as np

from ..engine.core import Engine, check_texts, options_from
from ..errors import HostPoolError, InvalidInput
from ..types import TextResult
from ..worker_process import start_worker
from .worker import WORKER_FD_ENV, WorkerSetup

__all__ = ["HostPool", "HostPoolError"]

# A chunk holds at most this many texts and, past its first text, this many characters:
# large enough that a chunk's messages cost little next to its work, small enough that every
# worker gets several chunks of a call of a thousand sentences or a dozen long documents.
CHUNK_TEXTS = 256
CHUNK_CHARS = 32 * 1024
# Chunks a worker holds tokenized ahead of the model (and so in flight at once).
DEPTH = 2
STARTUP_SECONDS = 120.0


@dataclass
class _Worker:
    name: str
    process: subprocess.Popen[bytes]
    conn: Connection
    in_flight: set[int] = field(default_factory=set)  # its chunks not yet answered in full

    @classmethod
    def start(cls, name: str, setup: WorkerSetup) -> _Worker:
        process, conn = start_worker("nerve.hostpool.worker", WORKER_FD_ENV)
        worker = cls(name, process, conn)
        worker.conn.send(setup)
        return worker

    def stop(self, timeout: float) -> None:
        """Ask the worker to stop; kill it if it has not within ``timeout``. The request goes
        from a thread: a worker that reads nothing any more must not hold up the caller."""

        def ask() -> None:
            with contextlib.suppress(OSError, ValueError):  # already gone
                self.conn.send(("stop",))

        asking = threading.Thread(target=ask, name=f"{self.name}-stop", daemon=True)
        asking.start()
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout)
        asking.join(timeout)
        self.conn.close()


@dataclass
class _Tokenized:
    chunk: int
    worker: _Worker
    ids: np.ndarray
    lengths: np.ndarray
    alone: list[bool] | None

    @property
    def rows(self) -> list[np.ndarray]:
        return np.split(self.ids, np.cumsum(self.lengths)[:-1]) if len(self.lengths) else []


class HostPool:
    """``workers`` processes that tokenize and decode for ``engine``, which runs the model in
    this process. Use as a context manager, or ``close()`` it: the workers are processes.

    ``pool(texts, **options)`` returns what ``engine(texts, **options)`` does (a list of
    ``TextResult``; one for a single string). Calls from several threads run one at a time:
    each call already keeps every worker busy.
    """

    def __init__(
        self, engine: Engine, workers: int, *, chunk_texts: int = CHUNK_TEXTS, depth: int = DEPTH
    ) -> None:
        if not isinstance(workers, int) or isinstance(workers, bool) or workers < 1:
            raise InvalidInput(f"host workers must be a positive integer, got {workers!r}")
        if chunk_texts < 1 or depth < 1:
            raise InvalidInput("chunk_texts and depth must be positive")
        self.engine = engine
        self.chunk_texts = chunk_texts
        self.depth = depth
        backend = engine.backend
        setup = WorkerSetup(
            model_dir=engine.model_dir,
            model_id=engine.model_id,
            max_batch_tokens=engine.max_batch_tokens,
            backend_name=str(backend.name),
            backend_device=str(backend.device),
            backend_dtype=str(getattr(backend, "dtype", "float32")),
            patterns=engine.patterns,
        )
        if getattr(sys, "frozen", False):
            raise HostPoolError("host workers need a Python install (not a built executable)")
        self._workers: list[_Worker] = []
        self._closed = False
        self._broken: HostPoolError | None = None  # set when a worker stopped
        self._calling = threading.Lock()  # one call at a time owns the workers' pipes
        try:
            # Fresh interpreters (nerve.worker_process), not forks: the pool's process may
            # hold CUDA, ONNX Runtime or tokenizer threads, none of which survive a fork.
            for i in range(workers):
                self._workers.append(_Worker.start(f"nerve-host-{i}", setup))
            for worker in self._workers:
                if not worker.conn.poll(STARTUP_SECONDS) or worker.conn.recv() != ("ready",):
                    raise HostPoolError(f"host worker {worker.name} did not start")
        except BaseException:
            self.close()
            raise

    # -- lifecycle -----------------------------------------------------------------------
    def __enter__(self) -> HostPool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self, timeout: float = 10.0) -> None:
        """Stop the workers (at once if they do not stop within ``timeout``)."""
        if self._closed:
            return
        self._closed = True
        for worker in self._workers:
            worker.stop(timeout)

    @property
    def workers(self) -> int:
        return len(self._workers)

    # -- one call ------------------------------------------------------------------------
    @overload
    def __call__(self, inputs: str, **options: Any) -> TextResult: ...
    @overload
    def __call__(self, inputs: Sequence[str], **options: Any) -> list[TextResult]: ...

    def __call__(
        self, inputs: str | Sequence[str], **options: Any
    ) -> TextResult | list[TextResult]:
        if self._closed:
            raise HostPoolError("this host pool is closed")
        if self._broken is not None:
            raise self._broken
        single = isinstance(inputs, str)
        texts = check_texts([inputs] if single else inputs)
        opts = options_from(options)
        chunks = _chunks(texts, self.chunk_texts, CHUNK_CHARS)
        with self._calling:
            if self._broken is not None:  # a worker stopped during the call before this one
                raise self._broken
            done = _Call(self, chunks, opts).run()
        results = [result for chunk in done for result in chunk]
        return results[0] if single else results


def _chunks(texts: list[str], most_texts: int, most_chars: int) -> list[list[str]]:
    """``texts`` in order, cut into chunks of at most ``most_texts`` texts and (unless one text
    is longer) ``most_chars`` characters."""
    chunks: list[list[str]] = []
    current: list[str] = []
    chars = 0
    for text in texts:
        if current and (len(current) == most_texts or chars + len(text) > most_chars):
            chunks.append(current)
            current, chars = [], 0
        current.append(text)
        chars += len(text)
    if current:
        chunks.append(current)
    return chunks


class _Call:
    """The state of one ``HostPool.__call__``: which chunks went where, what came back."""

    def __init__(self, pool: HostPool, chunks: list[list[str]], options: Any) -> None:
        self.pool = pool
        self.chunks = chunks
        self.options = options
        self.next_chunk = 0
        self.tokenized: deque[_Tokenized] = deque()
        self.results: list[list[TextResult] | None] = [None] * len(chunks)
        self.error: BaseException | None = None

    def run(self) -> list[list[TextResult]]:
        for worker in self.pool._workers:
            self._feed(worker)
        while any(worker.in_flight for worker in self.pool._workers):
            if self.tokenized and self.error is None:
                self._run_model()
                continue
            for conn in wait([w.conn for w in self.pool._workers if w.in_flight]):
                worker = next(w for w in self.pool._workers if w.conn is conn)
                self._receive(worker)
        if self.error is not None:
            raise self.error
        done = [chunk for chunk in self.results if chunk is not None]
        if len(done) != len(self.results):  # every chunk answered, or an error was raised
            raise HostPoolError("host workers left chunks of this call unanswered")
        return done

    def _feed(self, worker: _Worker) -> None:
        """Give ``worker`` chunks to tokenize until it holds ``depth`` of them."""
        while (
            self.error is None
            and len(worker.in_flight) < self.pool.depth
            and self.next_chunk < len(self.chunks)
        ):
            chunk = self.next_chunk
            self.next_chunk += 1
            self._send(worker, ("tokenize", chunk, self.chunks[chunk], self.options))
            worker.in_flight.add(chunk)

    def _receive(self, worker: _Worker) -> None:
        try:
            message = worker.conn.recv()
        except (EOFError, OSError):
            worker.in_flight.clear()
            self._fail(self._lost(worker))
            return
        kind, chunk = message[0], message[1]
        if kind == "windows":
            _, _, ids, lengths, alone = message
            if self.error is not None:
                self._send(worker, ("forget", chunk))
                worker.in_flight.discard(chunk)
                return
            self.tokenized.append(_Tokenized(chunk, worker, ids, lengths, alone))
        elif kind == "results":
            self.results[chunk] = message[2]
            worker.in_flight.discard(chunk)
            self._feed(worker)
        elif kind == "error":
            worker.in_flight.discard(chunk)
            self._fail(message[2])
        else:
            worker.in_flight.discard(chunk)
            self._fail(HostPoolError(f"host worker sent an unknown message {kind!r}"))

    def _run_model(self) -> None:
        """The model on every chunk tokenized so far; each chunk's logits to its worker."""
        ready = list(self.tokenized)
        self.tokenized.clear()
        rows: list[np.ndarray] = []
        alone: list[bool] = []
        for part in ready:
            chunk_rows = part.rows
            rows += chunk_rows
            alone += part.alone if part.alone is not None else [False] * len(chunk_rows)
        try:
            logits = self.pool.engine.run_rows(rows, alone=alone if any(alone) else None)
        except Exception as exc:
            for part in ready:
                self._send(part.worker, ("forget", part.chunk))
                part.worker.in_flight.discard(part.chunk)
            self._fail(exc)
            return
        pos = 0
        for part in ready:
            n = len(part.lengths)
            mine = logits[pos : pos + n]
            pos += n
            joined = np.concatenate(mine) if mine else np.zeros((0, len(self.pool.engine.labels)))
            self._send(part.worker, ("decode", part.chunk, joined.astype(np.float32, copy=False)))

    def _send(self, worker: _Worker, message: tuple[Any, ...]) -> None:
        try:
            worker.conn.send(message)
        except (OSError, ValueError):
            worker.in_flight.clear()
            self._fail(self._lost(worker))

    def _fail(self, error: BaseException) -> None:
        """Remember the call's first error; the chunks still out are drained, not used."""
        if self.error is None:
            self.error = error
        while self.tokenized:  # tokenized, never to be run: their workers forget them
            part = self.tokenized.popleft()
            part.worker.in_flight.discard(part.chunk)
            self._send(part.worker, ("forget", part.chunk))

    def _lost(self, worker: _Worker) -> HostPoolError:
        try:
            code: int | None = worker.process.wait(1.0)
        except subprocess.TimeoutExpired:
            code = None
        lost = HostPoolError(
            f"host worker {worker.name} stopped (exit code {code}); "
            "close this pool and make a new one"
        )
        self.pool._broken = lost  # a pool with a dead worker takes no more calls
        return lost
