"""A server started with an API key, --strict-length and a tiny --max-concurrent-requests."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from .cases import LONG_TEXT, TEXTS
from .procs import ServerProcess, start_server

KEY = "s3cret-key"
AUTH = {"Authorization": f"Bearer {KEY}"}
BODY = {"inputs": [[TEXTS[0]]], "aggregation_strategy": "simple"}


@pytest.fixture(scope="module")
def guarded(model_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    # The key comes from the environment, the rest from flags: both paths are exercised.
    proc = start_server(
        model_dir,
        tmp_path_factory.mktemp("guarded-logs"),
        "--strict-length",
        "--max-concurrent-requests",
        "2",
        env={"NERVE_API_KEY": KEY},
    )
    yield proc
    assert proc.stop() == 0, proc.log()


@pytest.mark.parametrize(
    ("method", "route"),
    [
        ("POST", "/predict_tokens"),
        ("POST", "/predict"),
        ("POST", "/v1/entities"),
        ("GET", "/model"),
        ("GET", "/metrics"),
        ("GET", "/openapi.json"),
    ],
)
@pytest.mark.parametrize(
    "headers",
    [{}, {"Authorization": "Bearer wrong"}, {"Authorization": KEY}, {"Api-Key": "wrong"}],
)
def test_routes_need_the_key(
    guarded: ServerProcess, method: str, route: str, headers: dict[str, str]
) -> None:
    response = httpx.request(method, guarded.url + route, json=BODY, headers=headers, timeout=10)
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "unauthorized"
    assert response.headers["www-authenticate"].startswith("Bearer")


@pytest.mark.parametrize("headers", [AUTH, {"Api-Key": KEY}, {"Authorization": f"Api-Key {KEY}"}])
def test_the_key_opens_them(guarded: ServerProcess, headers: dict[str, str]) -> None:
    response = httpx.post(guarded.url + "/predict_tokens", json=BODY, headers=headers, timeout=10)
    assert response.status_code == 200
    assert httpx.get(guarded.url + "/model", headers=headers, timeout=10).status_code == 200


def test_health_and_the_page_need_no_key(guarded: ServerProcess) -> None:
    assert httpx.get(guarded.url + "/health", timeout=10).json() == "OK!"
    assert httpx.get(guarded.url + "/", timeout=10).status_code == 200


def test_openapi_lists_401_exactly_where_a_key_is_asked(
    guarded: ServerProcess, server: ServerProcess
) -> None:
    def unauthorized_paths(proc: ServerProcess, headers: dict[str, str]) -> set[str]:
        document = httpx.get(proc.url + "/openapi.json", headers=headers, timeout=10).json()
        return {
            path
            for path, operations in document["paths"].items()
            for operation in operations.values()
            if "401" in operation["responses"]
        }

    keyed = unauthorized_paths(guarded, AUTH)
    assert keyed >= {"/predict_tokens", "/predict", "/v1/entities", "/model", "/metrics"}
    assert not keyed & {"/health", "/"}  # served without the key
    assert unauthorized_paths(server, {}) == set()  # no --api-key: never 401


def test_performance_client_sends_its_key(guarded: ServerProcess) -> None:
    baseten = pytest.importorskip("baseten_performance_client")
    ok = baseten.PerformanceClient(base_url=guarded.url, api_key=KEY)
    assert len(ok.batch_post(url_path="/predict_tokens", payloads=[BODY]).data[0]) == 1
    requests = pytest.importorskip("requests")  # the client raises requests' HTTPError
    wrong = baseten.PerformanceClient(base_url=guarded.url, api_key="nope")
    with pytest.raises(requests.HTTPError, match="401 Unauthorized"):
        wrong.batch_post(url_path="/predict_tokens", payloads=[BODY])


GRPC_AUTH_CLIENT = """
import json, sys
import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc
from nerve.server.proto import token_classification_pb2 as tc, token_classification_pb2_grpc as g

channel = grpc.insecure_channel(sys.argv[1])
stub = g.TokenClassificationInferenceStub(channel)
out = {}
for name, metadata in (("none", None), ("wrong", [("authorization", "Bearer x")]),
                       ("right", [("authorization", "Bearer " + sys.argv[2])])):
    try:
        stub.Predict(tc.TokenClassificationRequest(inputs=["Paris"]), metadata=metadata)
        out[name] = "OK"
    except grpc.RpcError as exc:
        out[name] = exc.code().name
health = health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest())
out["health"] = health_pb2.HealthCheckResponse.ServingStatus.Name(health.status)
print(json.dumps(out))
"""


def test_grpc_needs_the_key_except_for_health(guarded: ServerProcess) -> None:
    done = subprocess.run(
        [sys.executable, "-c", GRPC_AUTH_CLIENT, guarded.grpc_address, KEY],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == {
        "none": "UNAUTHENTICATED",
        "wrong": "UNAUTHENTICATED",
        "right": "OK",
        "health": "SERVING",
    }


def test_strict_length_refuses_long_input_unless_truncated(guarded: ServerProcess) -> None:
    body = {"inputs": [[LONG_TEXT]], "truncate": False}
    response = httpx.post(guarded.url + "/predict_tokens", json=body, headers=AUTH, timeout=30)
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "input_too_long"
    message = response.json()["error"]["message"]
    assert "--strict-length" in message and "truncate: true on /predict_tokens" in message
    # /predict takes no truncate: the same message, which does not advise it there.
    predict = httpx.post(
        guarded.url + "/predict", json={"inputs": [LONG_TEXT]}, headers=AUTH, timeout=30
    )
    assert predict.status_code == 422 and predict.json()["error"]["message"] == message
    body["truncate"] = True
    response = httpx.post(guarded.url + "/predict_tokens", json=body, headers=AUTH, timeout=30)
    assert response.status_code == 200
    assert guarded.healthy()


async def burst(url: str, n: int) -> Counter[int]:
    # Heavy enough (16 texts, a few windows each) that two slots fill up at once.
    body = {"inputs": [[LONG_TEXT[:250]] * 16], "truncate": True, "aggregation_strategy": "max"}
    async with httpx.AsyncClient(headers=AUTH, timeout=60) as client:
        responses = await asyncio.gather(
            *(client.post(url + "/predict_tokens", json=body) for _ in range(n))
        )
    for r in responses:
        if r.status_code == 429:
            assert r.json()["error"]["code"] == "overloaded"
    return Counter(r.status_code for r in responses)


def test_overload_is_429_and_nothing_else_breaks(guarded: ServerProcess) -> None:
    statuses = asyncio.run(burst(guarded.url, 48))
    assert set(statuses) == {200, 429}, statuses
    # Admission frees up again: the server serves normally right after the burst.
    assert guarded.healthy()
    response = httpx.post(guarded.url + "/predict_tokens", json=BODY, headers=AUTH, timeout=30)
    assert response.status_code == 200
    metrics = httpx.get(guarded.url + "/metrics", headers=AUTH, timeout=10).text
    assert 'nerve_requests_total{route="/predict_tokens",status="429"}' in metrics
