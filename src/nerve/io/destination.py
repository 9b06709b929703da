"""Can an output be created where the user asked? Checked before the work that makes it.

Training runs for an hour and exporting or building for minutes; an output path that cannot
be written (a parent that is a file, a read-only or virtual file system such as /proc) must
fail at once, and name the user's path, not the temporary sibling the output is first
written to."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from ..errors import InvalidInput


def check_creatable(path: Path, what: str) -> None:
    """Raise ``InvalidInput`` naming ``path`` (``what``: "output directory", ...) unless a
    file or directory can be created there: its nearest existing ancestor must be a
    directory this process can create entries in (probed by creating and removing one)."""
    path = Path(path)
    ancestor = path.parent
    while not ancestor.exists() and ancestor != ancestor.parent:
        ancestor = ancestor.parent
    if not ancestor.is_dir():
        raise InvalidInput(f"cannot create the {what} {path}: {ancestor} is not a directory")
    try:
        probe = tempfile.mkdtemp(prefix=f".{path.name}.probe-", dir=ancestor)
    except OSError as exc:
        reason = (exc.strerror or str(exc)).lower()
        raise InvalidInput(f"cannot create the {what} {path}: {reason} in {ancestor}") from None
    os.rmdir(probe)
