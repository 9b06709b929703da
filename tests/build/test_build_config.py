"""The build config: encoderfile's YAML plus the `nerve:` mapping, strictly validated."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from nerve.build import BuildError, load_config, parse_config
from nerve.types import DEFAULT_AGGREGATION

SOURCE = Path("/work/cfg/ner-config.yml")


def enc(**overrides: Any) -> dict[str, Any]:
    section = {
        "name": "ner-tagger",
        "version": "1.0.0",
        "path": "./ner-model",
        "model_type": "token_classification",
    }
    section.update(overrides)
    return {"encoderfile": {k: v for k, v in section.items() if v is not None}}


def test_seed_config_paths_resolve_from_the_working_directory() -> None:
    cfg = parse_config(
        enc(output_path="./build/ner-tagger.encoderfile", transform="function Postprocess(a) end"),
        SOURCE,
        cwd=Path("/work/run"),
    )
    assert cfg.name == "ner-tagger"
    assert cfg.version == "1.0.0"
    assert cfg.path == Path("/work/run/ner-model")
    assert cfg.output_path == Path("/work/run/build/ner-tagger.encoderfile")
    assert cfg.transform == "function Postprocess(a) end"
    assert cfg.nerve.aggregation == DEFAULT_AGGREGATION.value
    assert cfg.nerve.transform_output == "auto"


def test_nerve_section() -> None:
    data = enc()
    data["nerve"] = {
        "aggregation": "MAX",
        "precision": "int8",
        "transform_output": "logits",
        "transform_timeout": 2,
        "transform_memory_mb": 64,
        "threads": 2,
        "limits": {"max_client_batch_size": 8, "request_timeout": 5, "strict_length": True},
    }
    opts = parse_config(data, SOURCE).nerve
    assert opts.aggregation == "max"
    assert opts.precision == "int8"
    assert opts.transform_output == "logits"
    assert opts.transform_timeout == 2.0
    assert opts.transform_memory_mb == 64
    assert opts.threads == 2
    assert opts.limits == {"max_client_batch_size": 8, "request_timeout": 5, "strict_length": True}


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({**enc(), "nerve": {"aggregaton": "max"}}, "unknown key(s) ['aggregaton'] in nerve"),
        (
            {**enc(), "nerve": {"limits": {"max_batch": 1}}},
            "unknown key(s) ['max_batch'] in nerve.limits",
        ),
        (enc(model_type="embedding"), "nerve builds only 'token_classification'"),
        (enc(model_type="ner"), "encoderfile.model_type 'ner' is not one of"),
        (enc(model_type=None), "encoderfile.model_type is required"),
        (enc(name=None), "encoderfile.name is required"),
        (enc(path=None), "encoderfile.path is required"),
        (enc(version=1.0), 'quote it: version: "1.0"'),
        (enc(name="ner tagger/1"), "without '/'"),
        (enc(transform=["x"]), "encoderfile.transform must be a non-empty string"),
        ({"nerve": {}}, "missing the `encoderfile:` mapping"),
        (["encoderfile"], "the file must be a mapping"),
        ({**enc(), "nerve": {"aggregation": "longest"}}, "nerve.aggregation 'longest'"),
        ({**enc(), "nerve": {"precision": "fp16"}}, "nerve.precision 'fp16'"),
        ({**enc(), "nerve": {"transform_output": "scores"}}, "nerve.transform_output 'scores'"),
        ({**enc(), "nerve": {"threads": 0}}, "nerve.threads must be a positive integer"),
        ({**enc(), "nerve": {"transform_timeout": -1}}, "must be a positive number"),
        # Unbounded values overflowed the worker's poll and RLIMIT_AS with a traceback.
        (
            {**enc(), "nerve": {"transform_timeout": float("inf")}},
            "nerve.transform_timeout must be a positive number at most 86,400 seconds, got inf",
        ),
        (
            {**enc(), "nerve": {"transform_timeout": 100_000_000}},
            "nerve.transform_timeout must be a positive number at most 86,400 seconds",
        ),
        (
            {**enc(), "nerve": {"transform_timeout": float("nan")}},
            "nerve.transform_timeout must be a positive number",
        ),
        (
            {**enc(), "nerve": {"transform_memory_mb": 10_000_000_000_000}},
            "nerve.transform_memory_mb must be a positive integer at most 1,048,576 MiB",
        ),
        (
            {**enc(), "nerve": {"limits": {"strict_length": "yes"}}},
            "nerve.limits.strict_length must be true or false",
        ),
        (
            {**enc(), "nerve": {"limits": {"max_client_batch_size": True}}},
            "nerve.limits.max_client_batch_size must be a number",
        ),
        (
            {**enc(), "nerve": {"limits": {"max_input_chars": 0}}},
            "--max-input-chars must be a positive integer",
        ),
    ],
)
def test_bad_configs_are_refused_with_a_clear_message(data: object, message: str) -> None:
    with pytest.raises(BuildError) as err:
        parse_config(data, SOURCE)
    assert message in err.value.message
    assert str(SOURCE) in err.value.message


def test_load_config_reports_yaml_errors_and_missing_files(tmp_path: Path) -> None:
    with pytest.raises(BuildError, match="cannot read the build config"):
        load_config(tmp_path / "absent.yml")
    bad = tmp_path / "bad.yml"
    bad.write_text("encoderfile:\n  name: [unclosed\n", encoding="utf-8")
    with pytest.raises(BuildError, match="is not valid YAML"):
        load_config(bad)


def test_the_largest_transform_limits_are_accepted() -> None:
    data = {**enc(), "nerve": {"transform_timeout": 86_400, "transform_memory_mb": 1_048_576}}
    opts = parse_config(data, SOURCE).nerve
    assert (opts.transform_timeout, opts.transform_memory_mb) == (86_400.0, 1_048_576)


@pytest.mark.parametrize(
    ("text", "line", "first"),
    [
        (
            "encoderfile:\n  name: x\n  name: y\n  path: ./m\n  model_type: token_classification\n",
            3,
            2,
        ),
        ("encoderfile: {name: x, path: ./m, name: x, model_type: token_classification}\n", 1, 1),
        ("encoderfile:\n  name: x\nnerve:\n  threads: 1\nnerve:\n  threads: 2\n", 5, 3),
    ],
)
def test_a_key_given_twice_is_refused_with_its_line(
    tmp_path: Path, text: str, line: int, first: int
) -> None:
    config = tmp_path / "dup.yml"
    config.write_text(text, encoding="utf-8")
    with pytest.raises(BuildError) as err:
        load_config(config)
    key = "nerve" if "nerve:\n  threads: 2" in text else "name"
    assert err.value.message == (
        f"{config}: line {line}: duplicate key {key!r} (first at line {first}); YAML would "
        "silently keep only the last one, so remove one of them"
    )


def test_yaml_merge_keys_may_still_override(tmp_path: Path) -> None:
    config = tmp_path / "merge.yml"
    config.write_text(
        "base: &base {name: x, path: ./m}\n"
        "encoderfile:\n  <<: *base\n  name: y\n  model_type: token_classification\n",
        encoding="utf-8",
    )
    assert load_config(config, cwd=tmp_path).name == "y"


def test_a_transform_file_that_is_not_utf8(tmp_path: Path) -> None:
    lua = tmp_path / "post.lua"
    lua.write_bytes(b"-- caf\xe9\nfunction Postprocess(arr) return arr end\n")
    with pytest.raises(BuildError) as err:
        parse_config(enc(transform={"path": str(lua)}), SOURCE)
    assert err.value.message == (
        f"{SOURCE}: cannot read encoderfile.transform.path {lua}: not UTF-8 (byte 6); "
        "save it as UTF-8"
    )


def test_a_utf8_bom_is_not_part_of_the_transform(tmp_path: Path) -> None:
    body = "function Postprocess(arr) return arr end"
    lua = tmp_path / "post.lua"
    lua.write_bytes(b"\xef\xbb\xbf" + body.encode() + b"\n")
    from_file = parse_config(enc(transform={"path": str(lua)}), SOURCE)
    assert from_file.transform == body
    assert from_file.transform_path == lua
    inline = parse_config(enc(transform="\ufeff" + body), SOURCE)
    assert inline.transform == body and inline.transform_path is None
