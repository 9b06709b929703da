"""``path:`` given as a mapping of files: gather them into one model directory.

encoderfile lets a config name each file (``model_config_path``, ``model_weights_path``,
``tokenizer_path``, optional ``tokenizer_config_path``) instead of a directory; nerve's
build reads a directory, so the files are copied under their standard names first.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from ..backends.onnx_backend import ONNX_FILES
from .config import ModelFiles
from .errors import BuildError


def gather_files(files: ModelFiles, dest: Path) -> Path:
    """A directory holding ``files`` under the names a model directory uses."""
    for what, path in (
        ("model_config_path", files.config),
        ("model_weights_path", files.weights),
        ("tokenizer_path", files.tokenizer),
        ("tokenizer_config_path", files.tokenizer_config),
    ):
        if path is not None and not path.is_file():
            raise BuildError(f"encoderfile.path.{what}: {path} is not a file")
    dest.mkdir(parents=True)
    shutil.copy2(files.config, dest / "config.json")
    shutil.copy2(files.tokenizer, dest / "tokenizer.json")
    if files.tokenizer_config is not None:
        shutil.copy2(files.tokenizer_config, dest / "tokenizer_config.json")
    weights = files.weights
    if weights.suffix == ".safetensors":
        shutil.copy2(weights, dest / "model.safetensors")
    elif weights.suffix == ".onnx":
        # An ONNX graph over 2 GiB names its weights file inside the graph: keep the names.
        name = weights.name if weights.name in ONNX_FILES else "model.onnx"
        shutil.copy2(weights, dest / name)
        for data in (
            weights.with_name(weights.name + ".data"),
            weights.with_name(weights.name + "_data"),
        ):
            if data.is_file():
                shutil.copy2(data, dest / data.name)
    else:
        raise BuildError(
            f"encoderfile.path.model_weights_path: {weights} is neither an ONNX graph (.onnx) "
            "nor safetensors weights (.safetensors)"
        )
    return dest
