"""A CC BY model keeps its attribution: ``nerve export`` and ``nerve build`` carry the model's
LICENSE, README (model card) and NOTICE files into what they write, byte for byte."""

from __future__ import annotations

import shutil
import zipfile
from collections.abc import Callable
from pathlib import Path

import pytest

from nerve.bundle import MANIFEST_FILE, open_bundle
from nerve.cli.main import main
from nerve.io.companions import companion_files

pytest.importorskip("onnx")

WriteConfig = Callable[..., Path]
ATTRIBUTION = {
    "LICENSE": "Copyright 2026 Example Lab\n\nCreative Commons Attribution 4.0 International\n",
    "README.md": "---\nlicense: cc-by-4.0\n---\n# Tiny tagger\nCite: Example Lab (2026).\n",
    "NOTICE": "This model was trained by Example Lab; keep this notice.\n",
}


def cc_by(model_dir: Path, dest: Path) -> Path:
    """A copy of ``model_dir`` with a CC BY license, a model card and a notice."""
    shutil.copytree(model_dir, dest)
    for name, text in ATTRIBUTION.items():
        (dest / name).write_text(text, encoding="utf-8")
    return dest


def assert_attributed(out: Path) -> None:
    for name, text in ATTRIBUTION.items():
        assert (out / name).read_text(encoding="utf-8") == text, name


def test_companions_are_the_license_card_and_notice_only(tmp_path: Path) -> None:
    for name in [*ATTRIBUTION, "LICENCE.txt", "model_card.md", "config.json", "vocab.txt"]:
        (tmp_path / name).write_text("x")
    found = [p.name for p in companion_files(tmp_path)]
    assert found == ["LICENCE.txt", "LICENSE", "NOTICE", "README.md", "model_card.md"]


def test_export_carries_attribution(tiny_model_dir: object, tmp_path: Path) -> None:
    src = cc_by(tiny_model_dir("bert"), tmp_path / "cc-by")  # type: ignore[operator]
    out = tmp_path / "onnx"
    assert main(["export", str(src), str(out), "--quantize", "int8"]) == 0
    assert_attributed(out)


@pytest.mark.parametrize("source", ["onnx", "safetensors"])
def test_build_carries_attribution(
    source: str,
    write_config: WriteConfig,
    onnx_model_dir: Path,
    tiny_model_dir: object,
    tmp_path: Path,
) -> None:
    origin = onnx_model_dir if source == "onnx" else tiny_model_dir("bert")  # type: ignore[operator]
    src = cc_by(origin, tmp_path / "cc-by")
    out = tmp_path / "m.nerve"
    assert (
        main(["build", "-f", str(write_config(path=str(src))), "-o", str(out), "--bundle-only"])
        == 0
    )
    with zipfile.ZipFile(out) as archive:
        assert set(ATTRIBUTION) <= set(archive.namelist()) and MANIFEST_FILE in archive.namelist()
    assert_attributed(open_bundle(out, cache_dir=tmp_path / "cache"))
