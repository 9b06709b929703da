"""Filesystem access through pyarrow: local paths and any URI pyarrow understands
(``s3://``, ``gs://``, ``hdfs://``...) when the user has it configured."""

from __future__ import annotations

import os
from typing import Any

from ..errors import MissingExtra


def pyarrow_fs() -> Any:
    try:
        import pyarrow.fs as pafs
    except ImportError:
        raise MissingExtra("pyarrow", "batch", "nerve batch") from None
    return pafs


def is_uri(location: str) -> bool:
    return "://" in location


def filesystem(location: str) -> tuple[Any, str]:
    """(pyarrow filesystem, path inside it) for a local path or a URI."""
    pafs = pyarrow_fs()
    if is_uri(location):
        return pafs.FileSystem.from_uri(location)
    return pafs.LocalFileSystem(), os.path.abspath(location)


def join(location: str, name: str) -> str:
    return location.rstrip("/") + "/" + name
