"""The smaller defects of issue 17, each against a real ``nerve serve`` (or ``nerve mcp``)
subprocess, or the real app in process where a fault must be injected: every case gets a
JSON error naming the field or limit, and the next normal request is answered normally."""

from __future__ import annotations

import asyncio
import json
import re
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

pytest.importorskip("starlette")
pytest.importorskip("grpc")

import grpc  # noqa: E402
from server.procs import free_port  # noqa: E402

from support.mcp_messages import initialize_request  # noqa: E402

from ._serverhard_support import ServerProcess, start_server  # noqa: E402

pytestmark = pytest.mark.reliability

JSON = {"Content-Type": "application/json"}
SENTENCE = "Peter Blackburn met Angela Merkel in Berlin on Monday."


@pytest.fixture(scope="module")
def server(
    onnx_model_dir: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ServerProcess]:
    # Work caps raised: the disconnect test needs one long job admitted (not a 413) to hold
    # the worker; admission itself is tests/reliability/test_fairness_admission.py's.
    proc = start_server(
        onnx_model_dir,
        tmp_path_factory.mktemp("defects"),
        "--threads",
        "1",
        "--max-request-tokens",
        "400000",
        "--max-queued-tokens",
        "800000",
    )
    yield proc
    proc.stop()


def assert_still_serving(server: ServerProcess) -> None:
    response = httpx.post(server.url + "/predict", json={"inputs": [SENTENCE]}, timeout=30)
    assert response.status_code == 200, response.text
    assert response.json()["results"][0]["tokens"]


def error_of(response: httpx.Response, status: int) -> dict[str, str]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    assert "Traceback" not in response.text
    error: dict[str, str] = response.json()["error"]
    return error


def metric(server: ServerProcess, name: str, **labels: str) -> float:
    """The value of one sample of ``/metrics`` (0 when the series does not exist yet)."""
    text = httpx.get(server.url + "/metrics", timeout=10).text
    wanted = ",".join(f'{k}="{v}"' for k, v in labels.items())
    pattern = re.escape(name) + (r"\{" + re.escape(wanted) + r"\}" if labels else "") + r" (\S+)"
    found = re.search("^" + pattern + "$", text, re.MULTILINE)
    return float(found.group(1)) if found else 0.0


def wait_for_log(server: ServerProcess, words: str, since: int = 0, timeout: float = 10.0) -> str:
    """The log from offset ``since`` on, once it holds ``words``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        log = server.log()[since:]
        if words in log:
            return log
        time.sleep(0.1)
    raise AssertionError(f"{words!r} not in the server log:\n{server.log()}")


# -- /predict: a lone surrogate in metadata -------------------------------------------------------
def test_a_lone_surrogate_in_metadata_is_422(server: ServerProcess) -> None:
    body = b'{"inputs": ["a"], "metadata": {"k": "\\udc00"}}'
    response = httpx.post(server.url + "/predict", content=body, headers=JSON, timeout=30)
    error = error_of(response, 422)
    assert error["code"] == "invalid_input"
    assert "'metadata'" in error["message"] and "surrogate" in error["message"]
    assert_still_serving(server)


# -- gRPC: a message that does not parse ----------------------------------------------------------
def test_an_unparseable_grpc_message_is_invalid_argument(server: ServerProcess) -> None:
    method = "/encoderfile.token_classification.TokenClassificationInference/Predict"
    with grpc.insecure_channel(server.grpc_address) as channel:
        raw = channel.unary_unary(method)  # bytes in, bytes out: no client-side parsing
        with pytest.raises(grpc.RpcError) as err:
            raw(b"\x0a\xff\xff\xff\xff\x0f", timeout=30)  # a field whose length runs past the end
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    details = err.value.details() or ""
    assert "TokenClassificationRequest" in details
    assert "DecodeError" not in details and "<class" not in details
    assert_still_serving(server)


# -- metrics: an unexpected error is a 500 --------------------------------------------------------
def test_an_unexpected_error_is_counted_as_500(onnx_model_dir: Path) -> None:
    import nerve
    from nerve.server.config import ServerConfig
    from nerve.server.http.app import create_app
    from nerve.server.metrics import ServerMetrics
    from nerve.server.service import InferenceService

    service = InferenceService(
        nerve.load(onnx_model_dir, threads=1), ServerConfig(), ServerMetrics()
    )

    async def bug(*args: Any) -> Any:
        raise RuntimeError("a bug, not a client error")

    service.entities = bug  # type: ignore[method-assign]
    service.start()

    async def scenario() -> httpx.Response:
        # Starlette re-raises after answering 500 (so the log gets the traceback): not here.
        transport = httpx.ASGITransport(app=create_app(service), raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://localhost") as client:
            return await client.post("/predict", json={"inputs": ["a"]})

    try:
        response = asyncio.run(scenario())
    finally:
        service.close()
    assert error_of(response, 500)["code"] == "internal"
    assert "a bug" not in response.text
    registry = service.metrics.registry
    counted = registry.get_sample_value(
        "nerve_requests_total", {"route": "/predict", "status": "500"}
    )
    assert counted == 1
    left = registry.get_sample_value("nerve_requests_total", {"route": "/predict", "status": "499"})
    assert left is None


# -- disconnects: one INFO line, and the job is not run -------------------------------------------
def raw_request(server: ServerProcess, body: bytes, declared: int | None = None) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", server.http_port), timeout=30)
    length = len(body) if declared is None else declared
    head = (
        f"POST /predict HTTP/1.1\r\nHost: 127.0.0.1:{server.http_port}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {length}\r\n\r\n"
    )
    sock.sendall(head.encode() + body)
    return sock


def test_an_aborted_upload_is_one_info_line(server: ServerProcess) -> None:
    since = len(server.log())
    sock = raw_request(server, b'{"inputs": ["', declared=100_000)
    time.sleep(0.3)
    sock.close()
    new = wait_for_log(server, "client disconnected before its response: POST /predict", since)
    assert "Traceback" not in new and " ERROR " not in new
    assert new.count("client disconnected") == 1
    assert_still_serving(server)


def wait_for_metric(server: ServerProcess, name: str, above: float, **labels: str) -> None:
    deadline = time.monotonic() + 60
    while metric(server, name, **labels) <= above:
        assert time.monotonic() < deadline, f"{name} stayed at {above}"
        time.sleep(0.02)


def test_a_disconnected_clients_job_is_not_run(server: ServerProcess, onnx_model_dir: Path) -> None:
    # A long request is cut into batch-sized pieces (round-robin with other requests). Its
    # client goes away while the worker runs it: the remaining pieces are dropped, so the
    # worker spends a few batches on it, not the whole job.
    import nerve

    long_body = {"inputs": [" ".join([SENTENCE] * 150)] * 8}
    engine = nerve.load(onnx_model_dir)
    windows = sum(
        len(e.windows) for e in engine.tokenize(long_body["inputs"], nerve.InferenceOptions())
    )
    assert windows > 100  # enough pieces that running them all would show
    tokenized = "nerve_stage_duration_seconds_count"
    batches = metric(server, "nerve_batch_requests_count")
    disconnects = metric(server, "nerve_requests_total", route="/predict", status="499")
    since = len(server.log())
    before = metric(server, tokenized, stage="tokenize")
    sock = raw_request(server, json.dumps(long_body).encode())
    wait_for_metric(server, tokenized, before, stage="tokenize")  # handed to the model worker
    sock.close()
    wait_for_log(server, "client disconnected before its response", since, timeout=30)
    time.sleep(1.0)  # let a batch in flight finish
    assert metric(server, "nerve_requests_total", route="/predict", status="499") == disconnects + 1
    spent = metric(server, "nerve_batch_requests_count") - batches
    assert spent < windows / 2, f"{spent} batches for a request of {windows} windows"
    assert_still_serving(server)


# -- browser protections --------------------------------------------------------------------------
def test_an_unknown_host_is_421_naming_the_flag(server: ServerProcess) -> None:
    response = httpx.get(server.url + "/model", headers={"Host": "rebind.example"}, timeout=10)
    error = error_of(response, 421)
    assert error["code"] == "host_not_allowed"
    assert "rebind.example" in error["message"] and "--allowed-hosts" in error["message"]
    for host in ("localhost", f"localhost:{server.http_port}", "127.0.0.1", "[::1]:80"):
        assert httpx.get(server.url + "/model", headers={"Host": host}, timeout=10).is_success
    assert_still_serving(server)


def exchange(server: ServerProcess, request: bytes) -> tuple[int, bytes]:
    """Send a raw request that closes its connection (``Connection: close``, or HTTP/1.0) and
    read the answer to the end: (status, body)."""
    with socket.create_connection(("127.0.0.1", server.http_port), timeout=10) as sock:
        sock.sendall(request)
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    head, _, body = answer.partition(b"\r\n\r\n")
    return int(head.split(b" ", 2)[1]), body


def test_http_1_1_needs_exactly_one_host(server: ServerProcess) -> None:
    """RFC 9112 3.2: no Host, or two, is a 400; HTTP/1.0 may send none."""
    port = server.http_port
    cases = {
        b"GET /model HTTP/1.1\r\nConnection: close\r\n\r\n": "needs a Host header",
        (
            f"GET /model HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nHost: evil.example\r\n"
            "Connection: close\r\n\r\n"
        ).encode(): "2 Host headers",
    }
    for head, words in cases.items():
        status, body = exchange(server, head)
        error = json.loads(body)["error"]
        assert (status, error["code"]) == (400, "bad_host_header") and words in error["message"]
    # The fast path (POST inference routes) applies the same rule.
    post = b"POST /predict HTTP/1.1\r\nContent-Type: application/json\r\nContent-Length: 16\r\n"
    status, body = exchange(server, post + b"Connection: close\r\n\r\n" + b'{"inputs":["a"]}')
    assert status == 400 and json.loads(body)["error"]["code"] == "bad_host_header"
    status, _ = exchange(server, b"GET /model HTTP/1.0\r\n\r\n")
    assert status == 200
    assert_still_serving(server)


def test_allowed_hosts_extends_the_list(onnx_model_dir: Path) -> None:
    import nerve
    from nerve.server.config import ServerConfig, resolve_config
    from nerve.server.http.app import create_app
    from nerve.server.metrics import ServerMetrics
    from nerve.server.service import InferenceService

    config = resolve_config({}, {"NERVE_ALLOWED_HOSTS": "ner.internal, other.internal"})
    assert config.allowed_hosts == ("ner.internal", "other.internal")
    service = InferenceService(nerve.load(onnx_model_dir, threads=1), config, ServerMetrics())
    open_config = ServerConfig(host="0.0.0.0")  # not loopback, no list: any Host

    async def scenario() -> list[int]:
        codes = []
        for app, host in (
            (create_app(service), "ner.internal"),
            (create_app(service), "localhost"),
            (create_app(service), "evil.example"),
            (create_app(InferenceService(service.engine, open_config, ServerMetrics())), "x.y"),
        ):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url=f"http://{host}") as c:
                codes.append((await c.get("/model")).status_code)
        return codes

    assert asyncio.run(scenario()) == [200, 200, 421, 200]


@pytest.mark.parametrize("content_type", [None, "text/plain", "application/x-www-form-urlencoded"])
def test_a_post_without_json_content_type_is_415(
    server: ServerProcess, content_type: str | None
) -> None:
    headers = {"Content-Type": content_type} if content_type else {}
    for route in ("/predict", "/predict_tokens", "/v1/entities"):
        response = httpx.post(
            server.url + route, content=b'{"inputs": ["a"]}', headers=headers, timeout=10
        )
        error = error_of(response, 415)
        assert error["code"] == "unsupported_media_type"
        assert "Content-Type: application/json" in error["message"]
    ok = httpx.post(
        server.url + "/predict",
        content=b'{"inputs": ["a"]}',
        headers={"Content-Type": "application/json; charset=utf-8"},
        timeout=30,
    )
    assert ok.status_code == 200
    assert_still_serving(server)


@pytest.mark.parametrize("coding", ["gzip", "br", "deflate"])
def test_a_compressed_body_is_415_naming_the_encoding(server: ServerProcess, coding: str) -> None:
    import gzip

    body = b'{"inputs": ["a"]}'
    content = gzip.compress(body) if coding == "gzip" else body  # br: bytes that are JSON
    headers = {"Content-Type": "application/json", "Content-Encoding": coding}
    for route in ("/predict", "/predict_tokens", "/v1/entities"):
        response = httpx.post(server.url + route, content=content, headers=headers, timeout=10)
        error = error_of(response, 415)
        assert error["code"] == "unsupported_media_type"
        assert f"Content-Encoding '{coding}' is not supported" in error["message"]
    identity = {"Content-Type": "application/json", "Content-Encoding": "identity"}
    ok = httpx.post(server.url + "/predict", content=body, headers=identity, timeout=30)
    assert ok.status_code == 200
    assert_still_serving(server)


def test_cors_only_when_asked(server: ServerProcess, onnx_model_dir: Path) -> None:
    origin = {"Origin": "http://page.example"}
    plain = httpx.post(server.url + "/predict", json={"inputs": ["a"]}, headers=origin)
    assert plain.status_code == 200
    assert "access-control-allow-origin" not in plain.headers
    preflight = {**origin, "Access-Control-Request-Method": "POST"}
    refused = httpx.options(server.url + "/predict", headers=preflight)
    assert "access-control-allow-origin" not in refused.headers

    import nerve
    from nerve.server.config import ServerConfig
    from nerve.server.http.app import create_app
    from nerve.server.metrics import ServerMetrics
    from nerve.server.service import InferenceService

    config = ServerConfig(cors_origins=("http://page.example",))
    service = InferenceService(nerve.load(onnx_model_dir, threads=1), config, ServerMetrics())

    async def scenario() -> tuple[httpx.Response, httpx.Response]:
        transport = httpx.ASGITransport(app=create_app(service))
        async with httpx.AsyncClient(transport=transport, base_url="http://localhost") as c:
            allowed = await c.options("/predict", headers=preflight)
            other = await c.options(
                "/predict",
                headers={"Origin": "http://evil.example", "Access-Control-Request-Method": "POST"},
            )
            return allowed, other

    allowed, other = asyncio.run(scenario())
    assert allowed.status_code == 200
    assert allowed.headers["access-control-allow-origin"] == "http://page.example"
    assert "access-control-allow-origin" not in other.headers
    # The refusal is nerve's JSON error, with no Access-Control-* header at all.
    assert other.status_code == 400
    assert not [name for name in other.headers if name.startswith("access-control-")]
    assert other.json()["error"] == {
        "code": "cors_refused",
        "message": "CORS preflight from 'http://evil.example' refused (origin); the origins "
        "allowed are set with --cors-origins",
    }


def test_the_page_sends_csp_and_frame_options(server: ServerProcess) -> None:
    page = httpx.get(server.url + "/", timeout=10)
    assert page.status_code == 200
    csp = page.headers["content-security-policy"]
    assert "frame-ancestors 'none'" in csp and "default-src 'none'" in csp
    assert "connect-src 'self'" in csp
    assert re.search(r"script-src 'sha256-[A-Za-z0-9+/=]+'", csp)
    assert "unsafe-inline" not in csp
    assert page.headers["x-frame-options"] == "DENY"


@pytest.mark.parametrize(
    ("method", "route", "allowed"),
    [
        ("GET", "/predict", {"POST"}),
        ("POST", "/health", {"GET", "HEAD"}),
        ("PUT", "/", {"GET", "HEAD"}),
    ],
)
def test_every_405_says_allow(
    server: ServerProcess, method: str, route: str, allowed: set[str]
) -> None:
    response = httpx.request(method, server.url + route, timeout=10)
    error = error_of(response, 405)
    assert error["code"] == "method_not_allowed"
    assert {m.strip() for m in response.headers["allow"].split(",")} == allowed


def test_a_client_that_sends_the_whole_big_body_gets_the_413(server: ServerProcess) -> None:
    # urllib, like most clients, sends the whole body before it reads the answer.
    body = json.dumps({"inputs": ["x" * (10 * 1024 * 1024)]}).encode()
    request = urllib.request.Request(server.url + "/predict", data=body, headers=JSON)
    with pytest.raises(urllib.error.HTTPError) as err:
        urllib.request.urlopen(request, timeout=60)
    assert err.value.code == 413
    error = json.loads(err.value.read())["error"]
    assert error["code"] == "payload_too_large" and "--max-body-bytes" in error["message"]
    assert_still_serving(server)


# -- MCP: sessions capped and expired -------------------------------------------------------------
INITIALIZE = initialize_request("reliability")
MCP_HEADERS = {"Accept": "application/json, text/event-stream", **JSON}


@pytest.fixture
def mcp_server(onnx_model_dir: Path) -> Iterator[str]:
    pytest.importorskip("mcp")
    port = free_port()
    command = [sys.executable, "-m", "nerve.cli.main", "mcp", "--model", str(onnx_model_dir)]
    command += ["--threads", "1", "--transport", "http", "--port", str(port)]
    command += ["--mcp-max-sessions", "3", "--mcp-session-idle-timeout", "2"]
    proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}/mcp"
    try:
        deadline = time.monotonic() + 60
        while True:
            assert proc.poll() is None, "nerve mcp exited"
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=1):
                    break
            except OSError:
                assert time.monotonic() < deadline, "nerve mcp did not start listening"
                time.sleep(0.2)
        yield url
    finally:
        proc.terminate()
        proc.wait(30)


def test_mcp_sessions_are_capped_and_expire(mcp_server: str) -> None:
    def initialize() -> httpx.Response:
        return httpx.post(mcp_server, json=INITIALIZE, headers=MCP_HEADERS, timeout=30)

    opened = [initialize() for _ in range(3)]
    assert all(r.status_code == 200 for r in opened), [r.text for r in opened]
    sessions = [r.headers["mcp-session-id"] for r in opened]
    refused = initialize()
    assert refused.status_code == 503
    message = refused.json()["error"]["message"]
    assert "--mcp-max-sessions" in message and "--mcp-session-idle-timeout" in message
    time.sleep(4)  # idle timeout 2 s: all three expire
    again = initialize()
    assert again.status_code == 200, again.text
    expired = httpx.post(
        mcp_server,
        json={"jsonrpc": "2.0", "id": 2, "method": "ping"},
        headers={**MCP_HEADERS, "mcp-session-id": sessions[0]},
        timeout=30,
    )
    assert expired.status_code == 404
