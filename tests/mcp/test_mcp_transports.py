"""`nerve mcp` as a real process: stdio (an agent starts it) and Streamable HTTP (/mcp)."""

from __future__ import annotations

import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import anyio
import httpx
from mcp import ClientSession, StdioServerParameters, stdio_client
from mcp.client.streamable_http import streamable_http_client
from mcp.shared._httpx_utils import create_mcp_http_client

import nerve
from nerve.mcp.tool import TOOL_NAME

TEXT = "Mozilla is headquartered in San Francisco, CA"
NERVE = [sys.executable, "-m", "nerve.cli.main", "mcp"]


def expected(engine: nerve.Engine, strategy: str) -> list[tuple[str, int, int]]:
    return [(e.label, e.start, e.end) for e in engine(TEXT, aggregation_strategy=strategy).entities]


def spans(structured: Any) -> list[tuple[str, int, int]]:
    return [(e["label"], e["start"], e["end"]) for e in structured["results"][0]["entities"]]


async def use(read: Any, write: Any, args: dict[str, object]) -> Any:
    async with ClientSession(read, write) as session:
        await session.initialize()
        return await session.call_tool(TOOL_NAME, args)


def test_stdio(mcp_model_dir: Path, mcp_engine: nerve.Engine) -> None:
    params = StdioServerParameters(
        command=NERVE[0],
        args=[*NERVE[1:], "--model", str(mcp_model_dir), "--threads", "1", "-a", "first"],
    )

    async def scenario() -> Any:
        async with stdio_client(params) as (read, write):
            return await use(read, write, {"text": TEXT})

    result = anyio.run(scenario)
    assert not result.is_error
    assert spans(result.structured_content) == expected(mcp_engine, "first")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_listening(proc: subprocess.Popen[bytes], port: int) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        assert proc.poll() is None, proc.stdout.read().decode() if proc.stdout else ""
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            time.sleep(0.2)
    raise AssertionError("nerve mcp --transport http did not start listening")


def test_streamable_http_with_api_key(mcp_model_dir: Path, mcp_engine: nerve.Engine) -> None:
    port = _free_port()
    proc = subprocess.Popen(
        [*NERVE, "--model", str(mcp_model_dir), "--threads", "1", "--transport", "http"]
        + ["--port", str(port), "--api-key", "s3cret"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        _wait_listening(proc, port)
        url = f"http://127.0.0.1:{port}/mcp"
        refused = httpx.post(url, json={"jsonrpc": "2.0", "id": 1, "method": "ping"})
        assert refused.status_code == 401

        async def scenario() -> Any:
            client = create_mcp_http_client(headers={"Authorization": "Bearer s3cret"})
            async with client, streamable_http_client(url, http_client=client) as (read, write):
                return await use(read, write, {"text": TEXT, "aggregation_strategy": "max"})

        result = anyio.run(scenario)
        assert not result.is_error
        assert spans(result.structured_content) == expected(mcp_engine, "max")
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=30) == 0


def test_a_taken_port_is_one_line_naming_the_flag(mcp_model_dir: Path) -> None:
    """Said before the 'Streamable HTTP on ...' line, not as uvicorn's Errno 98 and exit 3."""
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = subprocess.run(
            [*NERVE, "--model", str(mcp_model_dir), "--transport", "http", "--port", str(port)],
            capture_output=True,
            text=True,
            timeout=120,
        )
    assert done.returncode == 2, done.stderr
    assert done.stderr.strip().splitlines()[-1] == (
        f"nerve mcp: error: cannot listen for MCP HTTP on 127.0.0.1:{port}: address already in "
        "use (choose another with --port)"
    )
    assert "Streamable HTTP on" not in done.stderr and "Errno" not in done.stderr


def test_port_zero_announces_the_port_it_got(mcp_model_dir: Path) -> None:
    """The line said http://127.0.0.1:0/mcp; only uvicorn's own line told the real port."""
    proc = subprocess.Popen(
        [*NERVE, "--model", str(mcp_model_dir), "--threads", "1", "--transport", "http"]
        + ["--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        assert proc.stdout is not None
        announced = None
        deadline = time.monotonic() + 60
        while announced is None and time.monotonic() < deadline:
            line = proc.stdout.readline()
            assert line, "nerve mcp exited before announcing where it listens"
            found = re.search(r"Streamable HTTP on http://127\.0\.0\.1:(\d+)/mcp", line)
            announced = int(found.group(1)) if found else None
        assert announced, "no announcement within 60 s"
        _wait_listening(proc, announced)  # the announced port is the one it listens on
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=30) == 0
