"""What ``nlp.to_disk`` writes for a ``nerve_ner`` component, and what ``spacy.load`` reads.

A saved spaCy pipeline must work wherever it is copied, as spaCy's own components do (the
entity ruler keeps its patterns in its own folder, not as a path in ``config.cfg``). So the
component's folder holds:

- ``nerve_ner.json``: which model it holds and the patterns' overlap policy;
- ``model/``: the model's files, unless it is nerve's embedded default model (every nerve
  install carries that one, so copying 20 MB into each saved pipeline buys nothing);
- ``patterns.jsonl``: the patterns the component applied, whatever file they came from.

Loading then takes the model and patterns from that folder, never from the paths written in
``config.cfg`` (which name the machine the pipeline was saved on). The run settings
(``backend``, ``device``, ``threads``) still come from the config, so they can be overridden
at ``spacy.load``.
"""

from __future__ import annotations

import json
import os
import shutil
import uuid
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ..errors import DataError
from ..model.resolve import default_model_dir
from ..patterns.bundled import write_patterns
from ..patterns.ruler import Patterns

STATE_FILE = "nerve_ner.json"
MODEL_DIR = "model"
PATTERNS_FILE = "patterns.jsonl"
FORMAT = 1
# Weight formats nerve never reads (it never unpickles, and has no TensorFlow/Flax/Rust
# loader): a Hub snapshot often holds them beside model.safetensors, at several times its size.
FOREIGN_WEIGHTS = (".bin", ".h5", ".msgpack", ".ot", ".pt", ".pth", ".ckpt")
# The one sub-folder nerve loads from: transformers.js's onnx/ variants.
MODEL_SUBDIRS = ("onnx",)


def save(engine: Any, path: Path) -> None:
    """Write the component's folder ``path`` for ``engine``; all of it or nothing (it is
    staged beside ``path`` and renamed into place, replacing an older save)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    staging = path.with_name(f".{path.name}.partial-{uuid.uuid4().hex[:8]}")
    try:
        staging.mkdir()
        embedded = Path(engine.model_dir).resolve() == default_model_dir().resolve()
        if not embedded:
            copy_model(Path(engine.model_dir), staging / MODEL_DIR)
        patterns = engine.patterns
        if patterns is not None:
            write_patterns(patterns, staging / PATTERNS_FILE)
        state = {
            "format": FORMAT,
            "model": "embedded" if embedded else MODEL_DIR,
            "patterns_overlap": None if patterns is None else patterns.overlap,
        }
        (staging / STATE_FILE).write_text(json.dumps(state, indent=2) + "\n", encoding="utf-8")
        if path.exists():
            shutil.rmtree(path)
        os.replace(staging, path)
    finally:
        if staging.exists():
            shutil.rmtree(staging)


def copy_model(model_dir: Path, out: Path) -> None:
    """The files nerve can load from ``model_dir`` (links followed: a Hub cache's snapshot
    holds links to its blobs), without the weight formats it never reads."""
    out.mkdir()
    for item in sorted(model_dir.iterdir()):
        if item.is_dir():
            if item.name in MODEL_SUBDIRS:
                copy_model(item, out / item.name)
        elif not item.name.endswith(FOREIGN_WEIGHTS):
            shutil.copyfile(item, out / item.name)


def stored_load_arguments(path: Path) -> dict[str, Any] | None:
    """``nerve.load`` arguments for the model and patterns saved in ``path``; None when the
    folder is absent (a pipeline saved before nerve stored anything: its config's paths are
    all there is)."""
    path = Path(path)
    state_file = path / STATE_FILE
    if not state_file.is_file():
        return None
    state = _read_state(state_file)
    model = state.get("model")
    if model not in ("embedded", MODEL_DIR):
        raise DataError(f"{state_file}: 'model' must be 'embedded' or {MODEL_DIR!r}, got {model!r}")
    patterns_file = path / PATTERNS_FILE
    patterns = None
    if patterns_file.is_file():
        overlap = state.get("patterns_overlap")
        patterns = (
            Patterns.from_jsonl(patterns_file)
            if overlap is None
            else Patterns.from_jsonl(patterns_file, overlap=overlap)
        )
    return {"model": None if model == "embedded" else str(path / MODEL_DIR), "patterns": patterns}


def _read_state(state_file: Path) -> Mapping[str, Any]:
    try:
        state = json.loads(state_file.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise DataError(f"{state_file} cannot be read: {exc}") from None
    if not isinstance(state, dict) or state.get("format") != FORMAT:
        raise DataError(
            f"{state_file} is not a nerve_ner folder of format {FORMAT} (saved by another "
            "nerve version?)"
        )
    return state
