"""The MCP extract_entities tool over a DeBERTa-v3 and a ModernBERT model."""

from __future__ import annotations

from typing import Any

import pytest
from test_mcp_tool import TEXTS, call, entities, expected

import nerve


@pytest.mark.parametrize("name", ["deberta-v3", "modernbert"])
def test_tool_answers_equal_the_python_api(family_model_dir: Any, name: str) -> None:
    engine = nerve.load(family_model_dir(name), backend="torch")
    (result,) = call(engine, [{"texts": TEXTS, "aggregation_strategy": "first"}])
    assert not result.is_error
    assert entities(result.structured_content) == expected(engine, TEXTS, "first")
