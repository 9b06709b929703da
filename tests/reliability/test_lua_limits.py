"""A model's Lua transform cannot take the server down: its time and memory limits hold even
inside one C call, the request fails cleanly, and the next one is answered normally.

The two attacks are the issue's: a backtracking ``string.find`` (one C call, so the
instruction hook never fires) and ``Tensor.new(N×1) + Tensor.new(1×N)`` (numpy would
allocate N² floats). The transform runs each only for a batch of a given size, so the same
server also answers ordinary one-text requests.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

pytest.importorskip("lupa")
pytest.importorskip("starlette")
pytest.importorskip("grpc")

from ._serverhard_support import (  # noqa: E402
    ServerProcess,
    model_with_transform,
    start_server,
    tree_rss_bytes,
)

pytestmark = pytest.mark.reliability

TIMEOUT_S = 5.0
MEMORY_MB = 256
MIB = 1024 * 1024
# Two texts in one request: one batch of 2 rows; three texts: 3 rows. The texts of a request
# are identical: the server groups a batch's windows by length into model calls, and windows
# of one length always share a call.
ATTACKS = """
function Postprocess(arr)
  local rows = #arr:sum_axis(3):sum_axis(2)
  if rows == 2 then
    local found = string.find(string.rep("a", 450), ".-.-.-b")
  elseif rows == 3 then
    local n = 20000
    local column, row = {}, {{}}
    for i = 1, n do column[i] = {1}; row[1][i] = 1 end
    local square = Tensor.new(column) + Tensor.new(row)
  end
  return arr
end
"""


@pytest.fixture(scope="module")
def server(
    onnx_model_dir: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ServerProcess]:
    work = tmp_path_factory.mktemp("lua-limits")
    model = model_with_transform(
        onnx_model_dir, work / "model", ATTACKS, timeout_s=TIMEOUT_S, memory_mb=MEMORY_MB
    )
    proc = start_server(model, work, "--threads", "1", "--disable-grpc")
    yield proc
    proc.stop()


def predict(server: ServerProcess, texts: list[str]) -> httpx.Response:
    return httpx.post(server.url + "/predict", json={"inputs": texts}, timeout=60)


def assert_answered_normally(server: ServerProcess) -> None:
    ok = predict(server, ["Paris is in France."])
    assert ok.status_code == 200, ok.text
    assert ok.json()["results"][0]["tokens"]


def test_a_backtracking_pattern_is_stopped_at_the_time_limit(server: ServerProcess) -> None:
    assert_answered_normally(server)
    started = time.monotonic()
    failed = predict(server, ["Paris"] * 2)
    elapsed = time.monotonic() - started
    assert failed.status_code == 500
    message = failed.json()["error"]["message"]
    assert f"ran longer than {TIMEOUT_S:g} s" in message
    assert "nerve.transform_timeout" in message
    assert "Traceback" not in failed.text
    assert elapsed < TIMEOUT_S + 1, f"answered after {elapsed:.1f} s"
    # The worker process was killed; the next call gets a fresh one.
    assert_answered_normally(server)


def test_a_broadcast_to_n_squared_is_refused_before_it_allocates(server: ServerProcess) -> None:
    assert_answered_normally(server)
    baseline = tree_rss_bytes(server.proc.pid)
    peak = baseline
    done = threading.Event()

    def sample() -> None:
        nonlocal peak
        while not done.is_set():
            peak = max(peak, tree_rss_bytes(server.proc.pid))
            time.sleep(0.01)

    sampler = threading.Thread(target=sample)
    sampler.start()
    try:
        failed = predict(server, ["Paris"] * 3)
    finally:
        done.set()
        sampler.join()
    assert failed.status_code == 500
    message = failed.json()["error"]["message"]
    assert f"more than {MEMORY_MB} MiB of tensors" in message
    assert "nerve.transform_memory_mb" in message
    growth = peak - baseline
    assert growth < (MEMORY_MB + 64) * MIB, f"RSS grew by {growth / MIB:.0f} MiB"
    assert_answered_normally(server)


def test_the_failures_are_logged_as_one_line_without_a_traceback(server: ServerProcess) -> None:
    predict(server, ["Paris"] * 3)
    log = server.log()
    assert "the model's transform failed on a request" in log
    assert "Traceback" not in log
