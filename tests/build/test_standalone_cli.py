"""The executable's command line, run in-process on a built model directory (the same code
the PyInstaller executable runs, minus the freezing)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import pytest
import yaml

pytest.importorskip("lupa")
pytest.importorskip("grpc")

import nerve
from nerve.build import build, load_config
from nerve.bundle import open_bundle
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
