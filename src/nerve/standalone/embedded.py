"""Where the executable's model lives and what it is."""

from __future__ import annotations

import atexit
import shutil
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from ..bundle.appended import find_appended
from ..bundle.archive import open_bundle
from ..bundle.manifest import Manifest, read_manifest
from ..errors import ModelLoadError

# The folder name ``nerve build`` gives the model inside the executable (``--add-data``).
EMBEDDED_DIR = "nerve_model"


@dataclass(frozen=True)
class EmbeddedModel:
    dir: Path
    manifest: Manifest


def embedded_model_dir() -> Path:
    """The model of a built executable: the bundle appended to the executable's own file
    (extracted and verified once into the user's cache), or — executables built by older
    nerve versions — the folder PyInstaller unpacks under ``sys._MEIPASS``."""
    if getattr(sys, "frozen", False):
        exe = Path(sys.executable)
        if find_appended(exe) is not None:
            return _extract_appended(exe)
    base = getattr(sys, "_MEIPASS", None)
    if base is None:
        raise ModelLoadError(
            "not running inside a `nerve build` executable: no embedded model (pass a model "
            "directory explicitly)"
        )
    return Path(base) / EMBEDDED_DIR


def _extract_appended(exe: Path) -> Path:
    try:
        return open_bundle(exe)
    except OSError:
        # No writable cache (a read-only home): a private folder, removed at exit.
        tmp = Path(tempfile.mkdtemp(prefix="nerve-model-"))
        atexit.register(shutil.rmtree, tmp, True)
        return open_bundle(exe, cache_dir=tmp)


def open_embedded(model_dir: Path | None = None) -> EmbeddedModel:
    path = Path(model_dir) if model_dir is not None else embedded_model_dir()
    manifest = read_manifest(path)
    if manifest is None:
        raise ModelLoadError(f"{path} has no nerve_bundle.json: not a built model")
    return EmbeddedModel(path, manifest)
