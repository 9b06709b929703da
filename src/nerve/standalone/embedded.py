"""Where the executable's model lives and what it is."""

from __future__ import annotations

import atexit
import shutil
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from ..bundle.appended import find_appended
from ..bundle.archive import open_bundle
from ..bundle.manifest import Manifest, read_manifest
from ..errors import ModelLoadError

# The folder name ``nerve build`` gives the model inside the executable (``--add-data``).
EMBEDDED_DIR = "nerve_model"


def _stderr(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


@dataclass(frozen=True)
class EmbeddedModel:
    dir: Path
    manifest: Manifest


def embedded_model_dir() -> Path:
    """The model of a built executable: the bundle appended to the executable's own file
    (extracted and verified once into the user's cache), or — executables built by older
    nerve versions — the folder PyInstaller unpacks under ``sys._MEIPASS``."""
    base = getattr(sys, "_MEIPASS", None)
    if getattr(sys, "frozen", False):
        exe = Path(sys.executable)
        if find_appended(exe) is not None:
            return _extract_appended(exe)
        if base is None or not (Path(base) / EMBEDDED_DIR).is_dir():
            # Without its trailer the model cannot be found; naming PyInstaller's temporary
            # folder (gone once we exit) would not tell the user what is wrong.
            raise ModelLoadError(
                f"{exe} carries no model: it is a nerve runtime without one, or a truncated "
                "copy of a built executable (an interrupted download or copy); build it with "
                "`nerve build` or copy it again"
            )
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


def build_threads(manifest: Manifest, say: Callable[[str], None] | None = None) -> int | None:
    """The build's ``nerve.threads``, lowered to the CPUs this process may use.

    The count was chosen on the build machine; an executable copied to a smaller one must
    still start (a ``--threads`` the user gives here is checked, and refused, as given).
    """
    from ..loader import usable_cpus

    threads = manifest.defaults.get("threads")
    if not isinstance(threads, int) or isinstance(threads, bool):
        return None
    cpus = usable_cpus()
    if threads > cpus:
        (say or _stderr)(
            f"note: the build's nerve.threads is {threads} but this process may use {cpus} "
            f"CPUs; using {cpus} (--threads overrides it)"
        )
        return cpus
    return threads
