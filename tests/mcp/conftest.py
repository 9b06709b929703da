"""Fixtures for the MCP tests: the tiny model as an ONNX export and its engine."""

from __future__ import annotations

from pathlib import Path

import pytest

pytest.importorskip("mcp")
pytest.importorskip("uvicorn")
pytest.importorskip("grpc")

import nerve  # noqa: E402


@pytest.fixture(scope="session")
def mcp_model_dir(onnx_model_dir: Path) -> Path:
    """The tiny BERT as an ONNX export: the session's one export (tests/conftest.py)."""
    return onnx_model_dir


@pytest.fixture(scope="session")
def mcp_engine(mcp_model_dir: Path) -> nerve.Engine:
    return nerve.load(mcp_model_dir, backend="onnx", threads=1)
