"""One rule for defaults (issue 12, item 4): nerve's own surfaces share one aggregation
strategy; the pipeline-compatible routes keep their contracts' ``none``."""

from __future__ import annotations

import argparse

import pytest

import nerve
from nerve.cli.main import build_parser
from nerve.types import DEFAULT_AGGREGATION, Aggregation, InferenceOptions


def _subparser(name: str) -> argparse.ArgumentParser:
    parser = build_parser()
    action = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return action.choices[name]  # type: ignore[no-any-return]


def test_python_api_default() -> None:
    assert InferenceOptions().aggregation_strategy is DEFAULT_AGGREGATION
    engine = nerve.load()  # the embedded default model, ONNX: no torch needed
    text = "WASHINGTON (Reuters) - Tim Cook visited Paris."
    assert engine(text) == engine(text, aggregation_strategy=DEFAULT_AGGREGATION)


def test_cli_defaults() -> None:
    assert _subparser("infer").get_default("aggregation") == DEFAULT_AGGREGATION.value
    assert _subparser("mcp").get_default("aggregation") == DEFAULT_AGGREGATION.value


def test_native_route_and_mcp_default() -> None:
    pytest.importorskip("starlette")
    from nerve.mcp.settings import McpSettings
    from nerve.server.config import ServerConfig
    from nerve.server.http.openapi import WindowRules, openapi_document
    from nerve.server.wire.native import parse_entities

    assert parse_entities({"inputs": ["x"]}).options.aggregation_strategy is DEFAULT_AGGREGATION
    assert McpSettings().aggregation == DEFAULT_AGGREGATION.value
    document = openapi_document(ServerConfig(), WindowRules(3, 128, {128: 62}))
    schemas = document["components"]["schemas"]
    field = schemas["EntitiesRequest"]["properties"]["aggregation_strategy"]
    strategy = field["anyOf"][0]  # null also means "not given"
    assert strategy["default"] == DEFAULT_AGGREGATION.value
    assert strategy["examples"] == [a.value for a in Aggregation]


def test_pipeline_compatible_routes_keep_none() -> None:
    pytest.importorskip("starlette")
    from nerve.server.wire.baseten import parse_predict_tokens
    from nerve.server.wire.encoderfile import PREDICT_OPTIONS

    assert parse_predict_tokens({"inputs": [["x"]]}).options.aggregation_strategy is (
        Aggregation.NONE
    )
    assert PREDICT_OPTIONS.aggregation_strategy is Aggregation.NONE


def test_build_config_default() -> None:
    from nerve.build.config import NerveOptions

    assert NerveOptions().aggregation == DEFAULT_AGGREGATION.value


def test_the_error_classes_are_as_the_readme_says() -> None:
    """README, "Errors": one base class with a code each; not ValueError."""
    import nerve
    from nerve import errors

    named = ["InvalidInput", "InputTooLong", "ModelLoadError", "DataError", "MissingExtra",
             "OutputError"]  # fmt: skip
    for name in named:
        cls = getattr(errors, name)
        assert issubclass(cls, errors.NerveError) and not issubclass(cls, ValueError)
        assert isinstance(cls.code, str) and cls.code != errors.NerveError.code
    assert issubclass(errors.InputTooLong, errors.InvalidInput)
    engine = nerve.load()
    try:
        engine("Paris", aggregation_strategy="bogus")
    except errors.InvalidInput as exc:
        assert exc.code == "invalid_input" and "bogus" in str(exc)
    else:
        raise AssertionError("an unknown strategy was accepted")
