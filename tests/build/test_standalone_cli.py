"""The executable's command line, run in-process on a built model directory (the same code
the PyInstaller executable runs, minus the freezing)."""

from __future__ import annotations

import argparse
import dataclasses
import json
import shutil
import sys
from pathlib import Path

import numpy as np
import pytest
import yaml

pytest.importorskip("lupa")
pytest.importorskip("grpc")

import nerve
from nerve.build import build, load_config
from nerve.bundle import open_bundle, read_manifest, write_manifest
from nerve.server.wire.encoderfile import predict_json, token_rows
from nerve.standalone.embedded import open_embedded
from nerve.standalone.main import main
from nerve.standalone.serve_verb import server_config

TEXTS = ["Mozilla is headquartered in San Francisco, CA", "Yvon Chouinard founded Patagonia."]


@pytest.fixture(scope="module")
def built_dir(onnx_model_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A build's model directory: aggregation 'first', a client batch limit, a transform."""
    work = tmp_path_factory.mktemp("standalone")
    config = work / "ner-config.yml"
    data = {
        "encoderfile": {
            "name": "ner-tagger",
            "version": "1.0.0",
            "path": str(onnx_model_dir),
            "model_type": "token_classification",
            "transform": "function Postprocess(arr) return arr:softmax(3) end",
        },
        "nerve": {"aggregation": "first", "limits": {"max_client_batch_size": 8}},
    }
    config.write_text(yaml.safe_dump(data), encoding="utf-8")
    out = build(load_config(config), output=work / "m.nerve", bundle_only=True, say=lambda _: None)
    return open_bundle(out.path, cache_dir=work / "cache")


@pytest.fixture(scope="module")
def reference(onnx_model_dir: Path) -> nerve.Engine:
    return nerve.load(onnx_model_dir, backend="onnx", model_id="ner-tagger")


def test_version(built_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as done:
        main(["--version"], model_dir=built_dir)
    assert done.value.code == 0
    assert capsys.readouterr().out.strip() == f"ner-tagger 1.0.0 (nerve {nerve.__version__})"


def test_infer_writes_encoderfiles_predict_response(
    built_dir: Path, reference: nerve.Engine, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["infer", *TEXTS], model_dir=built_dir) == 0
    got = json.loads(capsys.readouterr().out)
    results = reference(TEXTS, aggregation_strategy="none", ignore_labels=[], raw_scores=True)
    want = predict_json([token_rows(r) for r in results], "ner-tagger", None)
    assert [t["token_info"] for r in got["results"] for t in r["tokens"]] == [
        t["token_info"] for r in want["results"] for t in r["tokens"]
    ]
    got_scores = [t["scores"] for r in got["results"] for t in r["tokens"]]
    want_scores = [t["scores"] for r in want["results"] for t in r["tokens"]]
    np.testing.assert_allclose(got_scores, want_scores, atol=1e-6)
    assert got["model_id"] == "ner-tagger"


def test_infer_entities_use_the_builds_aggregation(
    built_dir: Path, reference: nerve.Engine, tmp_path: Path
) -> None:
    out = tmp_path / "results.json"
    assert main(["infer", *TEXTS, "-f", "entities", "-o", str(out)], model_dir=built_dir) == 0
    got = json.loads(out.read_text(encoding="utf-8"))
    want = [r.to_dict() for r in reference(TEXTS, aggregation_strategy="first")]
    assert [[(e["label"], e["start"], e["end"]) for e in r["entities"]] for r in got] == [
        [(e["label"], e["start"], e["end"]) for e in r["entities"]] for r in want
    ]


def test_inspect_shows_config_and_labels(
    built_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["inspect", "--verify"], model_dir=built_dir) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["name"] == "ner-tagger" and info["version"] == "1.0.0"
    assert info["id2label"]["3"] == "B-PER"
    assert info["transform"]["output"] == "probabilities"
    assert info["defaults"] == {"aggregation": "first", "max_client_batch_size": 8}
    assert info["verified"] is True


def test_a_directory_that_is_not_a_build(
    onnx_model_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["inspect"], model_dir=onnx_model_dir) == 2
    assert "not a built model" in capsys.readouterr().err


def serve_args(*argv: str) -> argparse.Namespace:
    from nerve.standalone import serve_verb

    parser = argparse.ArgumentParser()
    serve_verb.add_parser(parser.add_subparsers())
    return parser.parse_args(["serve", *argv])


def test_serve_settings_precedence(built_dir: Path) -> None:
    model = open_embedded(built_dir)
    config = server_config(serve_args(), model, {})
    assert config.host == "0.0.0.0"  # encoderfile's default
    assert config.http_port == 8080 and config.grpc_port == 50051
    assert config.max_client_batch_size == 8  # from the build
    assert config.model_id == "ner-tagger" and config.backend == "onnx"
    env = {"NERVE_MAX_CLIENT_BATCH_SIZE": "4", "NERVE_HOST": "127.0.0.1"}
    config = server_config(serve_args(), model, env)
    assert config.max_client_batch_size == 4  # the environment beats the build
    assert config.host == "127.0.0.1"
    config = server_config(serve_args("--max-client-batch-size", "2"), model, env)
    assert config.max_client_batch_size == 2  # a flag beats both


@pytest.mark.parametrize(
    ("argv", "env", "http", "grpc"),
    [
        ([], {}, "0.0.0.0", "0.0.0.0"),
        (["--http-hostname", "127.0.0.1"], {}, "127.0.0.1", "0.0.0.0"),
        (["--grpc-hostname", "127.0.0.1"], {}, "0.0.0.0", "127.0.0.1"),
        (["--http-hostname", "127.0.0.1", "--grpc-hostname", "::"], {}, "127.0.0.1", "::"),
        ([], {"NERVE_HOST": "127.0.0.1"}, "127.0.0.1", "127.0.0.1"),
        ([], {"NERVE_HOST": "127.0.0.1", "NERVE_GRPC_HOST": "::1"}, "127.0.0.1", "::1"),
        (["--grpc-hostname", "::"], {"NERVE_HOST": "127.0.0.1"}, "127.0.0.1", "::"),
    ],
)
def test_serve_hostnames_are_independent_as_in_encoderfile(
    built_dir: Path, argv: list[str], env: dict[str, str], http: str, grpc: str
) -> None:
    config = server_config(serve_args(*argv), open_embedded(built_dir), env)
    assert (config.host, config.grpc_address) == (http, grpc)


def test_infer_refuses_an_empty_text_as_predict_does(
    built_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["infer", "Paris", ""], model_dir=built_dir) == 2
    out = capsys.readouterr()
    assert out.out == ""
    assert out.err == (
        "ner-tagger infer: error: inputs[1] is an empty string; every input needs some text\n"
    )


@pytest.fixture
def four_threads(built_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The build's model with ``nerve.threads: 4``, run where the process may use 1 CPU."""
    model = tmp_path / "ner-tagger"
    shutil.copytree(built_dir, model)
    manifest = read_manifest(model)
    assert manifest is not None
    write_manifest(
        model, dataclasses.replace(manifest, defaults={**manifest.defaults, "threads": 4})
    )
    monkeypatch.setattr("nerve.loader.usable_cpus", lambda: 1)
    return model


NOTE_THREADS = (
    "note: the build's nerve.threads is 4 but this process may use 1 CPUs; using 1 "
    "(--threads overrides it)"
)


def test_the_builds_threads_are_lowered_to_this_machines_cpus(
    four_threads: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["infer", TEXTS[0], "-f", "jsonl"], model_dir=four_threads) == 0
    out = capsys.readouterr()
    assert json.loads(out.out)["text"] == TEXTS[0]
    assert out.err.splitlines() == [NOTE_THREADS]
    lines: list[str] = []
    config = server_config(serve_args(), open_embedded(four_threads), {}, say=lines.append)
    assert config.threads == 1 and lines == [NOTE_THREADS]


def test_the_mcp_verb_lowers_the_builds_threads_too(
    four_threads: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    pytest.importorskip("mcp")
    served: list[tuple[nerve.Engine, object]] = []
    monkeypatch.setattr(
        "nerve.mcp.server.run_mcp", lambda engine, settings: served.append((engine, settings))
    )
    assert main(["mcp", "--transport", "stdio"], model_dir=four_threads) == 0
    assert capsys.readouterr().err.splitlines() == [NOTE_THREADS]
    ((engine, settings),) = served
    assert settings.limits.threads == 1  # type: ignore[attr-defined]
    assert engine(TEXTS[0]).text == TEXTS[0]


def test_the_mcp_verb_takes_the_admission_limits_its_refusals_name(
    four_threads: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`nerve mcp`'s refusals name --max-request-tokens and --max-queued-tokens: the
    executable's mcp takes them too, over the build's limits."""
    pytest.importorskip("mcp")
    served: list[object] = []
    monkeypatch.setattr(
        "nerve.mcp.server.run_mcp", lambda engine, settings: served.append(settings)
    )
    args = ["mcp", "--transport", "stdio", "--max-request-tokens", "40"]
    assert main([*args, "--max-queued-tokens", "400"], model_dir=four_threads) == 0
    limits = served[0].limits  # type: ignore[attr-defined]
    assert (limits.max_request_tokens, limits.max_queued_tokens) == (40, 400)
    assert main(["mcp", "--transport", "stdio"], model_dir=four_threads) == 0
    assert served[1].limits.max_request_tokens == 16_384  # type: ignore[attr-defined]


def test_threads_the_user_gives_are_still_checked(
    four_threads: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["infer", TEXTS[0], "--threads", "4"], model_dir=four_threads) == 2
    err = capsys.readouterr().err
    assert err == (
        "ner-tagger infer: error: threads (--threads) must be at most the 1 CPUs this process "
        "may use, got 4\n"
    )
    lines: list[str] = []
    model = open_embedded(four_threads)
    config = server_config(serve_args(), model, {"NERVE_THREADS": "4"}, say=lines.append)
    assert config.threads == 4 and lines == []  # refused by the loader, as given
    config = server_config(serve_args("--threads", "4"), model, {}, say=lines.append)
    assert config.threads == 4 and lines == []


def test_an_executable_without_its_model_names_itself(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """A truncated copy (or the bare runtime) has no trailer: the error names the
    executable, not PyInstaller's temporary folder, which is gone once it exits."""
    exe = tmp_path / "ner-tagger"
    exe.write_bytes(b"\x7fELF the first part of an interrupted copy" * 100)
    meipass = tmp_path / "_MEI12345"
    meipass.mkdir()
    monkeypatch.setattr(sys, "frozen", True, raising=False)
    monkeypatch.setattr(sys, "executable", str(exe))
    monkeypatch.setattr(sys, "_MEIPASS", str(meipass), raising=False)
    assert main(["inspect"]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"error: {exe} carries no model: it is a nerve runtime without one")
    assert "truncated copy" in err and str(meipass) not in err and err.count("\n") == 1
