"""``build``: config → validated, staged model → one executable (or one ``.nerve`` archive).

An executable is nerve's runtime executable (compiled once and cached, ``nerve.build.runtime``)
with the model's ``.nerve`` bundle appended (``nerve.bundle.appended``).

All intermediate files live in a temporary directory; the output appears only when complete
(a failed build leaves no output file, and an existing one untouched).
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from ..bundle.appended import append_bundle
from ..bundle.archive import SUFFIX, write_bundle
from ..errors import InvalidInput
from ..io.destination import check_creatable
from .config import BuildConfig
from .errors import BuildError
from .model import stage_model
from .runtime import cached_runtime, ensure_runtime, usable_base_binary

Say = Callable[[str], None]


@dataclass(frozen=True)
class BuildResult:
    path: Path
    size_bytes: int
    bundle_only: bool


def output_path(config: BuildConfig, override: Path | None, bundle_only: bool) -> Path:
    """``-o`` > ``encoderfile.output_path`` > ``./<name>`` (``./<name>.nerve`` for bundles)."""
    path = (
        override
        or config.output_path
        or config.cwd / (config.name + (SUFFIX if bundle_only else ""))
    )
    path = Path(path).absolute()
    if path.is_dir():
        raise BuildError(f"the output {path} is a directory; give a file path")
    if path == config.path or config.path in path.parents:
        raise BuildError(f"the output {path} is inside the model directory {config.path}")
    try:
        check_creatable(path, "output")
    except InvalidInput as exc:
        raise BuildError(exc.message) from None
    return path


def build(
    config: BuildConfig,
    *,
    output: Path | None = None,
    bundle_only: bool = False,
    say: Say = print,
) -> BuildResult:
    for notice in config.notices:
        say(notice if notice.startswith("warning:") else f"note: {notice}")
    target = output_path(config, output, bundle_only)
    base = None
    if not bundle_only:
        base = _usable_base(config, say)
        if base is None and not cached_runtime(config.cache_dir).is_file():
            from .pyinstaller import check_available

            check_available()  # before the model work, not after
    with tempfile.TemporaryDirectory(prefix="nerve-build-") as tmp:
        work = Path(tmp)
        say("Validating model...")
        staged = stage_model(config, work / "model", say)
        if bundle_only:
            say("Writing bundle...")
            write_bundle(staged.dir, target)
        else:
            bundle = write_bundle(staged.dir, work / "model.nerve")
            runtime = base or ensure_runtime(config.cache_dir, say)
            say("Appending the model to the runtime...")
            append_bundle(runtime, bundle, target)
    say(f"✓ Build complete: {target}")
    return BuildResult(target, target.stat().st_size, bundle_only)


def _usable_base(config: BuildConfig, say: Say) -> Path | None:
    """``base_binary_path`` when it is a nerve runtime for this nerve and platform."""
    if config.base_binary_path is None:
        return None
    return config.base_binary_path if usable_base_binary(config.base_binary_path, say) else None
