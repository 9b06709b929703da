"""Validate the config's model directory and stage the ONNX model directory a build ships.

A build always ships ONNX (the executable carries ONNX Runtime, never torch): an ONNX export
is copied, HF safetensors weights are exported on the way (needs the ``export`` extra). The
staged directory is then loaded with nerve's ONNX backend and run on probe texts, the
transform (if any) is compiled and run on real logits, and ``nerve_bundle.json`` records
everything with the SHA-256 of every file. Nothing here writes outside ``staging``.
"""

from __future__ import annotations

import dataclasses
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .. import __version__
from ..backends.onnx_backend import ONNX_FILES
from ..bundle.manifest import MANIFEST_FILE, Manifest, TransformSpec, hash_files, write_manifest
from ..engine.batching import pad_rows
from ..engine.core import Engine
from ..errors import NerveError
from ..io.companions import copy_companions
from .config import BuildConfig
from .errors import BuildError
from .sources import gather_files
from .tokenizer import apply_tokenizer_settings

REQUIRED_FILES = ("config.json", "tokenizer.json")
# Copied from an ONNX directory when present; the runtime reads nothing else.
COMPANION_FILES = (
    "config.json",
    "tokenizer.json",
    "tokenizer_config.json",
    "special_tokens_map.json",
    "added_tokens.json",
    "nerve_export.json",
)
# Probes: the seed's sentences plus a one-word text, so the batch has real padding.
PROBE_TEXTS = (
    "Mozilla is headquartered in San Francisco, CA",
    "Yvon Chouinard founded Patagonia in 1957.",
    "Paris",
)

Say = Callable[[str], None]


@dataclass(frozen=True)
class StagedModel:
    dir: Path
    manifest: Manifest
    labels: tuple[str, ...]
    source_kind: str  # "onnx" | "safetensors"


def source_kind(path: Path) -> str:
    """``onnx`` or ``safetensors``; a clear error for anything a build cannot use."""
    if not path.exists():
        raise BuildError(f"model directory {path} does not exist (encoderfile.path)")
    if not path.is_dir():
        raise BuildError(f"{path} is not a directory (encoderfile.path)")
    missing = [name for name in REQUIRED_FILES if not (path / name).is_file()]
    if missing:
        raise BuildError(
            f"model directory {path} is missing {', '.join(missing)} (a build needs "
            "config.json, tokenizer.json and model.onnx or model.safetensors)"
        )
    if any((path / name).is_file() for name in ONNX_FILES):
        return "onnx"
    if (path / "model.safetensors").is_file():
        return "safetensors"
    raise BuildError(
        f"model directory {path} has no weights: expected model.onnx (an ONNX export) or "
        "model.safetensors (a Hugging Face model, exported to ONNX by the build)"
    )


def stage_model(config: BuildConfig, staging: Path, say: Say) -> StagedModel:
    if config.files is not None:
        # `path:` as a mapping of files: one directory, then the same steps as for a folder.
        config = dataclasses.replace(config, path=gather_files(config.files, staging / "source"))
    kind = source_kind(config.path)
    out = staging / "model"
    if kind == "safetensors":
        say("Exporting to ONNX...")
        _export(config, out)
    else:
        _copy_onnx(config.path, out, config.nerve.precision)
    apply_tokenizer_settings(config.tokenizer, out, say)
    engine = _load(out, config)
    precision = _check_precision(engine, config)
    transform = None
    if config.transform is not None:
        say("Checking transform..." if config.validate_transform else "Compiling transform...")
        transform = resolve_transform(config, engine, say)
    if config.nerve.patterns is not None:
        say("Checking patterns...")
        _stage_patterns(config, out)
    files = [p.name for p in sorted(out.iterdir()) if p.is_file() and p.name != MANIFEST_FILE]
    manifest = Manifest(
        name=config.name,
        version=config.version,
        files=hash_files(out, files),
        precision=precision,
        transform=transform,
        defaults=_defaults(config),
        nerve_version=__version__,
    )
    write_manifest(out, manifest)
    staged = StagedModel(out, manifest, engine.labels, kind)
    check_staged(staged, strict=config.validate_transform, say=say)
    return staged


def _export(config: BuildConfig, out: Path) -> None:
    from ..export import export_onnx

    quantize = "int8" if config.nerve.precision == "int8" else None
    try:
        export_onnx(config.path, out, quantize=quantize)
    except NerveError as exc:
        raise BuildError(f"exporting {config.path} to ONNX failed: {exc.message}") from None


def _copy_onnx(src: Path, out: Path, precision: str | None) -> None:
    graph = _pick_graph(src, precision)
    out.mkdir(parents=True)
    names = [graph.name, *COMPANION_FILES]
    # A graph over 2 GiB keeps its weights next to it (nerve: .data, optimum: _data).
    names += [graph.name + ".data", graph.name + "_data"]
    for name in names:
        if (src / name).is_file():
            shutil.copy2(src / name, out / name)
    copy_companions(src, out)  # LICENSE, README, NOTICE: a CC BY model keeps its attribution


def _pick_graph(src: Path, precision: str | None) -> Path:
    quantized = src / "model_quantized.onnx"
    if precision == "int8" and quantized.is_file():
        return quantized
    return next(src / name for name in ONNX_FILES if (src / name).is_file())


def _load(model_dir: Path, config: BuildConfig) -> Engine:
    from ..loader import load

    try:
        return load(model_dir, backend="onnx", threads=1, model_id=config.name)
    except NerveError as exc:
        raise BuildError(f"the model in {config.path} cannot be loaded: {exc.message}") from None


def _check_precision(engine: Engine, config: BuildConfig) -> str:
    actual = "int8" if engine.backend.dtype == "int8" else "float32"
    wanted = config.nerve.precision
    if wanted is not None and wanted != actual:
        raise BuildError(
            f"nerve.precision is {wanted} but the ONNX graph in {config.path} is {actual}; "
            "point encoderfile.path at the safetensors model (the build exports it at the "
            "wanted precision) or at a matching ONNX export (`nerve export --quantize int8`)"
        )
    return actual


def probe_batch(engine: Engine) -> tuple[np.ndarray, np.ndarray]:
    """Padded (ids, mask) of the probe texts, as the engine would batch them."""
    rows = [t.ids for t in engine.encode(list(PROBE_TEXTS), truncate=True)]
    return pad_rows(rows, engine.spec.encoder.pad_token_id)


def resolve_transform(config: BuildConfig, engine: Engine, say: Say = print) -> TransformSpec:
    """Compile the transform, run it on the model's real logits, settle its output kind.

    With ``validate_transform: false`` (encoderfile's switch) only compiling must succeed: a
    failing probe run is a notice, and the output kind falls back to ``logits`` unless
    ``nerve.transform_output`` names it.
    """
    from ..transform import TransformError, is_distribution
    from ..transform.backend import compile_transform

    opts = config.nerve
    where = f"{config.source}: encoderfile.transform"
    draft = TransformSpec(
        lua=config.transform or "",
        output="logits",
        timeout_s=opts.transform_timeout,
        memory_mb=opts.transform_memory_mb,
        lua_libs=None if config.lua_libs is None else list(config.lua_libs),
    )
    ids, mask = probe_batch(engine)
    try:
        transform = compile_transform(draft)
    except TransformError as exc:
        raise BuildError(f"{where}: {exc.message}") from None
    try:
        values = transform(engine.backend.forward(ids, mask))
    except TransformError as exc:
        if config.validate_transform:
            raise BuildError(f"{where}: {exc.message}") from None
        output = "logits" if opts.transform_output == "auto" else opts.transform_output
        say(
            f"note: validate_transform is false: the transform fails on the probe texts "
            f"({exc.message}); building anyway, its output read as {output}"
        )
        return dataclasses.replace(draft, output=output)
    probabilities = is_distribution(values, mask)
    output = opts.transform_output
    if output == "auto":
        output = "probabilities" if probabilities else "logits"
    elif output == "probabilities" and not probabilities:
        raise BuildError(
            f"{where}: nerve.transform_output is probabilities, but on the probe texts the "
            "transform's rows are not probability distributions (non-negative, summing to 1)"
        )
    return dataclasses.replace(draft, output=output)


def check_staged(staged: StagedModel, *, strict: bool = True, say: Say = print) -> None:
    """Load the staged directory exactly as the executable will and run the probe texts.

    ``strict=False`` (``validate_transform: false``): a failing run is a notice, not an error.
    """
    from ..standalone.engine import load_embedded

    try:
        engine = load_embedded(staged.dir, threads=1)
        engine(list(PROBE_TEXTS))
    except NerveError as exc:
        if strict:
            raise BuildError(f"the staged model fails on a probe text: {exc.message}") from None
        say(
            "note: validate_transform is false; the built model fails on a probe text: "
            f"{exc.message}"
        )


def _stage_patterns(config: BuildConfig, out: Path) -> None:
    """Read and check the patterns now (a bad line fails the build, not the executable) and
    ship them in the model directory, where every loader of a built model finds them."""
    from ..patterns import Patterns
    from ..patterns.bundled import write_bundled

    assert config.nerve.patterns is not None
    try:
        patterns = Patterns.from_jsonl(
            config.nerve.patterns,
            overlap=config.nerve.patterns_overlap,
            ignore_case=config.nerve.patterns_ignore_case,
        )
    except NerveError as exc:
        raise BuildError(f"nerve.patterns: {exc.message}") from None
    write_bundled(patterns, out)


def _defaults(config: BuildConfig) -> dict[str, object]:
    defaults: dict[str, object] = {"aggregation": config.nerve.aggregation}
    if config.nerve.patterns is not None:
        from ..patterns.bundled import OVERLAP_DEFAULT_KEY

        defaults[OVERLAP_DEFAULT_KEY] = config.nerve.patterns_overlap
    if config.nerve.threads is not None:
        defaults["threads"] = config.nerve.threads
    defaults.update(config.nerve.limits)
    return defaults
