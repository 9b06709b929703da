"""Where the executable's model lives and what it is."""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path

from ..bundle.manifest import Manifest, read_manifest
from ..errors import ModelLoadError

# The folder name ``nerve build`` gives the model inside the executable (``--add-data``).
EMBEDDED_DIR = "nerve_model"


@dataclass(frozen=True)
class EmbeddedModel:
    dir: Path
    manifest: Manifest


def embedded_model_dir() -> Path:
    """The model folder of a PyInstaller executable (unpacked under ``sys._MEIPASS``)."""
    base = getattr(sys, "_MEIPASS", None)
    if base is None:
        raise ModelLoadError(
            "not running inside a `nerve build` executable: no embedded model (pass a model "
            "directory explicitly)"
        )
    return Path(base) / EMBEDDED_DIR


def open_embedded(model_dir: Path | None = None) -> EmbeddedModel:
    path = Path(model_dir) if model_dir is not None else embedded_model_dir()
    manifest = read_manifest(path)
    if manifest is None:
        raise ModelLoadError(f"{path} has no nerve_bundle.json: not a built model")
    return EmbeddedModel(path, manifest)
