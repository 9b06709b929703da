"""encoderfile clients (contracts §2): the seed's curl requests, and a gRPC client generated
from the contract's own .proto text (not nerve's files), in a separate process."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import httpx
import pytest

from nerve.engine.core import Engine

from .cases import LONG_TEXT, TEXTS
from .procs import ServerProcess

SEED_TEXTS = [
    "Mozilla is headquartered in San Fancisco, CA",
    "Yvon Chouinard founded Patagonia in 1957.",
    "The Eiffel Tower is located in Paris, France.",
]

needs_curl = pytest.mark.skipif(shutil.which("curl") is None, reason="curl is not installed")


def curl(*args: str) -> str:
    done = subprocess.run(["curl", "-sS", *args], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return done.stdout


def expected_rows(engine: Engine, text: str) -> list[tuple[int, int, int, str]]:
    """(token_id, start, end, label) of every sub-word, specials dropped, O rows kept."""
    result = engine(text, aggregation_strategy="none", ignore_labels=[])
    return [(e.token_id or 0, e.start, e.end, e.label) for e in result.entities]


def check_rows(engine: Engine, text: str, tokens: list[dict[str, Any]]) -> None:
    assert [
        (t["token_info"]["token_id"], t["token_info"]["start"], t["token_info"]["end"], t["label"])
        for t in tokens
    ] == expected_rows(engine, text)
    check_scores(engine, tokens)


def check_scores(engine: Engine, tokens: list[dict[str, Any]]) -> None:
    """Each row's ``scores`` are probabilities whose argmax is its ``label``/``score``."""
    n_labels = len(engine.labels)
    for t in tokens:
        assert len(t["scores"]) == n_labels
        assert sum(t["scores"]) == pytest.approx(1.0, abs=1e-4)
        assert t["score"] == pytest.approx(max(t["scores"]), abs=1e-6)
        assert t["label"] == engine.labels[t["scores"].index(max(t["scores"]))]


@needs_curl
def test_seed_curl_predict_example_1(server: ServerProcess, engine: Engine) -> None:
    body = json.dumps({"inputs": [SEED_TEXTS[0]]})
    out = curl(
        "-X", "POST", f"{server.url}/predict", "-H", "Content-Type: application/json", "-d", body
    )
    response = json.loads(out)
    assert set(response) == {"results", "model_id"}  # metadata only when sent
    assert response["model_id"] == engine.model_id
    (result,) = response["results"]
    first = result["tokens"][0]
    assert set(first) == {"token_info", "scores", "label", "score"}
    assert set(first["token_info"]) == {"token", "token_id", "start", "end"}
    check_rows(engine, SEED_TEXTS[0], result["tokens"])


@needs_curl
def test_seed_curl_predict_example_2_with_metadata(server: ServerProcess, engine: Engine) -> None:
    body = json.dumps({"inputs": SEED_TEXTS[1:], "metadata": {"request": "42"}})
    out = curl(
        "-X", "POST", f"{server.url}/predict", "-H", "Content-Type: application/json", "-d", body
    )
    response = json.loads(out)
    assert response["metadata"] == {"request": "42"}  # echoed back
    assert len(response["results"]) == 2
    for text, result in zip(SEED_TEXTS[1:], response["results"], strict=True):
        check_rows(engine, text, result["tokens"])


@needs_curl
def test_seed_curl_health_and_model(server: ServerProcess, engine: Engine) -> None:
    out = curl("-i", f"{server.url}/health")
    assert out.startswith("HTTP/1.1 200")
    assert out.rstrip().endswith('"OK!"')
    model = json.loads(curl(f"{server.url}/model"))
    assert model == {
        "model_id": engine.model_id,
        "model_type": "token_classification",
        "id2label": {str(i): label for i, label in enumerate(engine.labels)},
    }


def long_text_rows(server: ServerProcess) -> list[dict[str, Any]]:
    response = httpx.post(f"{server.url}/predict", json={"inputs": [LONG_TEXT]}, timeout=30)
    assert response.status_code == 200
    tokens: list[dict[str, Any]] = response.json()["results"][0]["tokens"]
    return tokens


def test_long_text_gets_every_token_once(server: ServerProcess, engine: Engine) -> None:
    tokens = long_text_rows(server)
    got = [(t["token_info"]["token_id"], t["token_info"]["start"], t["label"]) for t in tokens]
    assert got == [(i, start, label) for i, start, _, label in expected_rows(engine, LONG_TEXT)]
    starts = [t["token_info"]["start"] for t in tokens]
    assert starts == sorted(set(starts))  # windows stitched: no duplicates, in order


def test_long_text_scores_agree_with_labels(server: ServerProcess, engine: Engine) -> None:
    check_scores(engine, long_text_rows(server))


def test_openapi_document_lists_the_routes(server: ServerProcess) -> None:
    document = httpx.get(f"{server.url}/openapi.json", timeout=10).json()
    assert document["openapi"].startswith("3.")
    for path in ("/predict", "/model", "/health", "/predict_tokens", "/v1/entities"):
        assert path in document["paths"]


# -- gRPC --------------------------------------------------------------------------------------
# The contract (contracts §2) laid out as encoderfile lays out its files.
CONTRACT_PROTOS = {
    "proto/token.proto": """
        syntax = "proto3";
        package encoderfile.token;
        message TokenInfo {
          string token = 1; uint32 token_id = 2; uint32 start = 3; uint32 end = 4;
        }
    """,
    "proto/metadata.proto": """
        syntax = "proto3";
        package encoderfile.metadata;
        message GetModelMetadataRequest {}
        message GetModelMetadataResponse {
          string model_id = 1; ModelType model_type = 2; map<uint32, string> id2label = 3;
        }
        enum ModelType {
          MODEL_TYPE_UNSPECIFIED = 0; EMBEDDING = 1; SEQUENCE_CLASSIFICATION = 2;
          TOKEN_CLASSIFICATION = 3; SENTENCE_EMBEDDING = 4; IMAGE_CLASSIFICATION = 21;
        }
    """,
    "proto/token_classification.proto": """
        syntax = "proto3";
        package encoderfile.token_classification;
        import "proto/token.proto";
        import "proto/metadata.proto";
        service TokenClassificationInference {
          rpc Predict(TokenClassificationRequest) returns (TokenClassificationResponse);
          rpc GetModelMetadata(encoderfile.metadata.GetModelMetadataRequest)
              returns (encoderfile.metadata.GetModelMetadataResponse);
        }
        message TokenClassificationRequest {
          repeated string inputs = 1; map<string,string> metadata = 2;
        }
        message TokenClassificationResponse {
          repeated TokenClassificationResult results = 1; string model_id = 2;
          map<string,string> metadata = 3;
        }
        message TokenClassificationResult { repeated TokenClassification tokens = 1; }
        message TokenClassification {
          encoderfile.token.TokenInfo token_info = 1; repeated float scores = 2;
          string label = 3; float score = 4;
        }
    """,
}

# Runs in its own interpreter: the contract's generated modules must not meet nerve's own
# (same message names) in one protobuf descriptor pool.
CLIENT = """
import json, sys
import grpc
from google.protobuf.json_format import MessageToDict
from grpc_health.v1 import health_pb2, health_pb2_grpc
from proto import metadata_pb2
from proto import token_classification_pb2 as tc
from proto import token_classification_pb2_grpc as tc_grpc

address, texts, key = sys.argv[1], json.loads(sys.argv[2]), sys.argv[3]
channel = grpc.insecure_channel(address)
stub = tc_grpc.TokenClassificationInferenceStub(channel)
auth = [("authorization", "Bearer " + key)] if key else None
out = {}
def as_dict(message):
    return MessageToDict(
        message, preserving_proto_field_name=True, always_print_fields_with_no_presence=True
    )

request = tc.TokenClassificationRequest(inputs=texts, metadata={"trace": "t1"})
out["predict"] = as_dict(stub.Predict(request, metadata=auth))
out["metadata"] = as_dict(
    stub.GetModelMetadata(metadata_pb2.GetModelMetadataRequest(), metadata=auth)
)
health = health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(service=""))
out["health"] = health_pb2.HealthCheckResponse.ServingStatus.Name(health.status)
for name, request in (("empty", []), ("too_many", ["a"] * 100), ("empty_text", ["a", ""])):
    try:
        stub.Predict(tc.TokenClassificationRequest(inputs=request), metadata=auth)
        out[name] = None
    except grpc.RpcError as exc:
        out[name] = [exc.code().name, exc.details()]
print(json.dumps(out))
"""


@pytest.fixture(scope="module")
def contract_client(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A directory with stubs generated from the contract protos, and the client script."""
    grpc_tools = pytest.importorskip("grpc_tools.protoc")
    root = tmp_path_factory.mktemp("contract-client")
    for name, text in CONTRACT_PROTOS.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(textwrap.dedent(text))
    (root / "proto" / "__init__.py").write_text("")
    args = ["protoc", f"-I{root}", f"--python_out={root}", f"--grpc_python_out={root}"]
    assert grpc_tools.main([*args, *CONTRACT_PROTOS]) == 0
    (root / "client.py").write_text(CLIENT)
    return root


def run_contract_client(client_dir: Path, address: str, texts: list[str], key: str = "") -> Any:
    done = subprocess.run(
        [sys.executable, str(client_dir / "client.py"), address, json.dumps(texts), key],
        cwd=client_dir,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_grpc_client_from_the_contract_gets_the_http_results(
    server: ServerProcess, engine: Engine, contract_client: Path
) -> None:
    texts = [*SEED_TEXTS, TEXTS[5]]
    out = run_contract_client(contract_client, server.grpc_address, texts)
    http = httpx.post(f"{server.url}/predict", json={"inputs": texts}, timeout=30).json()

    predict = out["predict"]
    assert predict["model_id"] == engine.model_id
    assert predict["metadata"] == {"trace": "t1"}
    for text, got, want in zip(texts, predict["results"], http["results"], strict=True):
        check_rows(engine, text, got["tokens"])
        for g, w in zip(got["tokens"], want["tokens"], strict=True):
            assert g["token_info"] == w["token_info"]
            assert g["scores"] == pytest.approx(w["scores"], abs=1e-6)  # float32 on the wire

    assert out["metadata"]["model_type"] == "TOKEN_CLASSIFICATION"
    assert out["metadata"]["id2label"] == {str(i): lb for i, lb in enumerate(engine.labels)}
    assert out["health"] == "SERVING"

    # Bad input: INVALID_ARGUMENT with the same message the HTTP route gives.
    empty_http = httpx.post(f"{server.url}/predict", json={"inputs": []}, timeout=10)
    assert out["empty"] == ["INVALID_ARGUMENT", empty_http.json()["error"]["message"]]
    empty_text_http = httpx.post(f"{server.url}/predict", json={"inputs": ["a", ""]}, timeout=10)
    assert empty_text_http.status_code == 422
    assert out["empty_text"] == ["INVALID_ARGUMENT", empty_text_http.json()["error"]["message"]]
    assert (
        out["too_many"][0] == "INVALID_ARGUMENT" and "--max-client-batch-size" in out["too_many"][1]
    )
