"""``nerve serve`` as a command: its startup line, and clean failures before serving."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from .procs import ServerProcess, free_port, start_server


def serve(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "nerve.cli.main", "serve", *args],
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_startup_line_says_what_listens_where(server: ServerProcess, model_dir: Path) -> None:
    line = server.log_line("nerve serve:")
    assert f"HTTP on http://127.0.0.1:{server.http_port}" in line
    assert f"gRPC on 127.0.0.1:{server.grpc_port}" in line
    assert f"model {model_dir.name}" in line and str(model_dir) in line
    assert "backend torch" in line and "device cpu" in line


def test_a_taken_port_is_a_clean_error(model_dir: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = serve("--model", str(model_dir), "--http-port", str(port), "--disable-grpc")
    assert done.returncode == 2
    assert f"cannot listen for HTTP on 127.0.0.1:{port}" in done.stderr
    assert "(choose another with --http-port)" in done.stderr
    assert "Traceback" not in done.stderr and "Errno" not in done.stderr, done.stderr


@pytest.mark.parametrize("flag", ["--model", "-m"])  # -m as in every other command
def test_a_missing_model_is_a_clean_error(tmp_path: Path, flag: str) -> None:
    done = serve(flag, str(tmp_path / "nowhere"), "--http-port", str(free_port()))
    assert done.returncode == 2
    assert "nerve serve: error:" in done.stderr and "nowhere" in done.stderr
    assert "Traceback" not in done.stderr


def test_bad_environment_value_is_a_clean_error(model_dir: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "nerve.cli.main", "serve", "--model", str(model_dir)],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "NERVE_HTTP_PORT": "eighty"},
    )
    assert done.returncode == 2
    assert "NERVE_HTTP_PORT" in done.stderr


@pytest.mark.parametrize(
    ("variable", "value", "named"),
    [
        ("NERVE_DEVICE", "foo", "--device (set by NERVE_DEVICE)"),
        ("NERVE_ONNX_FILE", "q4", "--onnx-file (set by NERVE_ONNX_FILE)"),
    ],
)
def test_a_refusal_while_starting_names_the_variable_that_was_set(
    model_dir: Path, variable: str, value: str, named: str
) -> None:
    """Checked when the model loads, after the settings: the message named the flag alone."""
    done = subprocess.run(
        [sys.executable, "-m", "nerve.cli.main", "serve", "--model", str(model_dir)]
        + ["--http-port", str(free_port()), "--disable-grpc"],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, variable: value},
    )
    assert done.returncode == 2, done.stderr
    assert named in done.stderr and "Traceback" not in done.stderr


def test_grpc_can_bind_its_own_address(model_dir: Path, tmp_path: Path) -> None:
    grpc = pytest.importorskip("grpc")
    from grpc_health.v1 import health_pb2, health_pb2_grpc

    # 127.0.0.2 is loopback too on Linux: two addresses without leaving the machine.
    server = start_server(model_dir, tmp_path, "--threads", "1", "--grpc-host", "127.0.0.2")
    try:
        line = server.log_line("nerve serve:")
        assert f"HTTP on http://127.0.0.1:{server.http_port}" in line
        assert f"gRPC on 127.0.0.2:{server.grpc_port}" in line
        request = health_pb2.HealthCheckRequest(service="")
        with grpc.insecure_channel(f"127.0.0.2:{server.grpc_port}") as channel:
            reply = health_pb2_grpc.HealthStub(channel).Check(request, timeout=10)
            assert reply.status == health_pb2.HealthCheckResponse.SERVING
        with grpc.insecure_channel(f"127.0.0.1:{server.grpc_port}") as channel:
            with pytest.raises(grpc.RpcError) as refused:
                health_pb2_grpc.HealthStub(channel).Check(request, timeout=5)
            assert refused.value.code() == grpc.StatusCode.UNAVAILABLE
    finally:
        assert server.stop() == 0
