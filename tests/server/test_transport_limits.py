"""The HTTP protocol layer's own limits (nerve.server.http.transport) against the real
server: an over-size request head gets 431 and the connection closes; a keep-alive connection
carries request after request; the server serves on."""

from __future__ import annotations

import json
import re
import socket

import httpx

from nerve.server.http.transport import MAX_HEAD_BYTES

from .procs import ServerProcess


def _exchange(port: int, data: bytes, timeout: float = 10.0) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as conn:
        conn.sendall(data)
        chunks = []
        while chunk := conn.recv(65536):  # the server closes after its answer
            chunks.append(chunk)
    return b"".join(chunks)


def test_an_oversize_request_head_gets_431_and_a_close(server: ServerProcess) -> None:
    filler = b"x" * (MAX_HEAD_BYTES + 1024)
    head = b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Filler: " + filler + b"\r\n\r\n"
    answer = _exchange(server.http_port, head)
    status, _, rest = answer.partition(b"\r\n")
    assert status == b"HTTP/1.1 431 Request Header Fields Too Large"
    assert b"connection: close" in rest.lower()
    body = json.loads(rest.split(b"\r\n\r\n", 1)[1])
    assert body["error"]["code"] == "headers_too_large"
    assert httpx.get(server.url + "/health", timeout=5).status_code == 200


def test_a_head_just_under_the_cap_is_served(server: ServerProcess) -> None:
    filler = b"x" * (MAX_HEAD_BYTES - 200)
    head = (
        b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\nX-Filler: "
        + filler
        + b"\r\n\r\n"
    )
    assert _exchange(server.http_port, head).startswith(b"HTTP/1.1 200 ")


def test_keep_alive_carries_many_requests_on_one_connection(server: ServerProcess) -> None:
    body = json.dumps({"inputs": [["Angela Merkel visited Paris."]]}).encode()
    request = (
        b"POST /predict_tokens HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        b"Content-Type: application/json\r\nContent-Length: "
        + str(len(body)).encode()
        + b"\r\n\r\n"
        + body
    )
    last = request.replace(b"Host: 127.0.0.1\r\n", b"Host: 127.0.0.1\r\nConnection: close\r\n")
    # Five requests pipelined in one write, the last asking to close: five answers, in order.
    answer = _exchange(server.http_port, request * 4 + last)
    assert answer.count(b"HTTP/1.1 200 OK") == 5


def test_unparseable_http_gets_a_json_400_and_a_close(server: ServerProcess) -> None:
    bad = [
        b"POST /predict HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 5\r\nContent-Length: 6"
        b"\r\n\r\nhello!",
        b"POST /predict HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: abc\r\n\r\n",
        b"POST /predict HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
        b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n",  # an HTTP/2 client's preface
    ]
    for request in bad:
        status, _, rest = _exchange(server.http_port, request).partition(b"\r\n")
        assert status == b"HTTP/1.1 400 Bad Request", (request, status)
        head, _, body = rest.partition(b"\r\n\r\n")
        assert b"content-type: application/json" in head.lower()
        assert b"connection: close" in head.lower()
        assert json.loads(body)["error"]["code"] == "invalid_http"
    assert httpx.get(server.url + "/health", timeout=5).status_code == 200


def test_requests_pipelined_before_bad_bytes_are_answered_first(server: ServerProcess) -> None:
    """uvicorn closed the connection at the bad bytes, under the answers of the complete
    requests sent before them: a client lost valid answers with no error for them."""
    body = json.dumps({"inputs": [["Angela Merkel visited Paris."]]}).encode()
    model_request = (
        b"POST /predict_tokens HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        b"Content-Type: application/json\r\nContent-Length: "
        + str(len(body)).encode()
        + b"\r\n\r\n"
        + body
    )
    health = b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
    answer = _exchange(server.http_port, model_request + health + b"GARBAGE \x00\x01\r\n\r\n")
    statuses = re.findall(rb"HTTP/1\.1 \d{3} [A-Za-z ]+", answer)  # bodies end without CRLF
    assert statuses == [b"HTTP/1.1 200 OK", b"HTTP/1.1 200 OK", b"HTTP/1.1 400 Bad Request"]
    # The answers themselves, in order: the model's tokens, the health answer, the error.
    assert answer.index(b'"B-PER"') < answer.index(b'"OK!"') < answer.index(b"invalid_http")
    # A body that breaks its own framing is the bad request itself: 400 at once.
    broken = (
        b"POST /predict HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        b"Transfer-Encoding: chunked\r\n\r\nZZ\r\nabc\r\n"
    )
    assert _exchange(server.http_port, health + broken).count(b"HTTP/1.1 ") == 2
    assert httpx.get(server.url + "/health", timeout=5).status_code == 200


def test_a_trailing_slash_is_a_404_naming_the_route(server: ServerProcess) -> None:
    for method, path in (("GET", "/health/"), ("POST", "/v1/entities/")):
        response = httpx.request(method, server.url + path, json={"inputs": ["a"]}, timeout=5)
        assert response.status_code == 404, (path, response.status_code)
        error = response.json()["error"]
        assert error == {
            "code": "not_found",
            "message": f"no route {path} (did you mean {path[:-1]}?)",
        }
    assert httpx.get(server.url + "/nowhere", timeout=5).json()["error"]["message"] == (
        "no route /nowhere"
    )
