"""Worker processes: a fresh interpreter (or, in a built executable, the executable itself)
joined to its parent by one end of a socket pair, for the Lua transform's sandbox
(``nerve.transform.worker``) and the host pool's workers (``nerve.hostpool.worker``).

Not ``multiprocessing``: its "spawn" re-imports the caller's ``__main__`` (a script that loads
a model at top level would load it again in the worker, and one without an
``if __name__ == "__main__"`` guard would start workers from its workers), and "fork" copies
the parent's threads (CUDA, ONNX Runtime, the tokenizer's pool, the server's) with their
locks in whatever state they were.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from multiprocessing.connection import Connection


def start_worker(module: str, fd_env: str) -> tuple[subprocess.Popen[bytes], Connection]:
    """Start ``module``'s ``main()`` in a new process; the parent's end of their connection.
    The child finds its end with ``worker_connection(fd_env)``."""
    parent, child = socket.socketpair()
    with child:
        process = subprocess.Popen(
            worker_command(module),
            env={**os.environ, **worker_environ(fd_env, child.fileno())},
            pass_fds=(child.fileno(),),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,  # stdout may be the MCP stdio transport
            # stderr: the parent's, so a crash in the worker lands in the parent's log
            # A process group of its own: Ctrl-C at the terminal reaches the parent alone,
            # which says "interrupted" and closes the connection (the worker then exits on
            # end of file). In the terminal's group, a worker still importing printed a
            # KeyboardInterrupt traceback under the parent's one-line message.
            process_group=0,
        )
    return process, Connection(parent.detach())


def worker_command(module: str) -> list[str]:
    """This Python running ``module.main()``; when frozen, this executable, whose entry
    script sees the connection's variable and calls the worker's ``main`` itself."""
    if getattr(sys, "frozen", False):
        return [sys.executable]
    return [sys.executable, "-c", f"from {module} import main; main()"]


def worker_environ(fd_env: str, fd: int) -> dict[str, str]:
    """The worker's environment on top of the parent's: where its connection is, one thread
    each for the numeric libraries (the worker processes are the parallelism), and the same
    nerve as the parent's, whatever put it on sys.path."""
    env = {fd_env: str(fd), "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1"}
    if not getattr(sys, "frozen", False):
        env["PYTHONPATH"] = os.pathsep.join(p for p in sys.path if p)
    return env


def worker_connection(fd_env: str) -> Connection:
    """In the worker: its end of the socket pair (the variable is removed, so that the
    worker's own children do not see it)."""
    return Connection(int(os.environ.pop(fd_env)))
