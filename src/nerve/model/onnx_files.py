"""Which ONNX graph of a model directory to run.

Three layouts are common: nerve's own export (``model.onnx``), optimum's
(``model.onnx``/``model_quantized.onnx`` beside ``config.json``) and transformers.js's
(``onnx/model.onnx``, ``onnx/model_quantized.onnx``, ``onnx/model_q4.onnx``, ... under the
directory holding ``config.json``). A caller names one file or variant; without a name the
most exact graph present wins: float32, then 8-bit, then 4-bit, then float16 variants (last:
ONNX Runtime's CPU provider runs float16 slowly or not at all).
"""

from __future__ import annotations

from pathlib import Path

from ..errors import ModelLoadError

# Default preference, most exact first. Names not listed here still load when named.
PREFERENCE = (
    "model.onnx",
    "model_quantized.onnx",
    "model_int8.onnx",
    "model_uint8.onnx",
    "model_q4.onnx",
    "model_bnb4.onnx",
    "model_q4f16.onnx",
    "model_fp16.onnx",
)
SUBDIRS = ("", "onnx")  # the directory itself, then transformers.js's onnx/


def onnx_variants(model_dir: Path) -> list[str]:
    """Every ``model*.onnx`` in the directory or its ``onnx/``, as relative paths, in the
    default preference order (unlisted names last, alphabetically)."""
    found = [
        (Path(sub) / p.name).as_posix()
        for sub in SUBDIRS
        if (model_dir / sub).is_dir()
        for p in sorted((model_dir / sub).glob("model*.onnx"))
        if p.is_file()
    ]

    def rank(rel: str) -> tuple[int, int, str]:
        name = Path(rel).name
        order = PREFERENCE.index(name) if name in PREFERENCE else len(PREFERENCE)
        return (order, rel.count("/"), rel)

    return sorted(found, key=rank)


def _named(model_dir: Path, onnx_file: str) -> Path | None:
    """``onnx_file`` as a relative path, a file name in a known place, or a variant (``q4``)."""
    names = [onnx_file]
    if not onnx_file.endswith(".onnx"):
        names.append(f"model_{onnx_file}.onnx")
    for name in names:
        for sub in SUBDIRS:
            path = model_dir / sub / name
            if path.is_file() and path.resolve().is_relative_to(model_dir.resolve()):
                return path
    return None


def find_onnx_file(model_dir: Path, onnx_file: str | None = None) -> Path:
    """The graph to run: the one named by ``onnx_file``, else the preferred one present."""
    variants = onnx_variants(model_dir)
    if onnx_file is not None:
        path = _named(model_dir, onnx_file)
        if path is None:
            have = ", ".join(variants) or "none"
            raise ModelLoadError(
                f"{model_dir}: no ONNX graph {onnx_file!r} (--onnx-file takes a file such as "
                f"onnx/model_q4.onnx or a variant such as q4; present: {have})"
            )
        return path
    if not variants:
        raise ModelLoadError(
            f"{model_dir} has no ONNX graph (looked for model*.onnx in it and in onnx/); "
            "create one with `nerve export MODEL OUT`"
        )
    return model_dir / variants[0]
