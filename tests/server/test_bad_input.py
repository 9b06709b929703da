"""Every kind of bad request gets its documented 4xx JSON error, and the server keeps serving."""

from __future__ import annotations

import json

import httpx
import pytest

from .conftest import MAX_BODY_BYTES, MAX_CLIENT_BATCH, MAX_INPUT_CHARS
from .procs import ServerProcess

GOOD = {"inputs": [["Apple is looking at buying U.K. startup"]], "aggregation_strategy": "simple"}

# (route, raw body, expected status, expected error code, words the message must contain)
CASES: list[tuple[str, bytes, int, str, str]] = [
    ("/predict_tokens", b'{"inputs": [["a"]', 400, "invalid_json", "not valid JSON"),
    ("/predict_tokens", b'\xff\xfe{"inputs": [["a"]]}', 400, "invalid_json", "UTF-8"),
    ("/predict_tokens", b"", 400, "invalid_json", "empty"),
    ("/predict_tokens", b"[" * 100_000, 400, "invalid_json", "nested too deeply"),
    # json.loads refuses an integer of over 4,300 digits with a ValueError, not a decode error.
    ("/predict", b'{"inputs": ["a"], "n": ' + b"1" * 4301 + b"}", 400, "invalid_json", "digits"),
    # Python's json reads these; JSON has no such values.
    ("/predict", b'{"inputs": ["a"], "x": NaN}', 400, "invalid_json", "NaN is not a JSON value"),
    ("/v1/entities", b'{"inputs": ["a"], "x": -Infinity}', 400, "invalid_json", "-Infinity"),
    ("/predict_tokens", b'["a"]', 422, "invalid_input", "JSON object"),
    ("/predict_tokens", b'{"truncate": true}', 422, "invalid_input", "'inputs'"),
    ("/predict_tokens", b'{"inputs": []}', 422, "invalid_input", "at least one text"),
    ("/predict_tokens", b'{"inputs": [[]]}', 422, "invalid_input", "at least one text"),
    ("/predict_tokens", b'{"inputs": "text"}', 422, "invalid_input", "'inputs'"),
    ("/predict_tokens", b'{"inputs": [[1]]}', 422, "invalid_input", "inputs[0][0]"),
    (
        "/predict_tokens",
        b'{"inputs": [["a"]], "raw_scores": "yes"}',
        422,
        "invalid_input",
        "raw_scores",
    ),
    ("/predict_tokens", b'{"inputs": [["a"]], "truncate": 1}', 422, "invalid_input", "truncate"),
    (
        "/predict_tokens",
        b'{"inputs": [["a"]], "aggregation_strategy": "longest"}',
        422,
        "invalid_input",
        "aggregation_strategy",
    ),
    (
        "/predict_tokens",
        b'{"inputs": [["a"]], "truncation_direction": "Up"}',
        422,
        "invalid_input",
        "truncation_direction",
    ),
    ("/predict_tokens", b'{"inputs": [["\\ud800"]]}', 422, "invalid_input", "lone surrogate"),
    ("/predict", b'{"inputs": "text"}', 422, "invalid_input", "'inputs'"),
    ("/predict", b'{"inputs": []}', 422, "invalid_input", "at least one text"),
    ("/predict", b'{"inputs": ["a"], "metadata": {"k": 1}}', 422, "invalid_input", "metadata.k"),
    ("/predict", b'{"metadata": {}}', 422, "invalid_input", "'inputs'"),
    ("/v1/entities", b'{"inputs": ["a"], "words": [["a"]]}', 422, "invalid_input", "exactly one"),
    ("/v1/entities", b'{"inputs": ["a"], "strategy": "max"}', 422, "invalid_input", "strategy"),
    ("/v1/entities", b'{"inputs": ["a"], "format": "xml"}', 422, "invalid_input", "format"),
    ("/v1/entities", b'{"inputs": ["a"], "stride": 500}', 422, "invalid_input", "stride"),
    ("/v1/entities", b'{"inputs": ["a"], "window": 4096}', 422, "invalid_input", "window"),
    ("/v1/entities", b'{"words": [["a", 2]]}', 422, "invalid_input", "words[0][1]"),
    # Fields that shape entities do nothing for words: refused, not silently dropped.
    ("/v1/entities", b'{"words": [["a"]], "format": "spacy"}', 422, "invalid_input", "'format'"),
    (
        "/v1/entities",
        b'{"words": [["a"]], "raw_scores": true, "ignore_labels": ["PER"]}',
        422,
        "invalid_input",
        "'ignore_labels', 'raw_scores' apply only to 'inputs'",
    ),
]


def post(server: ServerProcess, route: str, body: bytes) -> httpx.Response:
    return httpx.post(
        server.url + route,
        content=body,
        headers={"Content-Type": "application/json"},
        timeout=30,
    )


def assert_error(response: httpx.Response, status: int, code: str, words: str) -> None:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    error = response.json()["error"]
    assert error["code"] == code
    assert words in error["message"]
    assert "Traceback" not in response.text and 'File "' not in response.text


def assert_still_serving(server: ServerProcess) -> None:
    assert server.healthy()
    response = httpx.post(server.url + "/predict_tokens", json=GOOD, timeout=30)
    assert response.status_code == 200 and len(response.json()) == 1


@pytest.mark.parametrize(("route", "body", "status", "code", "words"), CASES)
def test_bad_request_gets_its_4xx(
    server: ServerProcess, route: str, body: bytes, status: int, code: str, words: str
) -> None:
    assert_error(post(server, route, body), status, code, words)
    assert_still_serving(server)


def test_oversized_body_is_413(server: ServerProcess) -> None:
    body = json.dumps({"inputs": [["x" * (MAX_BODY_BYTES + 10)]]}).encode()
    assert_error(
        post(server, "/predict_tokens", body), 413, "payload_too_large", "--max-body-bytes"
    )
    assert_still_serving(server)


def test_oversized_chunked_body_without_length_is_413(server: ServerProcess) -> None:
    def chunks() -> object:
        for _ in range(MAX_BODY_BYTES // 65536 + 2):
            yield b" " * 65536

    response = httpx.post(
        server.url + "/predict",
        content=chunks(),  # type: ignore[arg-type]
        headers={"Content-Type": "application/json"},
        timeout=30,
    )
    assert_error(response, 413, "payload_too_large", "--max-body-bytes")
    assert_still_serving(server)


def test_too_many_inputs_is_413(server: ServerProcess) -> None:
    body = json.dumps({"inputs": [["a"] * (MAX_CLIENT_BATCH + 1)]}).encode()
    assert_error(
        post(server, "/predict_tokens", body), 413, "too_many_inputs", "--max-client-batch-size"
    )
    assert_still_serving(server)


def test_too_long_input_is_413(server: ServerProcess) -> None:
    body = json.dumps({"inputs": ["a " * MAX_INPUT_CHARS]}).encode()
    assert_error(post(server, "/predict", body), 413, "input_too_large", "--max-input-chars")
    assert_still_serving(server)


def test_unknown_route_and_method_are_json_errors(server: ServerProcess) -> None:
    assert_error(httpx.get(server.url + "/nope", timeout=10), 404, "not_found", "/nope")
    assert_error(httpx.get(server.url + "/predict", timeout=10), 405, "method_not_allowed", "GET")
    assert_still_serving(server)


def test_errors_are_counted_by_route_and_status(server: ServerProcess) -> None:
    post(server, "/predict", b"{")
    metrics = httpx.get(server.url + "/metrics", timeout=10).text
    assert 'nerve_requests_total{route="/predict",status="400"}' in metrics


def test_a_truncated_request_still_needs_a_stride_some_window_takes(server: ServerProcess) -> None:
    """truncate ignores the stride, but the OpenAPI document bounds it: the server agrees."""
    schema = httpx.get(server.url + "/openapi.json", timeout=10).json()
    largest = schema["components"]["schemas"]["EntitiesRequest"]["properties"]["stride"]
    largest = next(v["maximum"] for v in largest["anyOf"] if "maximum" in v)
    body = {"inputs": ["Angela Merkel visited Paris."], "truncate": True, "window": 27}
    at_limit = httpx.post(server.url + "/v1/entities", json={**body, "stride": largest}, timeout=30)
    assert at_limit.status_code == 200, at_limit.text
    over = httpx.post(server.url + "/v1/entities", json={**body, "stride": largest + 1}, timeout=30)
    assert over.status_code == 422
    error = over.json()["error"]
    assert error["code"] == "invalid_input"
    assert f"stride {largest + 1}" in error["message"] and f"at most {largest}" in error["message"]


def test_a_grpc_message_over_the_limit_names_the_flag(server: ServerProcess) -> None:
    """As HTTP's 413 does; gRPC's core alone said only "larger than max (N vs. M)"."""
    grpc = pytest.importorskip("grpc")
    from nerve.server.proto import token_classification_pb2 as tc
    from nerve.server.proto import token_classification_pb2_grpc as tc_grpc

    request = tc.TokenClassificationRequest(inputs=["a" * (MAX_BODY_BYTES + 10)])
    with grpc.insecure_channel(f"127.0.0.1:{server.grpc_port}") as channel:
        stub = tc_grpc.TokenClassificationInferenceStub(channel)
        with pytest.raises(grpc.RpcError) as refused:
            stub.Predict(request, timeout=30)
        assert refused.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
        assert refused.value.details() == (
            f"request body of {request.ByteSize()} bytes exceeds the limit of "
            f"{MAX_BODY_BYTES} bytes (--max-body-bytes)"
        )
        ok = stub.Predict(tc.TokenClassificationRequest(inputs=["Tim Cook"]), timeout=30)
        assert ok.results


def _valid_by_document(document: dict, schema_name: str, body: dict) -> bool:
    jsonschema = pytest.importorskip("jsonschema")
    schema = {"$ref": f"#/components/schemas/{schema_name}", "components": document["components"]}
    return bool(jsonschema.Draft202012Validator(schema).is_valid(body))


@pytest.mark.parametrize(
    ("route", "schema_name", "body"),
    [
        # contracts.md: truncation_direction "Right" or "Left", in any case; the server reads
        # every name field in any case. The document's enums refused these.
        ("/predict_tokens", "PredictTokensRequest",
         {"inputs": [["Tim"]], "truncation_direction": "LEFT", "aggregation_strategy": "MAX"}),
        ("/v1/entities", "EntitiesRequest",
         {"inputs": ["Tim"], "truncation_direction": "Right", "format": " Pipeline "}),
        # An empty batch is answered with an empty list.
        ("/predict_tokens", "PredictTokensRequest", {"inputs": [[], ["Tim"]]}),
    ],
)  # fmt: skip
def test_what_the_server_answers_the_document_allows(
    server: ServerProcess, route: str, schema_name: str, body: dict
) -> None:
    document = httpx.get(server.url + "/openapi.json", timeout=10).json()
    answer = httpx.post(server.url + route, json=body, timeout=30)
    assert answer.status_code == 200, answer.text
    assert _valid_by_document(document, schema_name, body)


def test_more_batches_than_the_limit_are_refused_as_the_document_says(
    server: ServerProcess,
) -> None:
    """40 empty batches and one text were answered, though the document says maxItems."""
    document = httpx.get(server.url + "/openapi.json", timeout=10).json()
    body = {"inputs": [[]] * MAX_CLIENT_BATCH + [["Tim"]]}
    assert not _valid_by_document(document, "PredictTokensRequest", body)
    answer = httpx.post(server.url + "/predict_tokens", json=body, timeout=30)
    assert answer.status_code == 413
    assert answer.json()["error"]["message"] == (
        f"'inputs' holds {MAX_CLIENT_BATCH + 1} batches in one request; the limit is "
        f"{MAX_CLIENT_BATCH} (--max-client-batch-size)"
    )
    at_limit = {"inputs": [[]] * (MAX_CLIENT_BATCH - 1) + [["Tim"]]}
    assert _valid_by_document(document, "PredictTokensRequest", at_limit)
    assert httpx.post(server.url + "/predict_tokens", json=at_limit, timeout=30).status_code == 200
