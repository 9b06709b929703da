"""Shared fixtures: tiny seeded random models built once per session (never downloaded)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from support.tiny_models import ARCHS  # noqa: E402


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    """``tiny_model_dir(arch)`` → path of a tiny model of that architecture (cached)."""
    pytest.importorskip("torch")
    pytest.importorskip("transformers")
    from support.tiny_models import make_model

    cache: dict[str, Path] = {}

    def build(arch: str = "bert") -> Path:
        if arch not in cache:
            cache[arch] = make_model(tmp_path_factory.mktemp(f"tiny-{arch}") / arch, arch)
        return cache[arch]

    return build


@pytest.fixture(scope="session")
def onnx_model_dir(tiny_model_dir, tmp_path_factory: pytest.TempPathFactory) -> Path:  # type: ignore[no-untyped-def]
    """The tiny BERT exported to ONNX (what a build ships and the MCP tests serve)."""
    pytest.importorskip("onnx")
    from nerve.export import export_onnx

    out = tmp_path_factory.mktemp("onnx") / "tiny-bert-onnx"
    export_onnx(tiny_model_dir("bert"), out)
    return out


__all__ = ["ARCHS"]


@pytest.fixture(scope="session")
def family_model_dir(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    """``family_model_dir(name)`` → a tiny DeBERTa / ModernBERT model of config ``name``
    (a key of ``support.tiny_families.FAMILY_CONFIGS``), built once per session."""
    pytest.importorskip("torch")
    pytest.importorskip("transformers")
    from support.tiny_families import make_family_model

    cache: dict[str, Path] = {}

    def build(name: str) -> Path:
        if name not in cache:
            cache[name] = make_family_model(tmp_path_factory.mktemp(f"tiny-{name}") / name, name)
        return cache[name]

    return build
