"""Where ``-o PATH`` output goes, without ever destroying what is at the path.

- ``-``: standard output. ``/dev/stdout``, ``/dev/stderr``, ``/dev/fd/N`` and
  ``/proc/self/fd/N`` name an already open descriptor: it is written as it is (no reopening,
  which would truncate a file the shell redirected it to).
- a regular file, or nothing yet: written atomically (``nerve.io.atomic``), so a reader never
  sees half a file and a failed run leaves the old file as it was.
- a symlink: its target is written (resolved first), the link itself is left alone.
- a FIFO, a character device (``/dev/stdout``, ``/dev/null``) or a socket: opened and written
  as a stream; renaming a file over it would replace the device or starve the reader.
- anything unusable (a directory, a missing directory, no permission): one ``OutputError``
  that names the path and the problem, raised before any work is done.
"""

from __future__ import annotations

import contextlib
import os
import re
import stat
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import TextIO

from ..errors import OutputError
from .atomic import atomic_text_writer

STDOUT = "-"
_OPEN_FD = re.compile(r"^/(?:dev/fd|proc/self/fd)/(\d+)$")
_NAMED_FD = {"/dev/stdin": 0, "/dev/stdout": 1, "/dev/stderr": 2}


def descriptor_of(target: str) -> int | None:
    """The file descriptor an output path names directly, if it names one."""
    if target in _NAMED_FD:
        return _NAMED_FD[target]
    match = _OPEN_FD.match(target)
    return int(match.group(1)) if match else None


def _problem(exc: OSError) -> str:
    return (exc.strerror or str(exc)).lower()


def _check_regular(shown: str, real: Path) -> None:
    """Fail early, with the reason, when a new file cannot be created at ``real``."""
    parent = real.parent
    if not parent.is_dir():
        raise OutputError(f"cannot write {shown}: directory {parent} does not exist")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise OutputError(f"cannot write {shown}: permission denied on directory {parent}")
    if real.exists() and not os.access(real, os.W_OK):
        raise OutputError(f"cannot write {shown}: permission denied")


def resolve_output(target: str | Path) -> tuple[Path, bool]:
    """(the path to write, whether it is a stream) for an output argument other than ``-``.

    Raises ``OutputError`` for a path that cannot be written.
    """
    shown = str(target)
    if not shown:
        raise OutputError("the output path is empty (use '-' for standard output)")
    real = Path(os.path.realpath(target))  # follows every symlink, also a dangling one's
    try:
        mode = os.stat(real).st_mode
    except FileNotFoundError:
        _check_regular(shown, real)
        return real, False
    except OSError as exc:
        raise OutputError(f"cannot write {shown}: {_problem(exc)}") from None
    if stat.S_ISDIR(mode):
        raise OutputError(f"cannot write {shown}: it is a directory (give a file name)")
    if stat.S_ISREG(mode):
        _check_regular(shown, real)
        return real, False
    return real, True


@contextlib.contextmanager
def open_output(target: str | Path | None) -> Iterator[TextIO]:
    """A text stream for ``target``: None or ``-`` is standard output (see the module doc)."""
    if target is None or str(target) == STDOUT:
        yield sys.stdout
        sys.stdout.flush()
        return
    fd = descriptor_of(str(target))
    if fd is not None:
        try:
            stream = os.fdopen(os.dup(fd), "w", encoding="utf-8")
        except OSError as exc:
            raise OutputError(f"cannot write {target}: {_problem(exc)}") from None
        with stream:
            yield stream
        return
    real, is_stream = resolve_output(target)
    try:
        if is_stream:
            with open(real, "w", encoding="utf-8") as fh:
                yield fh
        else:
            with atomic_text_writer(real) as fh:
                yield fh
    except OSError as exc:
        if exc.errno is None and not exc.strerror:
            raise
        raise OutputError(f"cannot write {target}: {_problem(exc)}") from None
