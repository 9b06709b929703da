"""The patterns a built model carries (``nerve build`` with ``nerve.patterns`` in its config).

The build copies the file into the model directory as ``nerve_patterns.jsonl``, with every
line's ``ignore_case`` written out, and records the overlap policy in the manifest's
defaults; whoever loads the directory (the executable, ``nerve serve --model``, ``nerve.load``)
applies them.
"""

from __future__ import annotations

import json
from pathlib import Path

from .reader import Pattern
from .ruler import DEFAULT_OVERLAP, Patterns

BUNDLED_FILE = "nerve_patterns.jsonl"
OVERLAP_DEFAULT_KEY = "patterns_overlap"


def bundled_patterns(model_dir: Path) -> Patterns | None:
    path = model_dir / BUNDLED_FILE
    if not path.is_file():
        return None
    from ..bundle.manifest import read_manifest

    manifest = read_manifest(model_dir)
    overlap = (
        DEFAULT_OVERLAP
        if manifest is None
        else manifest.defaults.get(OVERLAP_DEFAULT_KEY, DEFAULT_OVERLAP)
    )
    return Patterns.from_jsonl(path, overlap=overlap)


def write_bundled(patterns: Patterns, model_dir: Path) -> Path:
    """Write ``patterns`` as the model directory's patterns file (explicit ``ignore_case``)."""
    return write_patterns(patterns, model_dir / BUNDLED_FILE)


def write_patterns(patterns: Patterns, path: Path) -> Path:
    """``patterns`` as a JSONL file that ``Patterns.from_jsonl`` reads back to the same rules
    (every line's ``ignore_case`` written out; the overlap policy is the caller's to keep)."""
    with path.open("w", encoding="utf-8") as out:
        for p in patterns.patterns:
            out.write(json.dumps(_record(p), ensure_ascii=False) + "\n")
    return path


def _record(p: Pattern) -> dict[str, object]:
    record: dict[str, object] = {"label": p.label, "pattern": p.text}
    if p.id is not None:
        record["id"] = p.id
    record["ignore_case"] = p.ignore_case
    return record
