"""encoderfile-style build configs through `nerve build --bundle-only`: every encoderfile key
alone and combined, encoderfile's own dummy example and the seed-002 config, each with its
expected outcome — accepted (and the built model answers as the source model), accepted with
a notice of what nerve does instead, or refused with a message and exit status 2."""

from __future__ import annotations

import json
import shutil
import textwrap
from pathlib import Path

import pytest

import nerve
from nerve.build.config import host_target
from nerve.bundle import open_bundle, read_manifest
from nerve.cli.main import main
from nerve.types import InferenceOptions

TEXTS = ["Mozilla is headquartered in San Francisco, CA", "Yvon Chouinard founded Patagonia."]
SOFTMAX = "function Postprocess(arr)\n  return arr:softmax(3)\nend\n"


@pytest.fixture
def workdir(tmp_path: Path, onnx_model_dir: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A working directory holding the tiny ONNX model at ./models/ner, as the cwd."""
    shutil.copytree(onnx_model_dir, tmp_path / "models" / "ner")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def write(path: Path, yaml_text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(yaml_text), encoding="utf-8")
    return path


def run_build(config: Path, capsys: pytest.CaptureFixture[str], *extra: str) -> tuple[int, str]:
    code = main(["build", "-f", str(config), "--bundle-only", *extra])
    return code, capsys.readouterr().err


def assert_same_answers(bundle: Path, reference_dir: Path, cache: Path) -> nerve.Engine:
    engine = nerve.load(open_bundle(bundle, cache_dir=cache))
    reference = nerve.load(reference_dir)
    for strategy in ("none", "simple"):
        got = [r.to_dict() for r in engine(TEXTS, aggregation_strategy=strategy)]
        want = [r.to_dict() for r in reference(TEXTS, aggregation_strategy=strategy)]
        assert len(got) == len(want)
        for g, w in zip(got, want, strict=True):
            assert len(g["entities"]) == len(w["entities"]) > 0
            for ge, we in zip(g["entities"], w["entities"], strict=True):
                # A softmax transform's probabilities go through log(p): equal to float noise.
                assert ge.pop("score") == pytest.approx(we.pop("score"), abs=1e-5)
                assert ge == we
    return engine


def test_encoderfiles_dummy_example_builds_unchanged(
    workdir: Path, onnx_model_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # encoderfile's encoderfile_configs/dummy_token_classifier/encoderfile.yml, in its shape:
    # no version, a path relative to the working directory, a softmax transform with comments.
    config = write(
        workdir / "encoderfile_configs" / "dummy" / "encoderfile.yml",
        """\
        encoderfile:
          name: dummy-token-model
          path: models/ner
          model_type: token_classification
          output_path: ./dummy-token-model.encoderfile
          transform: |
            --- Softmax over the labels of each token.
            ---@param arr Tensor
            ---@return Tensor
            function Postprocess(arr)
                return arr:softmax(3)
            end
        """,
    )
    code, err = run_build(config, capsys)
    assert code == 0, err
    out = workdir / "dummy-token-model.encoderfile"
    engine = assert_same_answers(out, onnx_model_dir, workdir / "cache")
    manifest = read_manifest(open_bundle(out, cache_dir=workdir / "cache"))
    assert manifest is not None
    assert manifest.version == "0.1.0"  # encoderfile's default
    assert manifest.transform is not None and manifest.transform.output == "probabilities"
    assert engine.model_id == "dummy-token-model"


def test_seed_002_config_builds_from_its_folder(
    workdir: Path, onnx_model_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    shutil.copytree(onnx_model_dir, workdir / "ner-model")
    config = write(
        workdir / "ner-config.yml",
        """\
        encoderfile:
          name: ner-tagger
          version: "1.0.0"
          path: ./ner-model
          model_type: token_classification
          output_path: ./build/ner-tagger.encoderfile
          transform: |
            --- Apply softmax to normalize logits
            function Postprocess(arr)
                return arr:softmax(3)
            end
        """,
    )
    code, err = run_build(config, capsys)
    assert code == 0, err
    assert "note:" not in err and "warning:" not in err
    assert_same_answers(workdir / "build" / "ner-tagger.encoderfile", onnx_model_dir, workdir / "c")


def test_every_key_combined(
    workdir: Path, onnx_model_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write(workdir / "lua" / "post.lua", SOFTMAX)
    config = write(
        workdir / "conf" / "all.yml",
        f"""\
        encoderfile:
          name: my ner model
          path:
            model_config_path: models/ner/config.json
            model_weights_path: models/ner/model.onnx
            tokenizer_path: models/ner/tokenizer.json
            tokenizer_config_path: models/ner/tokenizer_config.json
          model_type: token_classification
          output_path: out/all.nerve
          cache_dir: ./cache
          transform:
            path: lua/post.lua
          lua_libs: [table, math]
          tokenizer:
            max_length: 64
            truncation_side: right
            truncation_strategy: longest_first
            pad_strategy: batch_longest
            stride: 8
          validate_transform: true
          target: {host_target()}
          future_key: 1
        pipeline: ignored
        """,
    )
    code, err = run_build(config, capsys)
    assert code == 0, err
    assert "warning: ignoring unknown key(s) ['pipeline'] in the top level" in err
    assert "warning: ignoring unknown key(s) ['future_key'] in encoderfile" in err
    out = workdir / "out" / "all.nerve"
    engine = assert_same_answers(out, onnx_model_dir, workdir / "c")
    assert engine.model_id == "my ner model"  # encoderfile takes names with spaces
    assert engine.max_length == 64
    manifest = read_manifest(open_bundle(out, cache_dir=workdir / "c"))
    assert manifest is not None and manifest.transform is not None
    assert manifest.transform.lua_libs == ["table", "math"]
    assert manifest.transform.lua.strip() == SOFTMAX.strip()


def test_tokenizer_max_length_sets_the_window(
    workdir: Path, onnx_model_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = write(
        workdir / "c.yml",
        """\
        encoderfile:
          name: short
          path: models/ner
          model_type: token_classification
          output_path: short.nerve
          tokenizer: {max_length: 8}
        """,
    )
    assert run_build(config, capsys)[0] == 0
    engine = nerve.load(open_bundle(workdir / "short.nerve", cache_dir=workdir / "c"))
    assert engine.max_length == 8
    long_text = TEXTS[0]
    (encoded,) = engine.tokenize([long_text], InferenceOptions())
    assert len(encoded.windows) > 1  # nerve windows what encoderfile would truncate
    assert all(len(w) <= 8 for w in encoded.windows)


def test_tokenizer_settings_nerve_cannot_apply_are_notices(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = write(
        workdir / "c.yml",
        """\
        encoderfile:
          name: notes
          path: models/ner
          model_type: token_classification
          output_path: notes.nerve
          tokenizer:
            truncation_side: left
            pad_strategy: {fixed: 32}
            stride: 4
        """,
    )
    code, err = run_build(config, capsys)
    assert code == 0, err
    assert "note: encoderfile.tokenizer truncation settings: nerve does not truncate" in err
    assert "note: encoderfile.tokenizer.pad_strategy fixed 32" in err
    assert "note: encoderfile.tokenizer.stride" in err


def test_lua_libs_narrow_the_sandbox_as_in_encoderfile(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    uses_string = (
        "function Postprocess(arr)\n  local s = string.format('%d', 1)\n"
        "  return arr:softmax(3)\nend\n"
    )
    template = """\
        encoderfile:
          name: libs
          path: models/ner
          model_type: token_classification
          output_path: libs.nerve
          lua_libs: {libs}
          transform: {transform}
        """
    without = write(
        workdir / "a.yml", template.format(libs="[table, math]", transform=json.dumps(uses_string))
    )
    code, err = run_build(without, capsys)
    assert code == 2
    assert "string" in err and "nerve build: error:" in err
    with_string = write(
        workdir / "b.yml", template.format(libs="[math, string]", transform=json.dumps(uses_string))
    )
    code, err = run_build(with_string, capsys)
    assert code == 0, err


@pytest.mark.parametrize(
    ("lines", "message"),
    [
        ("lua_libs: [io]\n  transform: x", "does not give transforms the 'io' library"),
        ("lua_libs: [coroutine]\n  transform: x", "'coroutine' library"),
        ("lua_libs: [socket]\n  transform: x", "unknown library 'socket'"),
        ("model_type: embedding", "nerve builds only 'token_classification'"),
        ("tokenizer: {max_length: 100000}", "max_length 100000 exceeds the model's limit"),
        (
            "tokenizer: {max_length: 2}",
            "encoderfile.tokenizer.max_length 2 leaves no room for text next to the model's 2 "
            "special tokens; the smallest allowed is 3",
        ),
        ("tokenizer: {truncation_side: middle}", "truncation_side must be left or right"),
        ("target: not a target", "is not a target triple"),
        ("transform: {path: absent.lua}", "cannot read encoderfile.transform.path"),
        ("validate_transform: maybe", "validate_transform must be true or false"),
        ("path: {model_config_path: models/ner/config.json}", "lacks model_weights_path"),
    ],
)
def test_configs_encoderfile_refuses_are_refused(
    workdir: Path, capsys: pytest.CaptureFixture[str], lines: str, message: str
) -> None:
    base = {"name": "bad", "path": "models/ner", "model_type": "token_classification"}
    key = lines.split(":", 1)[0]
    body = "".join(f"  {k}: {v}\n" for k, v in base.items() if k != key)
    config = write(workdir / "bad.yml", f"encoderfile:\n{body}  {lines}\n")
    code, err = run_build(config, capsys, "-o", str(workdir / "bad.nerve"))
    assert code == 2
    assert message in err
    assert "Traceback" not in err
    assert not (workdir / "bad.nerve").exists()


def test_foreign_target_is_a_notice(workdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    foreign = "aarch64-apple-darwin" if "linux" in host_target() else "x86_64-unknown-linux-gnu"
    config = write(
        workdir / "t.yml",
        f"""\
        encoderfile:
          name: t
          path: models/ner
          model_type: token_classification
          output_path: t.nerve
          target: {foreign}
        """,
    )
    code, err = run_build(config, capsys)
    assert code == 0, err
    assert f"note: encoderfile.target is {foreign}; nerve builds for the machine it runs on" in err


def test_validate_transform_false_builds_a_transform_that_fails_the_probe(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    wrong_shape = "function Postprocess(arr)\n  return arr:sum_axis(3)\nend\n"
    template = """\
        encoderfile:
          name: v
          path: models/ner
          model_type: token_classification
          output_path: v.nerve
          validate_transform: {flag}
          transform: {lua}
        """
    strict = write(workdir / "s.yml", template.format(flag="true", lua=json.dumps(wrong_shape)))
    code, err = run_build(strict, capsys)
    assert code == 2 and "Postprocess must return a tensor of the input's shape" in err
    lenient = write(workdir / "l.yml", template.format(flag="false", lua=json.dumps(wrong_shape)))
    code, err = run_build(lenient, capsys)
    assert code == 0, err
    assert "note: validate_transform is false: the transform fails on the probe texts" in err
    # Still refused with a syntax error: compiling is not optional.
    broken = write(workdir / "b.yml", template.format(flag="false", lua='"function ("'))
    code, err = run_build(broken, capsys)
    assert code == 2 and "does not compile" in err


def test_paths_relative_to_the_config_folder_still_work_with_a_notice(
    tmp_path: Path,
    onnx_model_dir: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    project = tmp_path / "project"
    shutil.copytree(onnx_model_dir, project / "model")
    config = write(
        project / "conf" / "ner.yml",
        """\
        encoderfile:
          name: old
          version: "2.0.0"
          path: ../model
          model_type: token_classification
        """,
    )
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    code, err = run_build(config, capsys)
    assert code == 0, err
    assert "relative to the config file: deprecated" in err
    assert (elsewhere / "old.nerve").is_file()
