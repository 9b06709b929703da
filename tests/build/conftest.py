"""Fixtures for the build tests: a tiny model as an ONNX export, and config files."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

pytest.importorskip("lupa")

WriteConfig = Callable[..., Path]


@pytest.fixture(scope="session")
def onnx_model_dir(
    tiny_model_dir: Callable[[str], Path], tmp_path_factory: pytest.TempPathFactory
) -> Path:
    """The tiny BERT exported to ONNX (what a build ships)."""
    from nerve.export import export_onnx

    out = tmp_path_factory.mktemp("onnx") / "tiny-bert-onnx"
    export_onnx(tiny_model_dir("bert"), out)
    return out


@pytest.fixture
def write_config(tmp_path: Path, onnx_model_dir: Path) -> WriteConfig:
    """``write_config(encoderfile overrides, nerve=...)`` → path of a YAML build config."""

    def write(nerve: dict[str, Any] | None = None, **encoderfile: Any) -> Path:
        section: dict[str, Any] = {
            "name": "ner-tagger",
            "version": "1.0.0",
            "path": str(onnx_model_dir),
            "model_type": "token_classification",
        }
        section.update(encoderfile)
        data: dict[str, Any] = {"encoderfile": {k: v for k, v in section.items() if v is not None}}
        if nerve is not None:
            data["nerve"] = nerve
        path = tmp_path / "ner-config.yml"
        path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
        return path

    return write
