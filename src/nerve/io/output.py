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
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import TextIO, cast

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


class _GuardedWriter:
    """A text stream whose write errors (disk full, a FIFO's reader gone) are ``OutputError``
    naming the path, so they are told apart from errors of the work that produces the text."""

    def __init__(self, stream: TextIO, shown: str) -> None:
        self._stream = stream
        self._shown = shown

    def _failed(self, exc: OSError) -> OutputError:
        return OutputError(f"cannot write {self._shown}: {_problem(exc)}")

    def write(self, text: str) -> int:
        try:
            return self._stream.write(text)
        except OSError as exc:
            raise self._failed(exc) from None

    def writelines(self, lines: Iterable[str]) -> None:
        for line in lines:
            self.write(line)

    def flush(self) -> None:
        try:
            self._stream.flush()
        except OSError as exc:
            raise self._failed(exc) from None


def _opened(target: str) -> contextlib.AbstractContextManager[TextIO]:
    """The context manager that writes ``target`` (not ``-``): see the module doc."""
    fd = descriptor_of(target)
    if fd is not None:
        return os.fdopen(os.dup(fd), "w", encoding="utf-8")
    real, is_stream = resolve_output(target)
    if is_stream:
        return open(real, "w", encoding="utf-8")
    return atomic_text_writer(real)


@contextlib.contextmanager
def open_output(target: str | Path | None) -> Iterator[TextIO]:
    """A text stream for ``target``: None or ``-`` is standard output (see the module doc).

    Opening, writing and finishing (close, rename) errors are ``OutputError``; an error of the
    ``with`` block itself passes through unchanged (a regular file is then left as it was).
    """
    if target is None or str(target) == STDOUT:
        yield sys.stdout
        sys.stdout.flush()
        return
    shown = str(target)
    try:
        manager = _opened(shown)
        stream = manager.__enter__()
    except OSError as exc:
        raise OutputError(f"cannot write {shown}: {_problem(exc)}") from None
    try:
        yield cast(TextIO, _GuardedWriter(stream, shown))
    except BaseException:
        manager.__exit__(*sys.exc_info())
        raise
    try:
        manager.__exit__(None, None, None)
    except OSError as exc:
        raise OutputError(f"cannot write {shown}: {_problem(exc)}") from None
