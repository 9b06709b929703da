"""Fixtures for the MCP tests: the tiny model as an ONNX export and its engine."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

pytest.importorskip("mcp")
pytest.importorskip("uvicorn")
pytest.importorskip("grpc")

import nerve  # noqa: E402


@pytest.fixture(scope="session")
def mcp_model_dir(
    tiny_model_dir: Callable[[str], Path], tmp_path_factory: pytest.TempPathFactory
) -> Path:
    from nerve.export import export_onnx

    out = tmp_path_factory.mktemp("mcp-onnx") / "tiny-bert"
    export_onnx(tiny_model_dir("bert"), out)
    return out


@pytest.fixture(scope="session")
def mcp_engine(mcp_model_dir: Path) -> nerve.Engine:
    return nerve.load(mcp_model_dir, backend="onnx", threads=1)
