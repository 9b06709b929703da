"""The runtime executable every model build appends its bundle to.

Compiling with PyInstaller takes minutes; appending a model takes seconds. So the runtime is
compiled once per nerve version, platform, Python and nerve source (the cache key), kept in
the cache directory (``--cache-dir`` / ``encoderfile.cache_dir``, default
``$XDG_CACHE_HOME/nerve/runtime``), and reused by every later build of any model. A runtime
can also be given (``--base-binary-path``): it must be a nerve runtime of this nerve version
for this platform — anything else (encoderfile's own base binary, say) cannot run nerve's
bundle, so nerve says so and uses its own.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

from .. import __version__
from ..bundle.appended import find_appended
from ..standalone.target import RUNTIME_INFO_FLAG, host_target
from .errors import BuildError

Say = Callable[[str], None]
_INFO_TIMEOUT_S = 60


def default_cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "nerve" / "runtime"


def source_digest() -> str:
    """SHA-256 over nerve's own modules: a changed nerve (same version) gets a new runtime."""
    root = Path(__file__).resolve().parents[1]
    digest = hashlib.sha256()
    for path in sorted(root.rglob("*.py")):
        digest.update(str(path.relative_to(root)).encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def runtime_key() -> str:
    python = f"py{sys.version_info.major}{sys.version_info.minor}"
    return f"nerve-runtime-{__version__}-{host_target()}-{python}-{source_digest()}"


def runtime_info(path: Path) -> dict[str, str] | None:
    """What a runtime executable says it is, or None if it is not a nerve runtime."""
    if not path.is_file() or not os.access(path, os.X_OK) or find_appended(path) is not None:
        return None
    try:
        proc = subprocess.run(
            [str(path), RUNTIME_INFO_FLAG],
            capture_output=True,
            text=True,
            timeout=_INFO_TIMEOUT_S,
            check=False,
        )
        info = json.loads(proc.stdout)
    except (OSError, subprocess.TimeoutExpired, ValueError):
        return None
    if proc.returncode != 0 or not isinstance(info, dict) or "nerve_version" not in info:
        return None
    return {str(k): str(v) for k, v in info.items()}


def usable_base_binary(path: Path, say: Say) -> bool:
    """Whether ``path`` is a runtime this nerve can append to; otherwise one notice why not."""
    info = runtime_info(path)
    if info is None:
        say(
            f"note: base_binary_path {path} is not a nerve runtime (encoderfile's base binary "
            "cannot run a nerve bundle); using nerve's own runtime"
        )
        return False
    wanted = {"nerve_version": __version__, "target": host_target()}
    got = {k: info.get(k) for k in wanted}
    if got != wanted:
        say(
            f"note: base_binary_path {path} is the runtime of nerve {got['nerve_version']} for "
            f"{got['target']}; this build needs nerve {__version__} for {host_target()}, so it "
            "uses its own runtime"
        )
        return False
    return True


def cached_runtime(cache_dir: Path | None) -> Path:
    """Where this nerve's runtime is (or will be) cached."""
    cache = Path(cache_dir) if cache_dir is not None else default_cache_dir()
    return cache / runtime_key()


def ensure_runtime(cache_dir: Path | None, say: Say) -> Path:
    """The cached runtime executable, compiled first if this nerve has none yet."""
    from .pyinstaller import compile_executable

    path = cached_runtime(cache_dir)
    cache = path.parent
    if path.is_file():
        say(f"Using runtime {path}")
        return path
    say(f"Compiling the runtime (once per nerve version; cached at {path})...")
    try:
        cache.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(prefix="nerve-runtime-") as tmp:
            compile_executable(None, path, Path(tmp), "nerve-runtime")
    except OSError as exc:
        raise BuildError(
            f"cannot write the runtime to {cache}: {exc.strerror or exc} (set --cache-dir)"
        ) from None
    return path
