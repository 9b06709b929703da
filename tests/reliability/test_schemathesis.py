"""schemathesis, with all its checks, over ``/openapi.json`` of a real ``nerve serve``: every
request valid by the document is accepted, every invalid one refused with a 4xx, every answer
matches its documented status and schema, no 500.

CI runs a bounded number of examples per operation; ``NERVE_RELIABILITY=full`` runs the
full one (schemathesis' default number of examples and every phase). The command, from the
repo root, with the venv active:

    NERVE_RELIABILITY=full python -m pytest tests/reliability/test_schemathesis.py
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

pytest.importorskip("schemathesis")
pytest.importorskip("starlette")

from ._serverhard_support import ServerProcess, start_server  # noqa: E402

pytestmark = pytest.mark.reliability

FULL = os.environ.get("NERVE_RELIABILITY", "").strip().lower() == "full"
EXAMPLES = 100 if FULL else 12  # per operation and phase
HOOKS = Path(__file__).with_name("_serverhard_schemathesis_hooks.py")
# 413 is a refusal (the body is too large for the server's limits), as much as 422 is.
# /predict_tokens counts the texts of all its batches together against the limit, which JSON
# Schema cannot say (the document bounds each level): a request valid by the document can
# hold too many texts in all, and then gets its 413.
CONFIG = """
[checks.negative_data_rejection]
expected-statuses = ["400", "401", "403", "404", "405", "406", "409", "413", "415", "422",
                     "428", "429", "5xx"]

[[operations]]
include-path = "/predict_tokens"
checks.positive_data_acceptance.expected-statuses = ["2xx", "401", "403", "404", "409", "413",
                                                     "429", "5xx"]
"""


@pytest.fixture(scope="module")
def server(
    onnx_model_dir: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ServerProcess]:
    proc = start_server(
        onnx_model_dir,
        tmp_path_factory.mktemp("schemathesis"),
        "--threads",
        "1",
        "--disable-grpc",
        # Small limits keep generated requests cheap; the document carries them.
        "--max-client-batch-size",
        "4",
        "--max-input-chars",
        "1000",
    )
    yield proc
    proc.stop()


def test_schemathesis_finds_no_failure(server: ServerProcess, tmp_path: Path) -> None:
    document = tmp_path / "openapi.json"
    document.write_bytes(httpx.get(server.url + "/openapi.json", timeout=30).content)
    config = tmp_path / "schemathesis.toml"
    config.write_text(CONFIG, encoding="utf-8")
    st = shutil.which("schemathesis")
    assert st is not None, "the schemathesis command is missing (dev extra)"
    command = [st, "--config-file", str(config), "run", server.url + "/openapi.json"]
    command += ["--checks", "all", "--max-examples", str(EXAMPLES), "--seed", "17"]
    command += ["--request-timeout", "30", "--no-color"]
    env = {**os.environ, "SCHEMATHESIS_HOOKS": str(HOOKS), "NERVE_OPENAPI_DOCUMENT": str(document)}
    done = subprocess.run(
        command,
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,  # its cache directory (.schemathesis/) stays out of the repo
        timeout=1800 if FULL else 600,
    )
    report = done.stdout[-15000:] + done.stderr[-3000:]
    assert done.returncode == 0, report
    assert "Traceback" not in server.log()
    assert server.healthy()
