"""The extract_entities tool in-process (the SDK's in-memory client): schema, answers, errors."""

from __future__ import annotations

from typing import Any

import anyio
import pytest
from mcp import Client

import nerve
from nerve.mcp.server import create_server
from nerve.mcp.settings import McpSettings
from nerve.mcp.tool import TOOL_NAME, input_texts
from nerve.server.config import ServerConfig
from nerve.server.metrics import ServerMetrics
from nerve.server.service import InferenceService

TEXTS = ["Mozilla is headquartered in San Francisco, CA", "Yvon Chouinard founded Patagonia."]


def expected(
    engine: nerve.Engine, texts: list[str], strategy: str
) -> list[list[dict[str, object]]]:
    return [
        [
            {"label": e.label, "text": r.text[e.start : e.end], "start": e.start, "end": e.end}
            for e in r.entities
        ]
        for r in engine(texts, aggregation_strategy=strategy)
    ]


def entities(structured: Any) -> list[list[dict[str, object]]]:
    return [
        [{k: e[k] for k in ("label", "text", "start", "end")} for e in r["entities"]]
        for r in structured["results"]
    ]


def call(engine: nerve.Engine, calls: list[dict[str, object]], **limits: Any) -> list[Any]:
    """Run tool calls against an in-process server; returns the CallToolResults."""
    service = InferenceService(engine, ServerConfig(**limits), ServerMetrics())
    service.start()
    server = create_server(service, McpSettings(aggregation="max"))

    async def scenario() -> list[Any]:
        async with Client(server) as client:
            tools = await client.list_tools()
            assert [t.name for t in tools.tools] == [TOOL_NAME, "run_encoder"]
            return [await client.call_tool(TOOL_NAME, args) for args in calls]

    try:
        return anyio.run(scenario)
    finally:
        service.close()


def test_tool_answers_equal_the_python_api(mcp_engine: nerve.Engine) -> None:
    one, many, simple = call(
        mcp_engine,
        [
            {"text": TEXTS[0]},
            {"texts": TEXTS},
            {"texts": TEXTS, "aggregation_strategy": "simple"},
        ],
    )
    assert not one.is_error
    assert one.structured_content["aggregation_strategy"] == "max"  # the server's default
    assert entities(one.structured_content) == expected(mcp_engine, TEXTS[:1], "max")
    assert entities(many.structured_content) == expected(mcp_engine, TEXTS, "max")
    assert entities(simple.structured_content) == expected(mcp_engine, TEXTS, "simple")
    scores = [e["score"] for r in one.structured_content["results"] for e in r["entities"]]
    want = [e.score for e in mcp_engine(TEXTS[0], aggregation_strategy="max").entities]
    assert scores == pytest.approx(want, abs=1e-6)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ({"text": "a", "texts": ["b"]}, "give exactly one of `text`"),
        ({}, "give exactly one of `text`"),
        ({"texts": ["a", "b", "c"]}, "the limit is 2"),
        ({"text": "x" * 60}, "the limit is 50"),
        ({"text": "a", "aggregation_strategy": "longest"}, "aggregation_strategy"),
    ],
)
def test_bad_calls_are_tool_errors_with_a_message(
    mcp_engine: nerve.Engine, args: dict[str, object], message: str
) -> None:
    (result,) = call(mcp_engine, [args], max_client_batch_size=2, max_input_chars=50)
    assert result.is_error
    assert message in result.content[0].text


def test_input_texts() -> None:
    assert input_texts("a", None) == ["a"]
    assert input_texts(None, ["a", "b"]) == ["a", "b"]
    with pytest.raises(nerve.InvalidInput):
        input_texts(None, None)


@pytest.mark.parametrize("port", [-1, 65536])
def test_settings_refuse_a_port_out_of_range(port: int) -> None:
    from nerve.errors import InvalidInput

    with pytest.raises(
        InvalidInput, match=f"--port must be a port number \\(0-65535\\), got {port}"
    ):
        McpSettings(transport="http", port=port)
