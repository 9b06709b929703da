"""``build``: config → validated, staged model → one executable (or one ``.nerve`` archive).

An executable is nerve's runtime executable (compiled once and cached, ``nerve.build.runtime``)
with the model's ``.nerve`` bundle appended (``nerve.bundle.appended``).

All intermediate files live in a temporary directory; the output appears only when complete
(a failed build leaves no output file, and an existing one untouched).
"""

from __future__ import annotations

import os
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
    if override is not None:
        path, origin = Path(override), "-o"
    elif config.output_path is not None:
        path, origin = config.output_path, "encoderfile.output_path"
    else:
        path = config.cwd / (config.name + (SUFFIX if bundle_only else ""))
        origin = "the default from encoderfile.name"
    path = path.absolute()
    if path.is_dir():
        if origin == "-o":
            hint = "give a file path"
        else:
            hint = "give a file path with -o or encoderfile.output_path"
        raise BuildError(f"the output {path} ({origin}) is a directory; {hint}")
    # Resolved: `..` parts and symlinks must not hide that two paths are the same file.
    real = path.resolve()
    model_dir = config.path.resolve()
    if real == model_dir or model_dir in real.parents:
        raise BuildError(
            f"the output {path} ({origin}) is inside the model directory {model_dir} "
            "(encoderfile.path); write it elsewhere"
        )
    for what, source in _inputs(config):
        if real == source.resolve() or _same_file(path, source):
            raise BuildError(
                f"the output {path} ({origin}) is {what} {source}; writing it would overwrite "
                "that input, so give another output path"
            )
    try:
        check_creatable(path, "output")
    except InvalidInput as exc:
        raise BuildError(exc.message) from None
    return path


def _inputs(config: BuildConfig) -> list[tuple[str, Path]]:
    """The files a build reads, which its output must never replace."""
    inputs = [("the build config", config.source.absolute())]
    if config.transform_path is not None:
        inputs.append(("the transform file (encoderfile.transform.path)", config.transform_path))
    if config.nerve.patterns is not None:
        inputs.append(("the patterns file (nerve.patterns)", config.nerve.patterns))
    if config.base_binary_path is not None:
        inputs.append(("the base binary (base_binary_path)", config.base_binary_path))
    if config.files is not None:
        for key, file in (
            ("model_config_path", config.files.config),
            ("model_weights_path", config.files.weights),
            ("tokenizer_path", config.files.tokenizer),
            ("tokenizer_config_path", config.files.tokenizer_config),
        ):
            if file is not None:
                inputs.append((f"a model file (encoderfile.path.{key})", file))
    inputs.append(("the cached runtime (cache_dir)", cached_runtime(config.cache_dir)))
    return inputs


def _same_file(a: Path, b: Path) -> bool:
    """Hard links too: two names, one file."""
    try:
        return os.path.samefile(a, b)
    except OSError:  # either one does not exist: nothing to overwrite
        return False


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
    _note_threads(config, say)
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


def _note_threads(config: BuildConfig, say: Say) -> None:
    """The executable lowers a built-in thread count to the CPUs of the machine it runs on;
    say so now when even the build machine has fewer."""
    from ..loader import usable_cpus

    threads = config.nerve.threads
    if threads is not None and threads > (cpus := usable_cpus()):
        say(
            f"note: nerve.threads is {threads} but this machine lets the build use {cpus} "
            "CPUs; the executable uses at most the CPUs of the machine it runs on"
        )
