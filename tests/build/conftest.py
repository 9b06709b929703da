"""Fixtures for the build tests: a tiny model as an ONNX export, and config files."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

pytest.importorskip("lupa")

WriteConfig = Callable[..., Path]


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


@pytest.fixture(scope="session")
def runtime_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One runtime executable per test session: compiled (minutes) on first use, then every
    executable build of the session only appends its model to it (seconds)."""
    pytest.importorskip("PyInstaller")
    from nerve.build.runtime import ensure_runtime

    cache = tmp_path_factory.mktemp("nerve-runtime")
    ensure_runtime(cache, say=lambda line: None)
    return cache
