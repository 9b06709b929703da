"""A ``.nerve`` bundle appended to an executable: the runtime reads the model from its own file.

Layout of a built executable: ``[runtime executable][bundle zip][trailer]``. The trailer is
the last ``TRAILER_SIZE`` bytes: ``MAGIC`` (8 bytes), then the bundle's offset and length as
unsigned 64-bit little-endian integers. The runtime (a PyInstaller one-file executable, which
finds its own archive from the front of the file and ignores what follows) checks its file's
tail for the trailer; a model build only copies the runtime and appends, so it takes seconds.

Standard library only: the runtime imports this before anything else.
"""

from __future__ import annotations

import io
import os
import shutil
import stat
import struct
import uuid
from pathlib import Path

MAGIC = b"NERVEBN1"
_TRAILER = struct.Struct("<8sQQ")
TRAILER_SIZE = _TRAILER.size
_CHUNK = 1 << 20


def append_bundle(runtime: Path, bundle: Path, output: Path) -> Path:
    """Write ``runtime`` + ``bundle`` + trailer to ``output`` (atomically, executable)."""
    output.parent.mkdir(parents=True, exist_ok=True)
    tmp = output.with_name(f".{output.name}.partial-{uuid.uuid4().hex[:8]}")
    try:
        with tmp.open("wb") as out:
            with runtime.open("rb") as src:
                shutil.copyfileobj(src, out, _CHUNK)
            offset = out.tell()
            with bundle.open("rb") as src:
                shutil.copyfileobj(src, out, _CHUNK)
            length = out.tell() - offset
            out.write(_TRAILER.pack(MAGIC, offset, length))
        mode = tmp.stat().st_mode
        tmp.chmod(mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
        os.replace(tmp, output)
    finally:
        tmp.unlink(missing_ok=True)
    return output


def find_appended(path: Path) -> tuple[int, int] | None:
    """``(offset, length)`` of the bundle appended to ``path``, or None if there is none."""
    try:
        with Path(path).open("rb") as f:
            size = f.seek(0, io.SEEK_END)
            if size < TRAILER_SIZE:
                return None
            f.seek(size - TRAILER_SIZE)
            magic, offset, length = _TRAILER.unpack(f.read(TRAILER_SIZE))
    except OSError:
        return None
    if magic != MAGIC or offset + length != size - TRAILER_SIZE:
        return None
    return offset, length


class SliceFile(io.RawIOBase):
    """A read-only, seekable window ``[offset, offset + length)`` of a file (for ``zipfile``)."""

    def __init__(self, path: Path, offset: int, length: int) -> None:
        self._f = Path(path).open("rb")  # noqa: SIM115 - closed by close(), like any file
        self._start = offset
        self._length = length
        self._pos = 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._pos

    def seek(self, pos: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._pos, io.SEEK_END: self._length}[whence]
        self._pos = max(0, base + pos)
        return self._pos

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        n = max(0, min(len(buffer), self._length - self._pos))
        if n == 0:
            return 0
        self._f.seek(self._start + self._pos)
        data = self._f.read(n)
        buffer[: len(data)] = data
        self._pos += len(data)
        return len(data)

    def close(self) -> None:
        self._f.close()
        super().close()
