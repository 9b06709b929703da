"""encoderfile's MCP tool `run_encoder` over stdio: listed next to `extract_entities`, takes
encoderfile's request (`inputs`, `metadata`) and returns the `/predict` body."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

import anyio
import pytest
from mcp import ClientSession, StdioServerParameters, stdio_client

import nerve
from nerve.mcp.run_encoder import TOOL_NAME
from nerve.server.wire.encoderfile import PREDICT_OPTIONS, predict_json, token_rows

TEXTS = ["Mozilla is headquartered in San Francisco, CA", "Paris \u2603"]


def test_run_encoder_over_stdio(mcp_model_dir: Path, mcp_engine: nerve.Engine) -> None:
    params = StdioServerParameters(
        command=sys.executable,
        args=["-m", "nerve.cli.main", "mcp", "--model", str(mcp_model_dir), "--threads", "1"],
        env=dict(os.environ),  # the SDK passes only a few variables by default: keep PYTHONPATH
    )

    async def scenario() -> tuple[list[str], Any, Any, Any]:
        async with stdio_client(params) as (read, write), ClientSession(read, write) as session:
            await session.initialize()
            tools = [t.name for t in (await session.list_tools()).tools]
            ok = await session.call_tool(TOOL_NAME, {"inputs": TEXTS, "metadata": {"k": "v"}})
            bare = await session.call_tool(TOOL_NAME, {"inputs": TEXTS[:1]})
            empty = await session.call_tool(TOOL_NAME, {"inputs": [""]})
            return tools, ok, bare, empty

    tools, ok, bare, empty = anyio.run(scenario)
    assert {"extract_entities", "run_encoder"} <= set(tools)

    results = mcp_engine(
        TEXTS,
        aggregation_strategy=PREDICT_OPTIONS.aggregation_strategy,
        ignore_labels=list(PREDICT_OPTIONS.ignore_labels),
        raw_scores=PREDICT_OPTIONS.raw_scores,
    )
    rows = [token_rows(r, mcp_engine.vocabulary_piece) for r in results]
    want = predict_json(rows, ok.structured_content["model_id"], {"k": "v"})
    assert not ok.is_error
    got = ok.structured_content
    assert got["metadata"] == {"k": "v"}
    assert len(got["results"]) == 2
    for g, w in zip(got["results"], want["results"], strict=True):
        assert len(g["tokens"]) == len(w["tokens"]) > 0
        for gt, wt in zip(g["tokens"], w["tokens"], strict=True):
            assert gt["token_info"] == wt["token_info"]
            assert gt["label"] == wt["label"]
            assert gt["scores"] == pytest.approx(wt["scores"], abs=1e-6)
    assert "[UNK]" in [t["token_info"]["token"] for t in got["results"][1]["tokens"]]
    assert not bare.is_error and bare.structured_content.get("metadata") is None
    assert empty.is_error
    assert "inputs[0] is an empty string" in empty.content[0].text
