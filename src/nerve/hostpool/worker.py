"""The worker side of ``HostPool``: tokenize chunks of texts, keep their windows, decode them
once their logits come back. Runs in its own process, started by ``nerve.worker_process``
(a fresh interpreter, not a ``multiprocessing`` child: a caller's script needs no
``if __name__ == "__main__"`` guard, and notebooks work as well).

Messages (tuples over one ``multiprocessing`` connection; the first item names the kind):

- in ``("tokenize", chunk, texts, options)`` → out ``("windows", chunk, ids, lengths,
  alone)``: every window's token ids end to end (int64), each window's length (int32), and
  ``Engine.windows_alone`` (None or one flag per window);
- in ``("decode", chunk, logits)`` (float32 [sum of lengths, n_labels]) → out ``("results",
  chunk, list[TextResult])``;
- in ``("forget", chunk)``: drop a chunk whose call failed elsewhere; no answer;
- in ``("stop",)``: exit.

The first message is the ``WorkerSetup``; the worker answers ``("ready",)`` once loaded.

A chunk whose tokenizing or decoding raises answers ``("error", chunk, exception)``: the
caller re-raises it, so a bad input fails as it does in ``Engine.__call__``.
"""

from __future__ import annotations

import pickle
import queue
import signal
import threading
from dataclasses import dataclass
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import numpy as np

from ..engine.core import Engine
from ..errors import HostPoolError
from ..model.spec import read_spec
from ..patterns import Patterns
from ..text.encode import EncodedText
from ..text.loading import load_tokenizer
from ..types import InferenceOptions
from ..worker_process import worker_connection

WORKER_FD_ENV = "NERVE_HOST_WORKER_FD"


@dataclass(frozen=True)
class WorkerSetup:
    """What a worker needs to tokenize and decode exactly as the pool's engine does."""

    model_dir: Path
    model_id: str
    max_batch_tokens: int
    backend_name: str  # the engine's backend: its batching rules depend on these three
    backend_device: str
    backend_dtype: str
    patterns: Patterns | None


class NoModel:
    """The worker's backend: it has the engine's name, device and dtype (which decide how
    windows are cut and batched) and no network; the model runs in the pool's process."""

    def __init__(self, name: str, device: str, dtype: str) -> None:
        self.name, self.device, self.dtype = name, device, dtype

    def forward(self, input_ids: np.ndarray, attention_mask: np.ndarray) -> np.ndarray:
        raise RuntimeError("a host worker runs no model")


def host_engine(setup: WorkerSetup) -> Engine:
    engine = Engine(
        spec=read_spec(setup.model_dir),
        tokenizer=load_tokenizer(setup.model_dir),
        backend=NoModel(setup.backend_name, setup.backend_device, setup.backend_dtype),
        model_dir=setup.model_dir,
        model_id=setup.model_id,
        max_batch_tokens=setup.max_batch_tokens,
    )
    engine.patterns = setup.patterns
    return engine


def main() -> None:
    """The worker process's entry point."""
    conn = worker_connection(WORKER_FD_ENV)
    # Ctrl-C in the caller's terminal reaches the whole process group; the pool decides when
    # this process ends (it says stop, closes the socket, or kills it).
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        setup = conn.recv()
    except (EOFError, OSError):
        return  # the pool went away before the first message (interrupted while starting)
    serve(conn, setup)


def serve(conn: Connection, setup: WorkerSetup) -> None:
    """The worker's loop: one answer per message, until stop or the pool is gone."""
    engine = host_engine(setup)
    kept: dict[int, tuple[list[EncodedText], InferenceOptions]] = {}
    inbox = _reading(conn)
    conn.send(("ready",))
    while True:
        message = inbox.get()
        kind = message[0]
        if kind == "stop":
            return
        if kind == "forget":
            kept.pop(message[1], None)
            continue
        reply = _answer(engine, message, kept)
        try:
            conn.send(reply)
        except OSError:
            return  # the pool's process is gone


def _answer(
    engine: Engine,
    message: tuple[Any, ...],
    kept: dict[int, tuple[list[EncodedText], InferenceOptions]],
) -> tuple[Any, ...]:
    kind, chunk = message[0], message[1]
    try:
        if kind == "tokenize":
            return _tokenize(engine, chunk, message[2], message[3], kept)
        if kind == "decode":
            encoded, options = kept.pop(chunk)
            return ("results", chunk, _decode(engine, encoded, message[2], options))
        raise RuntimeError(f"host worker: unknown message {kind!r}")
    except Exception as exc:
        kept.pop(chunk, None)
        return ("error", chunk, _portable(exc))


def _portable(exc: Exception) -> Exception:
    """``exc`` if it survives pickling (nerve's input errors do), else a ``HostPoolError``
    with its type and message."""
    try:
        pickle.loads(pickle.dumps(exc))
    except Exception:
        return HostPoolError(f"{type(exc).__name__}: {exc}")
    return exc


def _reading(conn: Connection) -> queue.SimpleQueue[tuple[Any, ...]]:
    """Every message from the pool, read by a thread of its own as it arrives.

    Both sides send large messages (a chunk's logits one way, its windows or results the
    other): if the worker only read between its own sends, the pool and the worker could
    each block in a send to the other with both socket buffers full. Reading all the time,
    the worker never leaves the pool blocked, and the pool reads while the worker sends.
    A lost connection reads as ``("stop",)``."""
    inbox: queue.SimpleQueue[tuple[Any, ...]] = queue.SimpleQueue()

    def read() -> None:
        while True:
            try:
                message = conn.recv()
            except (EOFError, OSError):
                inbox.put(("stop",))  # the pool's process is gone
                return
            inbox.put(message)
            if message[0] == "stop":
                return

    threading.Thread(target=read, name="nerve-host-reader", daemon=True).start()
    return inbox


def _tokenize(
    engine: Engine,
    chunk: int,
    texts: list[str],
    options: InferenceOptions,
    kept: dict[int, tuple[list[EncodedText], InferenceOptions]],
) -> tuple[Any, ...]:
    encoded = engine.tokenize(texts, options)
    rows = [w.ids for e in encoded for w in e.windows]
    ids = np.concatenate(rows) if rows else np.zeros(0, dtype=np.int64)
    lengths = np.array([len(r) for r in rows], dtype=np.int32)
    kept[chunk] = (encoded, options)
    return ("windows", chunk, ids, lengths, engine.windows_alone(encoded))


def _decode(
    engine: Engine, encoded: list[EncodedText], logits: np.ndarray, options: InferenceOptions
) -> list[Any]:
    lengths = [len(w) for e in encoded for w in e.windows]
    flat = np.split(logits, np.cumsum(lengths)[:-1]) if lengths else []
    per_text, pos = [], 0
    for e in encoded:
        per_text.append(flat[pos : pos + len(e.windows)])
        pos += len(e.windows)
    return engine.decode_many(encoded, per_text, options)
