"""Write a regular file atomically: a temp file in the same directory, renamed into place on
success, with the mode a plain ``open()`` would have given it."""

from __future__ import annotations

import contextlib
import os
import stat
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import TextIO


def _umask() -> int:
    # os.umask can only be read by setting it; put it straight back (the CLI is one thread).
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def fresh_sibling_dir(path: Path, tag: str) -> Path:
    """A new hidden directory beside ``path``, to build an output in and rename into place.
    Made with ``mkdir``, which honours the umask (``mkdtemp`` makes it 0700, and the renamed
    output then stays private to its owner)."""
    while True:
        candidate = path.parent / f".{path.name}.{tag}-{uuid.uuid4().hex[:8]}"
        with contextlib.suppress(FileExistsError):
            candidate.mkdir()
            return candidate


def new_file_mode() -> int:
    """What ``open`` gives a new file: 0666 minus the umask."""
    return 0o666 & ~_umask()


def _mode_for(path: Path) -> int:
    """The permission bits ``path`` should end up with: an existing file keeps its own, a new
    one gets 0666 minus the umask (mkstemp alone would leave it 0600)."""
    try:
        return stat.S_IMODE(os.stat(path).st_mode)
    except FileNotFoundError:
        return new_file_mode()


@contextlib.contextmanager
def atomic_text_writer(path: Path) -> Iterator[TextIO]:
    """Yield a text stream; ``path`` appears (complete) only if the block finishes.

    ``path`` must be a regular file or not exist yet, and must not be a symlink: callers
    resolve links first (see ``nerve.io.output``), so the link's target is what is replaced.
    """
    path = Path(path)
    mode = _mode_for(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".partial", dir=path.parent)
    try:
        os.fchmod(fd, mode)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            yield fh
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
