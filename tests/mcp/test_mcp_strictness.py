"""`nerve mcp` answers every line and refuses what its tools do not take: a stdio line that is
not a JSON-RPC message gets a JSON-RPC error (the client waited forever before); unknown tool
arguments are a tool error naming them (they were dropped silently); the admission limits the
tools' refusals name are flags of `nerve mcp` too."""

from __future__ import annotations

import json
import selectors
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import anyio
from mcp import ClientSession, StdioServerParameters, stdio_client

from nerve.cli.main import main
from nerve.mcp.tool import TOOL_NAME
from support.mcp_messages import INITIALIZED, initialize_request

NERVE = [sys.executable, "-m", "nerve.cli.main", "mcp"]


class StdioPeer:
    """A raw line-level client of `nerve mcp` on stdio, with bounded reads."""

    def __init__(self, model_dir: Path, *args: str) -> None:
        command = [*NERVE, "--model", str(model_dir), "--threads", "1", *args]
        self.proc = subprocess.Popen(
            command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE
        )
        self._selector = selectors.DefaultSelector()
        assert self.proc.stdout is not None
        self._selector.register(self.proc.stdout, selectors.EVENT_READ)
        self._buffer = b""

    def send(self, line: bytes) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(line + b"\n")
        self.proc.stdin.flush()

    def receive(self, timeout: float = 60.0) -> dict[str, Any]:
        assert self.proc.stdout is not None
        deadline = time.monotonic() + timeout
        while b"\n" not in self._buffer:
            left = deadline - time.monotonic()
            assert left > 0, "no answer from nerve mcp"
            if self._selector.select(left):
                chunk = self.proc.stdout.read1(65536)  # type: ignore[attr-defined]
                assert chunk, "nerve mcp closed stdout"
                self._buffer += chunk
        line, _, self._buffer = self._buffer.partition(b"\n")
        return dict(json.loads(line))

    def initialize(self) -> None:
        self.send(json.dumps(initialize_request("test")).encode())
        assert self.receive()["id"] == 1
        self.send(json.dumps(INITIALIZED).encode())

    def close(self) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.close()
        try:
            self.proc.wait(30)
        finally:
            if self.proc.poll() is None:
                self.proc.kill()
                self.proc.wait()


def _call(request_id: int, arguments: str) -> bytes:
    return (
        f'{{"jsonrpc": "2.0", "id": {request_id}, "method": "tools/call", '
        f'"params": {{"name": "{TOOL_NAME}", "arguments": {arguments}}}}}'
    ).encode()


def test_every_stdio_line_gets_an_answer(mcp_model_dir: Path) -> None:
    peer = StdioPeer(mcp_model_dir)
    try:
        peer.initialize()
        # JSON, but a string with half a UTF-16 pair: answered on the request's own id.
        peer.send(_call(2, '{"text": "Tim Cook \\ud83d"}'))
        answer = peer.receive()
        assert answer["id"] == 2 and answer["error"]["code"] == -32600
        assert "lone surrogate" in answer["error"]["message"]
        # Not JSON at all (a line cut short): a parse error, id null as JSON-RPC asks.
        peer.send(_call(3, '{"text": "Tim Cook"}')[:-1])
        answer = peer.receive()
        assert answer["id"] is None and answer["error"]["code"] == -32700
        # A JSON object that is no message: Invalid Request on its id.
        peer.send(b'{"jsonrpc": "2.0", "id": 4}')
        answer = peer.receive()
        assert answer["id"] == 4 and answer["error"]["code"] == -32600
        # And the session goes on.
        peer.send(_call(5, '{"text": "Tim Cook"}'))
        answer = peer.receive()
        assert answer["id"] == 5 and answer["result"]["isError"] is False
    finally:
        peer.close()
    assert peer.proc.returncode == 0


def test_unknown_arguments_are_refused_and_the_schema_says_so(mcp_model_dir: Path) -> None:
    params = StdioServerParameters(
        command=NERVE[0], args=[*NERVE[1:], "--model", str(mcp_model_dir), "--threads", "1"]
    )

    async def scenario() -> tuple[Any, Any, Any, Any]:
        async with stdio_client(params) as (read, write), ClientSession(read, write) as session:
            await session.initialize()
            tools = await session.list_tools()
            typo = await session.call_tool(TOOL_NAME, {"text": "Tim Cook", "aggregation": "max"})
            extra = await session.call_tool("run_encoder", {"inputs": ["Tim"], "extra": 1})
            fine = await session.call_tool(TOOL_NAME, {"text": "Tim Cook"})
            return tools, typo, extra, fine

    tools, typo, extra, fine = anyio.run(scenario)
    assert all(t.input_schema.get("additionalProperties") is False for t in tools.tools)
    assert typo.is_error
    assert typo.content[0].text == (
        "unknown argument(s) ['aggregation']; extract_entities takes aggregation_strategy, "
        "text, texts"
    )
    assert extra.is_error and "unknown argument(s) ['extra']" in extra.content[0].text
    assert not fine.is_error


def test_the_token_limits_the_tools_name_are_flags_of_nerve_mcp(mcp_model_dir: Path) -> None:
    params = StdioServerParameters(
        command=NERVE[0],
        args=[
            *NERVE[1:], "--model", str(mcp_model_dir), "--threads", "1",
            "--max-request-tokens", "40", "--max-queued-tokens", "1000",
        ],
    )  # fmt: skip

    async def scenario() -> Any:
        async with stdio_client(params) as (read, write), ClientSession(read, write) as session:
            await session.initialize()
            return await session.call_tool(TOOL_NAME, {"text": "Tim Cook " * 40})

    result = anyio.run(scenario)
    assert result.is_error
    assert "the limit is 40 (--max-request-tokens)" in result.content[0].text


def test_mcp_token_limits_are_checked_and_the_help_lists_both_tools(
    mcp_model_dir: Path, capsys: Any
) -> None:
    code = main(
        ["mcp", "--model", str(mcp_model_dir), "--max-request-tokens", "100",
         "--max-queued-tokens", "50"]
    )  # fmt: skip
    assert code == 2
    assert "--max-request-tokens (100) must not exceed --max-queued-tokens (50)" in (
        capsys.readouterr().err
    )
    help_text = subprocess.run(
        [*NERVE, "--help"], capture_output=True, text=True, timeout=60
    ).stdout
    assert "Two tools: extract_entities" in help_text and "run_encoder" in help_text
    assert "--max-request-tokens" in help_text and "--max-concurrent-requests" in help_text
