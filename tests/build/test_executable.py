"""The promise of seed 002: `nerve build` makes ONE file that runs on a machine without the
project's Python. Built once per session (PyInstaller takes about a minute), copied to a
fresh directory and run with an empty environment (`env -i PATH=/usr/bin:/bin HOME=...`):
`infer`, `serve` (HTTP and gRPC) and `mcp` (stdio, MCP SDK client) must answer exactly what
the Python API answers on the same model."""

from __future__ import annotations

import json
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml

pytest.importorskip("PyInstaller")
pytest.importorskip("lupa")
pytest.importorskip("mcp")
pytest.importorskip("grpc")

import nerve
from nerve.build import build, load_config
from nerve.build.runtime import cached_runtime
from nerve.server.wire.encoderfile import predict_json, token_rows

if sys.platform != "linux":  # pragma: no cover - the env -i recipe below is POSIX/Linux
    pytest.skip("the executable test runs on Linux", allow_module_level=True)

TEXTS = [
    "Mozilla is headquartered in San Francisco, CA",
    "Yvon Chouinard founded Patagonia in 1957.",
    "Tim Cook presented the new iPhone at Apple Park in California.",
]
# The executable is 60-100 MB; far more would mean torch or transformers slipped in.
MAX_SIZE_BYTES = 200_000_000


@dataclass(frozen=True)
class Executable:
    path: Path
    home: Path
    build_seconds: float

    def env_command(self, *args: str) -> list[str]:
        """Run with an empty environment: no virtualenv, no PYTHONPATH, nothing inherited."""
        return ["/usr/bin/env", "-i", "PATH=/usr/bin:/bin", f"HOME={self.home}", str(self.path)] + [
            *args
        ]

    def run(self, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            self.env_command(*args),
            cwd=self.home,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )


@pytest.fixture(scope="session")
def executable(
    onnx_model_dir: Path, tmp_path_factory: pytest.TempPathFactory, runtime_cache: Path
) -> Executable:
    work = tmp_path_factory.mktemp("exe-build")
    config = work / "ner-config.yml"
    data = {
        "encoderfile": {
            "name": "ner-tagger",
            "version": "1.0.0",
            "path": str(onnx_model_dir),
            "model_type": "token_classification",
            "output_path": "./build/ner-tagger",
            "transform": "function Postprocess(arr)\n  return arr:softmax(3)\nend\n",
            "cache_dir": str(runtime_cache),
        },
        "nerve": {"aggregation": "simple", "threads": 1},
    }
    config.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    started = time.monotonic()
    lines: list[str] = []
    result = build(load_config(config, cwd=work), say=lines.append)
    seconds = time.monotonic() - started
    assert lines[0] == "Validating model..."
    assert f"Using runtime {cached_runtime(runtime_cache)}" in lines
    assert "Appending the model to the runtime..." in lines
    assert lines[-1] == f"✓ Build complete: {work / 'build' / 'ner-tagger'}"
    # A fresh directory on "another machine": only the one file is copied there.
    fresh = tmp_path_factory.mktemp("exe-fresh")
    target = fresh / "ner-tagger"
    shutil.copy2(result.path, target)
    return Executable(target, fresh, seconds)


@pytest.fixture(scope="session")
def reference(onnx_model_dir: Path) -> nerve.Engine:
    return nerve.load(onnx_model_dir, backend="onnx", model_id="ner-tagger")


def test_one_small_file_that_starts_without_python(executable: Executable) -> None:
    size = executable.path.stat().st_size
    assert size < MAX_SIZE_BYTES
    started = time.monotonic()
    done = executable.run("--version")
    cold = time.monotonic() - started
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == f"ner-tagger 1.0.0 (nerve {nerve.__version__})"
    # Reported, not asserted: a shared 2-core CI box makes timings noisy.
    print(
        f"\nexecutable: {size / 1e6:.1f} MB, built in {executable.build_seconds:.0f} s, "
        f"cold start (--version) {cold:.2f} s"
    )


def _predict_reference(engine: nerve.Engine, texts: list[str]) -> dict[str, Any]:
    results = engine(texts, aggregation_strategy="none", ignore_labels=[], raw_scores=True)
    return predict_json([token_rows(r) for r in results], "ner-tagger", None)


def assert_same_predict(got: dict[str, Any], want: dict[str, Any]) -> None:
    assert got["model_id"] == want["model_id"]
    rows = [t for r in got["results"] for t in r["tokens"]]
    expected = [t for r in want["results"] for t in r["tokens"]]
    assert [(t["token_info"], t["label"]) for t in rows] == [
        (t["token_info"], t["label"]) for t in expected
    ]
    np.testing.assert_allclose(
        [t["scores"] for t in rows], [t["scores"] for t in expected], atol=1e-5
    )


def test_infer(executable: Executable, reference: nerve.Engine) -> None:
    done = executable.run("infer", *TEXTS)
    assert done.returncode == 0, done.stderr
    assert_same_predict(json.loads(done.stdout), _predict_reference(reference, TEXTS))

    done = executable.run("infer", *TEXTS, "-f", "entities", "-o", "results.json")
    assert done.returncode == 0, done.stderr
    got = json.loads((executable.home / "results.json").read_text(encoding="utf-8"))
    want = [r.to_dict() for r in reference(TEXTS, aggregation_strategy="simple")]
    assert [[(e["label"], e["start"], e["end"]) for e in r["entities"]] for r in got] == [
        [(e["label"], e["start"], e["end"]) for e in r["entities"]] for r in want
    ]
    np.testing.assert_allclose(
        [e["score"] for r in got for e in r["entities"]],
        [e["score"] for r in want for e in r["entities"]],
        atol=1e-5,
    )


def test_inspect(executable: Executable) -> None:
    done = executable.run("inspect", "--verify")
    assert done.returncode == 0, done.stderr
    info = json.loads(done.stdout)
    assert info["name"] == "ner-tagger"
    assert info["transform"]["output"] == "probabilities"
    assert info["id2label"]["0"] == "O"
    assert info["verified"] is True


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def served(executable: Executable) -> Iterator[tuple[str, str]]:
    """``serve`` on loopback ports: yields (HTTP base URL, gRPC address)."""
    import httpx

    http_port, grpc_port = _free_port(), _free_port()
    log = executable.home / f"serve-{http_port}.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            executable.env_command(
                "serve",
                "--http-hostname",
                "127.0.0.1",
                "--http-port",
                str(http_port),
                "--grpc-port",
                str(grpc_port),
            ),
            cwd=executable.home,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{http_port}"
    deadline = time.monotonic() + 90
    while True:
        assert proc.poll() is None, log.read_text(errors="replace")
        try:
            if httpx.get(url + "/health", timeout=2).status_code == 200:
                break
        except httpx.HTTPError:
            pass
        assert time.monotonic() < deadline, log.read_text(errors="replace")
        time.sleep(0.2)
    try:
        yield url, f"127.0.0.1:{grpc_port}"
    finally:
        proc.send_signal(signal.SIGTERM)
        code = proc.wait(timeout=60)
    assert code == 0, log.read_text(errors="replace")
    assert "Model: ner-tagger v1.0.0" in log.read_text(errors="replace")


def test_serve_http_and_grpc(served: tuple[str, str], reference: nerve.Engine) -> None:
    import grpc
    import httpx

    from nerve.server.proto import (
        metadata_pb2,
        token_classification_pb2,
        token_classification_pb2_grpc,
    )

    url, address = served
    want = _predict_reference(reference, TEXTS)
    got = httpx.post(url + "/predict", json={"inputs": TEXTS}, timeout=30)
    assert got.status_code == 200, got.text
    assert_same_predict(got.json(), want)
    model = httpx.get(url + "/model", timeout=10).json()
    assert model["model_id"] == "ner-tagger" and model["id2label"]["3"] == "B-PER"
    # The web page and its icon are data files: bundled with the executable too.
    page = httpx.get(url + "/", timeout=10)
    assert page.status_code == 200 and "text/html" in page.headers["content-type"]
    assert "<html" in page.text.lower()
    icon = httpx.get(url + "/favicon.svg", timeout=10)
    assert icon.status_code == 200 and icon.text.lstrip().startswith("<svg")

    with grpc.insecure_channel(address) as channel:
        stub = token_classification_pb2_grpc.TokenClassificationInferenceStub(channel)
        reply = stub.Predict(
            token_classification_pb2.TokenClassificationRequest(inputs=TEXTS), timeout=30
        )
        meta = stub.GetModelMetadata(metadata_pb2.GetModelMetadataRequest(), timeout=30)
    as_json = {
        "model_id": reply.model_id,
        "results": [
            {
                "tokens": [
                    {
                        "token_info": {
                            "token": t.token_info.token,
                            "token_id": t.token_info.token_id,
                            "start": t.token_info.start,
                            "end": t.token_info.end,
                        },
                        "scores": list(t.scores),
                        "label": t.label,
                    }
                    for t in r.tokens
                ]
            }
            for r in reply.results
        ],
    }
    assert_same_predict(as_json, want)
    assert meta.model_id == "ner-tagger"
    assert dict(meta.id2label)[3] == "B-PER"


def test_mcp_over_stdio(executable: Executable, reference: nerve.Engine) -> None:
    import anyio
    from mcp import ClientSession, StdioServerParameters, stdio_client

    command = executable.env_command("mcp", "--transport", "stdio")
    params = StdioServerParameters(command=command[0], args=command[1:], cwd=executable.home)

    async def scenario() -> Any:
        async with (
            stdio_client(params) as (read, write),
            ClientSession(read, write) as session,
        ):
            await session.initialize()
            return await session.call_tool(
                "extract_entities", {"texts": TEXTS, "aggregation_strategy": "max"}
            )

    result = anyio.run(scenario)
    assert not result.is_error, result.content
    got = result.structured_content["results"]
    want = reference(TEXTS, aggregation_strategy="max")
    assert [
        [(e["label"], e["text"], e["start"], e["end"]) for e in r["entities"]] for r in got
    ] == [[(e.label, r.text[e.start : e.end], e.start, e.end) for e in r.entities] for r in want]
    np.testing.assert_allclose(
        [e["score"] for r in got for e in r["entities"]],
        [e.score for r in want for e in r.entities],
        atol=1e-5,
    )


def test_two_models_build_in_seconds_and_both_answer(
    runtime_cache: Path,
    onnx_model_dir: Path,
    tiny_model_dir: Any,
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    """With the runtime compiled once (the session's), a model build only appends the model:
    two different models' executables in a row, the second within the issue's 10 s bound,
    each answering as the Python API from a fresh directory under `env -i`."""
    from nerve.export import export_onnx

    work = tmp_path_factory.mktemp("two-builds")
    roberta = work / "roberta-onnx"
    export_onnx(tiny_model_dir("roberta"), roberta)  # a second model: other arch, tokenizer
    texts = TEXTS[:2]
    built: list[tuple[Executable, nerve.Engine]] = []
    seconds: list[float] = []
    for name, model in (("first-model", onnx_model_dir), ("second-model", roberta)):
        config = work / f"{name}.yml"
        data = {
            "encoderfile": {
                "name": name,
                "path": str(model),
                "model_type": "token_classification",
                "output_path": f"./{name}",
                "cache_dir": str(runtime_cache),
            }
        }
        config.write_text(yaml.safe_dump(data), encoding="utf-8")
        started = time.monotonic()
        result = build(load_config(config, cwd=work), say=lambda line: None)
        seconds.append(time.monotonic() - started)
        fresh = tmp_path_factory.mktemp(f"fresh-{name}")
        shutil.copy2(result.path, fresh / name)
        reference = nerve.load(model, backend="onnx", model_id=name)
        built.append((Executable(fresh / name, fresh, seconds[-1]), reference))
    print(f"\nmodel builds with a cached runtime: {seconds[0]:.1f} s, {seconds[1]:.1f} s")
    assert seconds[1] <= 10.0, f"the second build took {seconds[1]:.1f} s"
    for (exe, reference), name in zip(built, ("first-model", "second-model"), strict=True):
        done = exe.run("infer", *texts)
        assert done.returncode == 0, done.stderr
        want = predict_json(
            [
                token_rows(r, reference.vocabulary_piece)
                for r in reference(
                    texts, aggregation_strategy="none", ignore_labels=[], raw_scores=True
                )
            ],
            name,
            None,
        )
        assert_same_predict(json.loads(done.stdout), want)
