"""Built models: the ``nerve_bundle.json`` manifest and single-file ``.nerve`` archives.

Standard library only, so the model resolver can open a ``.nerve`` path without pulling in
anything else.
"""

from __future__ import annotations

from .appended import append_bundle, find_appended
from .archive import (
    SUFFIX,
    bundle_manifest,
    default_cache_dir,
    open_bundle,
    resolve_bundle,
    write_bundle,
)
from .manifest import (
    MANIFEST_FILE,
    Manifest,
    TransformSpec,
    hash_files,
    read_manifest,
    verify_files,
    write_manifest,
)

__all__ = [
    "MANIFEST_FILE",
    "SUFFIX",
    "Manifest",
    "TransformSpec",
    "append_bundle",
    "bundle_manifest",
    "find_appended",
    "default_cache_dir",
    "hash_files",
    "open_bundle",
    "read_manifest",
    "resolve_bundle",
    "verify_files",
    "write_bundle",
    "write_manifest",
]
