"""The transform's own process: where a ``LocalTransform`` runs, so that its limits hold even
inside one long C call.

The in-process checks (an instruction hook every 10,000 Lua instructions, a size check before
each tensor is allocated) cannot interrupt a single C function: ``string.find`` with a
backtracking pattern runs for minutes without executing one Lua instruction, and numpy memory
outside the tensor store is not counted. A separate process bounds both from outside:

- **time**: the parent waits ``timeout_s`` plus a short grace for each answer, then kills the
  process (SIGKILL) and answers the caller with the time-limit error; the next call starts a
  fresh process;
- **memory**: the process's address space is capped (``RLIMIT_AS``) at what it had once Python,
  numpy and Lua were loaded, plus the Lua heap and tensor budgets and a margin for numpy's
  temporaries, so an allocation past it fails (``MemoryError``) instead of growing the server.

The parent side (``TransformWorker``) sends logits and receives results over a pipe; the cost
is one pickle of the batch's logits each way, small next to the model's forward pass.
"""

from __future__ import annotations

import json
import signal
import subprocess
from multiprocessing.connection import Connection
from typing import Any

import numpy as np

from ..worker_process import start_worker, worker_connection
from .errors import TransformError
from .limits import TransformLimits

MIB = 1024 * 1024
# Beyond the Lua heap and tensor budgets: numpy's temporaries (softmax makes a few arrays of
# its input's size) and the pickled result on its way out.
HEADROOM_BYTES = 64 * MIB
# How long the parent waits past the time limit before it kills the process: the in-process
# hook answers first, with the script's own error, whenever Lua code is running.
KILL_GRACE_S = 0.5
# Starting Python, numpy and Lua in a fresh process (seconds on a busy machine; not the
# transform's time, which only starts with the script).
STARTUP_TIMEOUT_S = 120.0

# Tells a starting process that it is a transform worker, and which descriptor is its socket.
WORKER_FD_ENV = "NERVE_TRANSFORM_WORKER_FD"


def time_limit_error(limits: TransformLimits) -> TransformError:
    return TransformError(
        f"the transform ran longer than {limits.timeout_s:g} s (nerve.transform_timeout)"
    )


def memory_limit_error(limits: TransformLimits) -> TransformError:
    return TransformError(
        f"the transform ran out of memory: its process may use {limits.memory_mb} MiB of Lua "
        f"memory and {limits.memory_mb} MiB of tensors (nerve.transform_memory_mb)"
    )


class TransformWorker:
    """Parent side: one worker process running one transform; restarted after a kill.

    Not thread-safe: ``LuaTransform`` serialises calls.
    """

    def __init__(
        self, source: str, limits: TransformLimits, libs: tuple[str, ...] | None = None
    ) -> None:
        self.source = source
        self.limits = limits
        self.libs = libs  # the build's lua_libs (None: the default libraries)
        self._process: subprocess.Popen[bytes] | None = None
        self._conn: Connection | None = None
        self._start()

    def run(self, logits: np.ndarray) -> np.ndarray:
        if self._conn is None:
            self._start()
        conn = self._conn
        assert conn is not None
        try:
            conn.send(logits)
        except (BrokenPipeError, ConnectionResetError, EOFError):
            self.stop()
            raise self._died() from None
        kind, value = self._receive(self.limits.timeout_s + KILL_GRACE_S)
        if kind != "ok":
            raise TransformError(value)
        shape = tuple(int(n) for n in value)
        try:
            return np.frombuffer(self._conn_or_fail().recv_bytes(), dtype=np.float32).reshape(shape)
        except (EOFError, ConnectionResetError, ValueError):
            self.stop()
            raise self._died() from None

    def stop(self) -> None:
        """Kill the process (if any); the next call starts a new one."""
        process, conn = self._process, self._conn
        self._process = self._conn = None
        if conn is not None:
            conn.close()
        if process is not None:
            process.kill()  # no-op if it already exited
            process.wait(5)

    # -- internals ---------------------------------------------------------------------------
    def _start(self) -> None:
        self._process, self._conn = start_worker("nerve.transform.worker", WORKER_FD_ENV)
        kind, value = self._receive(STARTUP_TIMEOUT_S, starting=True)
        if kind == "started":
            self._conn.send((self.source, self.limits, self.libs))
            # The script's top level runs under the same limits as a call.
            kind, value = self._receive(self.limits.timeout_s + KILL_GRACE_S)
        if kind != "ready":
            self.stop()
            raise TransformError(value)

    def _conn_or_fail(self) -> Connection:
        assert self._conn is not None
        return self._conn

    def _receive(self, timeout: float, starting: bool = False) -> tuple[str, Any]:
        """The next message of the worker: (kind, value).

        Read as JSON, never unpickled: the process runs untrusted code, and a pickle from it
        could run code in the server if its sandbox were ever escaped.
        """
        conn = self._conn_or_fail()
        try:
            ready = conn.poll(timeout)
            header = json.loads(conn.recv_bytes()) if ready else None
            reply = (str(header["kind"]), header["value"]) if header is not None else ("", None)
        except (EOFError, ConnectionResetError, ValueError, KeyError, TypeError):
            self.stop()
            raise self._died() from None
        if not ready:
            self.stop()
            if starting:
                raise TransformError(
                    f"the transform's worker process did not start within {STARTUP_TIMEOUT_S:g} s"
                )
            raise time_limit_error(self.limits)
        return reply

    def _died(self) -> TransformError:
        # Killed by the kernel (out of memory) or crashed in C: most likely the memory cap.
        return TransformError(
            "the transform's worker process died; "
            + memory_limit_error(self.limits).message.removeprefix("the transform ")
        )


# -- the child process ---------------------------------------------------------------------------
def main() -> None:
    """The worker process's main: load the script, then answer one call per message."""
    conn = worker_connection(WORKER_FD_ENV)
    # Ctrl-C in the server's terminal reaches the whole process group; the server decides
    # when this process ends (it closes the pipe, or kills it).
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    from .local import LocalTransform

    try:
        _reply(conn, "started")
        source, limits, libs = conn.recv()
    except (EOFError, OSError):
        return  # the parent went away before the first call (interrupted while starting)
    # Everything this process needs is loaded before the cap; the script's load runs under it.
    _cap_address_space(limits)
    try:
        transform = LocalTransform(source, limits, libs)
    except TransformError as exc:
        _reply(conn, "error", exc.message)
        return
    except MemoryError:
        _reply(conn, "error", memory_limit_error(limits).message)
        return
    _reply(conn, "ready")
    while True:
        try:
            logits = conn.recv()
        except (EOFError, OSError):
            return  # the server closed the pipe or exited
        try:
            out = np.ascontiguousarray(transform(logits), dtype=np.float32)
        except TransformError as exc:
            _reply(conn, "error", exc.message)
            continue
        except MemoryError:
            _reply(conn, "error", memory_limit_error(limits).message)
            continue
        _reply(conn, "ok", list(out.shape))
        conn.send_bytes(out.tobytes())


def _reply(conn: Connection, kind: str, value: object = None) -> None:
    conn.send_bytes(json.dumps({"kind": kind, "value": value}).encode())


def _cap_address_space(limits: TransformLimits) -> None:
    try:
        import resource
    except ImportError:  # pragma: no cover - not POSIX: the in-process checks remain
        return
    budget = 2 * limits.memory_mb * MIB + HEADROOM_BYTES  # Lua heap + tensors + temporaries
    cap = _address_space_now() + budget
    _, hard = resource.getrlimit(resource.RLIMIT_AS)
    if hard != resource.RLIM_INFINITY:
        cap = min(cap, hard)
    resource.setrlimit(resource.RLIMIT_AS, (cap, hard))


def _address_space_now() -> int:
    """This process's virtual size in bytes (Linux: /proc; elsewhere the peak RSS)."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmSize:"):
                    return int(line.split()[1]) * 1024
    except OSError:  # pragma: no cover - not Linux
        pass
    import resource

    return int(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss) * 1024
