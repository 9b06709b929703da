"""A model's license, model card and notice files, which travel with its weights.

A CC BY model must keep its attribution wherever it is copied, so every command that writes a
model directory from another (``nerve export``, ``nerve build``, the ONNX → safetensors
conversion) carries these files along unchanged.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

# LICENSE, LICENSE.txt, LICENCE.md, COPYING, NOTICE, README.md, MODEL_CARD.md, CITATION.cff,
# ATTRIBUTION..., in any case.
_COMPANION = re.compile(
    r"(licen[cs]e|copying|notice|readme|model_?card|citation|attribution)([._-].*)?",
    re.IGNORECASE,
)


def companion_files(model_dir: Path) -> list[Path]:
    """The license / model card / notice files at the top of ``model_dir``, sorted by name."""
    return sorted(p for p in model_dir.iterdir() if p.is_file() and _COMPANION.fullmatch(p.name))


def copy_companions(model_dir: Path, out_dir: Path) -> list[str]:
    """Copy them into ``out_dir`` (never over a file already there); the names copied."""
    copied = []
    for path in companion_files(model_dir):
        if not (out_dir / path.name).exists():
            shutil.copy2(path, out_dir / path.name)
            copied.append(path.name)
    return copied
