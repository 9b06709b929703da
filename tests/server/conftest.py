"""Fixtures for the server tests: one tiny BERT model and one shared real server process."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

TESTS_DIR = Path(__file__).resolve().parents[1]
if str(TESTS_DIR) not in sys.path:
    sys.path.insert(0, str(TESTS_DIR))

pytest.importorskip("starlette")
pytest.importorskip("uvicorn")
pytest.importorskip("grpc")

import nerve  # noqa: E402
from nerve.engine.core import Engine  # noqa: E402
from support.tiny_models import make_model  # noqa: E402

from .procs import ServerProcess, start_server  # noqa: E402

# Limits of the shared server, small enough that tests can exceed them cheaply.
MAX_CLIENT_BATCH = 16
MAX_INPUT_CHARS = 20_000
MAX_BODY_BYTES = 512 * 1024


@pytest.fixture(scope="session")
def model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny seeded BERT (64-token window, dslim's 9 labels), built once per session."""
    return make_model(tmp_path_factory.mktemp("server-model") / "tiny-bert", "bert")


@pytest.fixture(scope="session")
def engine(model_dir: Path) -> Engine:
    """The same model through the Python API: the reference every server answer must match."""
    return nerve.load(model_dir)


@pytest.fixture(scope="session")
def server(model_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    proc = start_server(
        model_dir,
        tmp_path_factory.mktemp("server-logs"),
        # One model thread: on a 2-core machine the event loop, the tokenizer pool and the
        # tests' own clients need the other core, and OpenMP threads that lose their core
        # to them stall every batch (measured: p90 forward 0.5 ms -> 100 ms).
        "--threads",
        "1",
        "--max-client-batch-size",
        str(MAX_CLIENT_BATCH),
        "--max-input-chars",
        str(MAX_INPUT_CHARS),
        "--max-body-bytes",
        str(MAX_BODY_BYTES),
    )
    yield proc
    code = proc.stop()
    assert code == 0, proc.log()
