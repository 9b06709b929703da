"""Settings resolution (flags over NERVE_* over defaults), the error table, API-key parsing."""

from __future__ import annotations

import dataclasses
import re

import pytest

from nerve.cli.main import build_parser
from nerve.errors import InputTooLong, InvalidInput, ModelLoadError, NerveError, Overloaded
from nerve.server import config as config_module
from nerve.server.auth import ApiKey, presented_keys
from nerve.server.config import ServerConfig, resolve_config
from nerve.server.errors import (
    STATUSES,
    InputTooLarge,
    InvalidJson,
    ModelFailure,
    PayloadTooLarge,
    RequestTooLarge,
    TooManyInputs,
    Unauthorized,
    error_body,
    grpc_status_name,
    http_status,
)


def flags(*argv: str) -> dict[str, object]:
    args = build_parser().parse_args(["serve", *argv])
    return {k: v for k, v in vars(args).items() if k not in ("command", "run")}


def test_defaults_bind_loopback_only() -> None:
    config = resolve_config(flags(), {})
    assert config == ServerConfig()
    assert config.host == "127.0.0.1"


def test_environment_fills_what_flags_leave_out_and_flags_win() -> None:
    env = {
        "NERVE_HTTP_PORT": "9000",
        "NERVE_GRPC_PORT": "9001",
        "NERVE_API_KEY": "from-env",
        "NERVE_STRICT_LENGTH": "true",
        "NERVE_REQUEST_TIMEOUT": "2.5",
        "NERVE_DISABLE_GRPC": "1",
    }
    config = resolve_config(flags("--http-port", "7000", "--model-id", "m"), env)
    assert config.http_port == 7000  # flag beats NERVE_HTTP_PORT
    assert config.grpc_port == 9001
    assert config.api_key == "from-env"
    assert config.strict_length is True and config.disable_grpc is True
    assert config.request_timeout == 2.5
    assert config.model_id == "m"


def test_every_setting_has_a_flag_and_an_environment_parser() -> None:
    names = {f.name for f in dataclasses.fields(ServerConfig)}
    assert names == set(config_module._PARSERS)
    assert names == set(flags())


@pytest.mark.parametrize(
    ("env", "message"),
    [
        (
            {"NERVE_HTTP_PORT": "eighty"},
            "NERVE_HTTP_PORT='eighty' .--http-port.: expected an integer$",
        ),
        ({"NERVE_REQUEST_TIMEOUT": "soon"}, "NERVE_REQUEST_TIMEOUT='soon' .* expected a number$"),
        # Not checked before: the loader's message named neither the flag nor the variable.
        ({"NERVE_DTYPE": "fp16"}, "--dtype must be one of float32, float16, bfloat16, got 'fp16'"),
        ({"NERVE_STRICT_LENGTH": "maybe"}, "NERVE_STRICT_LENGTH"),
        ({"NERVE_MAX_BATCH_TOKENS": "0"}, "--max-batch-tokens must be a positive"),
        ({"NERVE_DISABLE_HTTP": "1", "NERVE_DISABLE_GRPC": "1"}, "nothing to serve"),
        ({"NERVE_GRACEFUL_TIMEOUT": "0"}, "--graceful-timeout must be a number of seconds above 0"),
        ({"NERVE_HEADER_TIMEOUT": "-1"}, "--header-timeout must be .* got -1"),
        # NaN passes a plain `<= 0` check and never fires; inf overflows the joins that take it.
        ({"NERVE_HEADER_TIMEOUT": "nan"}, "--header-timeout must be .* got nan"),
        ({"NERVE_BODY_TIMEOUT": "nan"}, "--body-timeout must be .* got nan"),
        (
            {"NERVE_GRACEFUL_TIMEOUT": "inf"},
            "--graceful-timeout must be .*at most 86,400 .a day., got inf",
        ),
        ({"NERVE_REQUEST_TIMEOUT": "1e10"}, "--request-timeout must be .* got 10000000000.0"),
        ({"NERVE_KEEP_ALIVE_TIMEOUT": "NaN"}, "--keep-alive-timeout must be .* got nan"),
        ({"NERVE_MAX_CONNECTIONS": "0"}, "--max-connections must be a positive"),
        (
            {"NERVE_ALLOWED_HOSTS": "http://bar.test"},
            "--allowed-hosts takes host names .*'http://bar.test'",
        ),
        ({"NERVE_ALLOWED_HOSTS": "ok.test, bar.test/x"}, "--allowed-hosts .*'bar.test/x'"),
        (
            {"NERVE_MAX_REQUEST_TOKENS": "5000", "NERVE_MAX_QUEUED_TOKENS": "4000"},
            "--max-request-tokens .5000. must not exceed --max-queued-tokens .4000.",
        ),
        # A traceback from logging.basicConfig before; the flag's choices now.
        ({"NERVE_LOG_LEVEL": "verbose"}, "--log-level must be one of debug, info, .*'verbose'"),
        ({"NERVE_LOG_LEVEL": ""}, "--log-level must be one of .* got ''"),
        # An empty variable turned authentication off without a word.
        ({"NERVE_API_KEY": ""}, "--api-key .NERVE_API_KEY. must not be empty"),
        # Keys no client can send: header parsers trim the ends; headers carry ASCII.
        ({"NERVE_API_KEY": " ab cd "}, "--api-key .* visible ASCII characters without spaces"),
        ({"NERVE_API_KEY": "clé"}, "--api-key .* visible ASCII characters without spaces"),
        ({"NERVE_BACKEND": "foo"}, "--backend must be one of auto, torch, onnx, got 'foo'"),
        ({"NERVE_CORS_ORIGINS": "https://app.example/"}, "--cors-origins takes origins .*/'"),
        ({"NERVE_CORS_ORIGINS": "app.example"}, "--cors-origins takes origins .*'app.example'"),
    ],
)
def test_bad_settings_name_the_setting(env: dict[str, str], message: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        resolve_config(flags(), env)
    text = str(caught.value)
    assert re.search(message, re.sub(r" \(set by NERVE_[A-Z_]+\)", "", text)), text
    # The values came from variables: a flag the message names is named with its variable,
    # which is what the operator set.
    for variable in env:
        flag = "--" + variable.removeprefix("NERVE_").lower().replace("_", "-")
        if flag in text:
            assert variable in text, text


def test_a_bad_value_from_a_flag_names_the_flag_alone() -> None:
    # Only a value that came from its variable is named by the variable: the operator who
    # typed the flag has no variable to change.
    with pytest.raises(InvalidInput) as caught:
        resolve_config({**flags(), "max_batch_tokens": 0}, {"NERVE_MAX_BATCH_TOKENS": "64"})
    assert str(caught.value) == "--max-batch-tokens must be a positive integer, got 0"


@pytest.mark.parametrize(
    ("error", "http", "grpc"),
    [
        (InvalidJson("x"), 400, "INVALID_ARGUMENT"),
        (InvalidInput("x"), 422, "INVALID_ARGUMENT"),
        (InputTooLong("x"), 422, "INVALID_ARGUMENT"),
        (TooManyInputs("x"), 413, "INVALID_ARGUMENT"),
        (InputTooLarge("x"), 413, "INVALID_ARGUMENT"),
        (RequestTooLarge("x"), 413, "INVALID_ARGUMENT"),
        (PayloadTooLarge("x"), 413, "RESOURCE_EXHAUSTED"),
        (Unauthorized("x"), 401, "UNAUTHENTICATED"),
        (Overloaded("x"), 429, "RESOURCE_EXHAUSTED"),
        (ModelFailure("x"), 500, "INTERNAL"),
        (ModelLoadError("x"), 500, "INTERNAL"),
    ],
)
def test_one_table_maps_codes_to_both_transports(error: NerveError, http: int, grpc: str) -> None:
    assert http_status(error) == http
    assert grpc_status_name(error) == grpc
    assert error_body(error) == {"error": {"code": error.code, "message": "x"}}


def test_an_unlisted_subclass_inherits_its_parents_status() -> None:
    class NewValidation(InvalidInput):
        code = "some_new_check"

    assert http_status(NewValidation("x")) == 422


def test_every_grpc_status_name_exists() -> None:
    grpc = pytest.importorskip("grpc")
    for status in STATUSES.values():
        assert isinstance(getattr(grpc.StatusCode, status.grpc), grpc.StatusCode)


@pytest.mark.parametrize(
    "headers",
    [
        [("Authorization", "Bearer s3cret")],
        [("authorization", "bearer   s3cret ")],
        [("Authorization", "Api-Key s3cret")],
        [("Api-Key", "s3cret")],
        [("Authorization", "Bearer wrong"), ("api-key", "s3cret")],
    ],
)
def test_api_key_accepted_forms(headers: list[tuple[str, str]]) -> None:
    assert ApiKey("s3cret").allows(headers)


@pytest.mark.parametrize(
    "headers",
    [
        [],
        [("Authorization", "Bearer s3cre")],
        [("Authorization", "Basic s3cret")],
        [("Authorization", "s3cret")],
        [("X-Api-Key", "s3cret")],
    ],
)
def test_api_key_refused_forms(headers: list[tuple[str, str]]) -> None:
    assert not ApiKey("s3cret").allows(headers)


def test_presented_keys_collects_every_candidate() -> None:
    headers = [("Authorization", "Bearer a"), ("Api-Key", "b"), ("Host", "x")]
    assert presented_keys(headers) == ["a", "b"]


def test_onnx_file_reaches_the_loader(monkeypatch: pytest.MonkeyPatch) -> None:
    """``--onnx-file`` / ``NERVE_ONNX_FILE`` pick the graph the server loads."""
    from nerve.server import runner

    assert resolve_config(flags("--onnx-file", "q4"), {}).onnx_file == "q4"
    config = resolve_config(flags(), {"NERVE_ONNX_FILE": "onnx/model_q4.onnx"})
    seen: dict[str, object] = {}
    monkeypatch.setattr(runner, "load", lambda model, **kw: seen.update(kw))
    runner.load_engine(config)
    assert seen["onnx_file"] == "onnx/model_q4.onnx"


def test_allowed_hosts_takes_every_form_of_a_host_header() -> None:
    names = "ner.internal, NER.internal:8080, 10.0.0.5, 10.0.0.5:80, [::1], [fe80::1]:9000, *, a_b"
    config = resolve_config(flags(), {"NERVE_ALLOWED_HOSTS": names})
    assert len(config.allowed_hosts) == 8


def test_a_log_level_variable_takes_any_case_and_origins_their_forms() -> None:
    assert resolve_config(flags(), {"NERVE_LOG_LEVEL": "DEBUG"}).log_level == "debug"
    origins = "https://app.example, http://localhost:3000,http://[::1]:8080,*"
    assert resolve_config(flags(), {"NERVE_CORS_ORIGINS": origins}).cors_origins == (
        "https://app.example",
        "http://localhost:3000",
        "http://[::1]:8080",
        "*",
    )


def test_an_empty_model_id_is_refused() -> None:
    with pytest.raises(InvalidInput, match="--model-id must not be empty"):
        resolve_config(flags("--model-id", ""), {})
