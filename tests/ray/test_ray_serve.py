"""Two Ray Serve replicas of the nerve server (started with ``serve run`` and the config file
from docs/ray.md) answer the real ``baseten-performance-client`` like ``nerve serve``."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
import yaml

from support.ray_cluster import free_port

DOCS = Path(__file__).resolve().parents[2] / "docs" / "ray.md"
STARTUP_SECONDS = 420.0


def docs_serve_config() -> dict:  # type: ignore[type-arg]
    text = DOCS.read_text(encoding="utf-8")
    block = re.search(r"```yaml\n(# serve-config\.yaml.*?)```", text, re.S)
    assert block, "docs/ray.md has no serve-config.yaml block"
    return yaml.safe_load(block.group(1))


def wait_healthy(url: str, proc: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + STARTUP_SECONDS
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"serve run exited:\n{log.read_text()[-4000:]}")
        try:
            if httpx.get(url + "/health", timeout=5).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(1)
    raise AssertionError(f"no healthy replica in {STARTUP_SECONDS} s:\n{log.read_text()[-4000:]}")


def running_replicas() -> int:
    from ray import serve

    status = serve.status().applications["nerve"].deployments["nerve"]
    return int(status.replica_states.get("RUNNING", 0))


def test_two_replicas_answer_the_baseten_client_like_nerve_serve(
    cluster, tiny_model_dir, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    baseten = pytest.importorskip("baseten_performance_client")
    from server.cases import assert_json_close
    from server.procs import start_server

    # A float32 model: both servers merge concurrent requests into batches as they arrive,
    # and only a float32 model gives the same scores whatever the batch (see docs/ray.md).
    model = tiny_model_dir("bert")
    config = docs_serve_config()
    port = free_port()
    config["http_options"] = {"host": "127.0.0.1", "port": port}
    config["applications"][0]["args"]["model"] = str(model)
    config_path = tmp_path / "serve-config.yaml"
    config_path.write_text(yaml.safe_dump(config), encoding="utf-8")
    log = tmp_path / "serve.log"
    with log.open("wb") as fh:
        proc = subprocess.Popen(
            [str(Path(sys.executable).with_name("serve")), "run", str(config_path),
             "--address", cluster.address],
            env=cluster.env, stdout=fh, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
    local = None
    try:
        url = f"http://127.0.0.1:{port}"
        wait_healthy(url, proc, log)
        deadline = time.monotonic() + STARTUP_SECONDS
        while running_replicas() < 2 and time.monotonic() < deadline:
            time.sleep(1)
        assert running_replicas() == 2
        local = start_server(model, tmp_path, "--disable-grpc", "--threads", "1")
        texts = [
            "Angela Merkel met Emmanuel Macron in Paris.",
            "Zürich and Kraków signed a deal with the United Nations.",
            "",
            " ".join(["Barack Obama visited Berlin."] * 120),
        ]
        payloads = [
            {"inputs": [[t]], "aggregation_strategy": s, "truncate": False}
            for t in texts
            for s in ("simple", "first")
        ]
        answers = []
        for base in (url, local.url):
            client = baseten.PerformanceClient(base_url=base, api_key="unused")
            answers.append(client.batch_post(url_path="/predict_tokens", payloads=payloads).data)
        assert_json_close(answers[0], answers[1])
        assert any(e for data in answers[0] for e in data[0])  # entities were found
        for path, body in (
            ("/v1/entities", {"inputs": texts[:2]}),
            ("/predict", {"inputs": texts[:2]}),
        ):
            got = httpx.post(url + path, json=body, timeout=60)
            want = httpx.post(local.url + path, json=body, timeout=60)
            assert got.status_code == want.status_code == 200, got.text
            assert_json_close(got.json(), want.json())
    finally:
        if local is not None:
            local.stop()
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGINT)  # serve run tears the application down
            try:
                proc.wait(timeout=120)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
        from ray import serve

        serve.shutdown()
