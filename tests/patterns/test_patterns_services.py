"""Patterns through `nerve serve` (every route that returns entities), `nerve mcp` (stdio) and
`nerve build` (the patterns file travels in the bundle)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("ahocorasick")
pytest.importorskip("torch")
pytest.importorskip("uvicorn")
pytest.importorskip("grpc")

import httpx

import nerve

from .conftest import RULE, TEXT, check_merged

RULE_START = TEXT.index(RULE[1])
RULE_END = RULE_START + len(RULE[1])


@pytest.fixture(scope="module")
def model(tiny_model_dir: Any) -> Path:
    return Path(tiny_model_dir("bert"))


@pytest.fixture(scope="module")
def module_patterns(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("patterns") / "patterns.jsonl"
    path.write_text('{"label": "ORG", "pattern": "Amazon Web Services", "id": "aws"}\n')
    return path


@pytest.fixture(scope="module")
def ruled_server(
    model: Path, module_patterns: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Any]:
    from server.procs import start_server

    proc = start_server(
        model,
        tmp_path_factory.mktemp("logs"),
        "--threads",
        "1",
        "--disable-grpc",
        "--patterns",
        str(module_patterns),
    )
    yield proc
    assert proc.stop() == 0, proc.log()


def test_v1_entities(ruled_server: Any, model: Path) -> None:
    for strategy in ("simple", "word"):
        body = {"inputs": [TEXT], "aggregation_strategy": strategy}
        got = httpx.post(f"{ruled_server.url}/v1/entities", json=body, timeout=30)
        assert got.status_code == 200, got.text
        plain = nerve.load(model)(TEXT, aggregation_strategy=strategy).to_dict()["entities"]
        check_merged(got.json()["results"][0]["entities"], plain)


def test_predict_tokens_with_and_without_aggregation(ruled_server: Any, model: Path) -> None:
    url = f"{ruled_server.url}/predict_tokens"
    grouped = httpx.post(url, json={"inputs": [[TEXT]], "aggregation_strategy": "first"})
    assert grouped.status_code == 200, grouped.text
    entries = grouped.json()[0]
    assert {"token": RULE[1], "token_id": 0, "start": RULE_START, "end": RULE_END,
            "results": {"ORG": 1.0}} in entries  # fmt: skip
    # Strategy none (the route's default) returns sub-word tokens: patterns do not apply.
    tokens = httpx.post(url, json={"inputs": [[TEXT]]}).json()[0]
    plain = nerve.load(model)(TEXT, aggregation_strategy="none")
    assert [(t["start"], t["end"]) for t in tokens] == [(e.start, e.end) for e in plain.entities]


def test_serve_with_a_bad_patterns_file_exits_with_one_line(model: Path, tmp_path: Path) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"label": "ORG", "pattern": ""}\n')
    proc = subprocess.run(
        [sys.executable, "-m", "nerve.cli.main", "serve", "--model", str(model)]
        + ["--patterns", str(bad), "--http-port", "0", "--grpc-port", "0"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines() == [
        f"nerve serve: error: {bad}:1: 'pattern' must be a non-empty string, got ''"
    ]


def test_mcp_stdio_with_patterns(onnx_model_dir: Path, module_patterns: Path) -> None:
    pytest.importorskip("mcp")
    import anyio
    from mcp import ClientSession, StdioServerParameters, stdio_client

    from nerve.mcp.tool import TOOL_NAME

    params = StdioServerParameters(
        command=sys.executable,
        args=["-m", "nerve.cli.main", "mcp", "--model", str(onnx_model_dir), "--threads", "1"]
        + ["-a", "first", "--patterns", str(module_patterns)],
        env=dict(os.environ),  # the SDK's default environment would drop PYTHONPATH
    )

    async def scenario() -> Any:
        async with stdio_client(params) as (read, write), ClientSession(read, write) as session:
            await session.initialize()
            return await session.call_tool(TOOL_NAME, {"text": TEXT})

    result = anyio.run(scenario)
    assert not result.is_error
    got = [
        (e["label"], e["start"], e["end"])
        for e in result.structured_content["results"][0]["entities"]
    ]
    want = nerve.load(onnx_model_dir, patterns=module_patterns)(TEXT, aggregation_strategy="first")
    assert got == [(e.label, e.start, e.end) for e in want.entities]
    assert (RULE[0], RULE_START, RULE_END) in got


def test_build_carries_the_patterns(
    onnx_model_dir: Path, module_patterns: Path, tmp_path: Path
) -> None:
    pytest.importorskip("lupa")
    import yaml

    from nerve.build import build, load_config
    from nerve.bundle import MANIFEST_FILE, open_bundle
    from nerve.patterns import BUNDLED_FILE

    (tmp_path / "rules.jsonl").write_text(
        '{"label": "ORG", "pattern": "amazon web services", "id": "aws"}\n'
    )
    config = tmp_path / "ner.yml"
    config.write_text(
        yaml.safe_dump(
            {
                "encoderfile": {
                    "name": "ruled",
                    "version": "1.0.0",
                    "path": str(onnx_model_dir),
                    "model_type": "token_classification",
                },
                "nerve": {
                    "patterns": "rules.jsonl",  # relative to the config file
                    "patterns_overlap": "longest",
                    "patterns_ignore_case": True,
                },
            }
        )
    )
    out = tmp_path / "ruled.nerve"
    build(load_config(config), output=out, bundle_only=True, say=lambda _: None)
    with zipfile.ZipFile(out) as archive:
        manifest = json.loads(archive.read(MANIFEST_FILE))
        shipped = archive.read(BUNDLED_FILE).decode()
    assert BUNDLED_FILE in manifest["files"]
    assert manifest["defaults"]["patterns_overlap"] == "longest"
    assert json.loads(shipped) == {
        "label": "ORG",
        "pattern": "amazon web services",
        "id": "aws",
        "ignore_case": True,
    }
    engine = nerve.load(open_bundle(out, cache_dir=tmp_path / "cache"))
    assert engine.patterns is not None and engine.patterns.overlap == "longest"
    found = [e for e in engine(TEXT, aggregation_strategy="first").entities if e.pattern_id]
    assert [(e.label, e.start, e.end) for e in found] == [(RULE[0], RULE_START, RULE_END)]


def test_build_refuses_a_bad_patterns_file(onnx_model_dir: Path, tmp_path: Path) -> None:
    pytest.importorskip("lupa")
    import yaml

    from nerve.build import BuildError, build, load_config

    (tmp_path / "rules.jsonl").write_text('{"label": "ORG", "pattern": "ok"}\n{"label": 3}\n')
    config = tmp_path / "ner.yml"
    config.write_text(
        yaml.safe_dump(
            {
                "encoderfile": {
                    "name": "ruled",
                    "version": "1.0.0",
                    "path": str(onnx_model_dir),
                    "model_type": "token_classification",
                },
                "nerve": {"patterns": "rules.jsonl", "patterns_overlap": "model"},
            }
        )
    )
    with pytest.raises(BuildError, match=r"nerve.patterns: .*rules.jsonl:2: missing 'pattern'"):
        build(load_config(config), output=tmp_path / "x.nerve", bundle_only=True, say=print)
    assert not (tmp_path / "x.nerve").exists()
    config.write_text(config.read_text().replace("overlap: model", "overlap: both"))
    with pytest.raises(BuildError, match="nerve.patterns_overlap 'both' is not one of"):
        load_config(config)
