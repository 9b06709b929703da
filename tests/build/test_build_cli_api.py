"""encoderfile's build flags and commands on `nerve build` / `nerve`, and the Python builder
API (`EncoderfileBuilder`, `build_from_config`, `read_metadata`); bundles only (the
executable path is tested in test_executable.py)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

import nerve
from nerve.build import EncoderfileBuilder, build_from_config, read_metadata
from nerve.build.config import host_target
from nerve.bundle import open_bundle
from nerve.cli.main import main

CONFIG = """\
encoderfile:
  name: flags
  version: "3.1.0"
  path: models/ner
  model_type: token_classification
"""


@pytest.fixture
def project(tmp_path: Path, onnx_model_dir: Path) -> Path:
    root = tmp_path / "project"
    shutil.copytree(onnx_model_dir, root / "models" / "ner")
    (root / "flags.yml").write_text(CONFIG, encoding="utf-8")
    return root


def cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out = capsys.readouterr()
    return code, out.out, out.err


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli(capsys, "version") == (0, f"nerve {nerve.__version__}\n", "")


def test_directory_output_path_and_inspect(
    project: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.chdir(tmp_path)  # not the project: --directory makes the paths resolve
    config = str(project / "flags.yml")
    code, _, err = cli(capsys, "build", "-f", config, "--bundle-only", "--directory", str(project))
    assert code == 0, err
    default_out = project / "flags.nerve"  # the default output goes to --directory too
    assert default_out.is_file()
    code, _, err = cli(
        capsys,
        "build",
        "-f",
        config,
        "--bundle-only",
        "--directory",
        str(project),
        "--output-path",
        "dist/x.nerve",
        "--no-download",
        "--runtime-version",
        nerve.__version__,
        "--cache-dir",
        str(tmp_path / "cache"),
        "--target",
        host_target(),
    )
    assert code == 0, err
    assert "note:" not in err
    out = project / "dist" / "x.nerve"
    code, text, err = cli(capsys, "inspect", str(out))
    assert code == 0, err
    info = json.loads(text)
    assert info["encoderfile_config"] == {
        "name": "flags",
        "version": "3.1.0",
        "model_type": "token_classification",
        "transform": None,
        "lua_libs": None,
    }
    labels = nerve.load(project / "models" / "ner").labels
    assert info["model_config"]["id2label"] == {str(i): label for i, label in enumerate(labels)}
    assert set(info["nerve"]["files"]) >= {"model.onnx", "tokenizer.json", "config.json"}


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--runtime-version", "0.0.1"], "this nerve builds with its own runtime"),
        (["--target", "windows"], "is not a target triple"),
        (["--directory", "/nonexistent/dir"], "is not a directory"),
    ],
)
def test_bad_flags_are_refused(
    project: Path, capsys: pytest.CaptureFixture[str], args: list[str], message: str
) -> None:
    code, _, err = cli(capsys, "build", "-f", str(project / "flags.yml"), "--bundle-only", *args)
    assert code == 2 and message in err and "Traceback" not in err


def test_foreign_target_flag_is_a_notice(
    project: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(project)
    foreign = "aarch64-apple-darwin" if "linux" in host_target() else "x86_64-unknown-linux-gnu"
    code, _, err = cli(capsys, "build", "-f", "flags.yml", "--bundle-only", "--target", foreign)
    assert code == 0, err
    assert f"note: --target is {foreign}; nerve builds for the machine it runs on" in err


def test_inspect_refuses_other_files(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    other = tmp_path / "plain"
    other.write_bytes(b"not a bundle")
    code, _, err = cli(capsys, "inspect", str(other))
    assert code == 2 and "neither a .nerve bundle nor an executable built by" in err


def test_new_transform_template_builds(
    project: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    code, lua, _ = cli(capsys, "new-transform", "-m", "token_classification")
    assert code == 0 and "function Postprocess(arr)" in lua
    monkeypatch.chdir(project)
    Path("post.lua").write_text(lua, encoding="utf-8")
    Path("t.yml").write_text(CONFIG + "  transform: {path: post.lua}\n", encoding="utf-8")
    code, _, err = cli(capsys, "build", "-f", "t.yml", "--bundle-only", "-o", "t.nerve")
    assert code == 0, err
    assert read_metadata(project / "t.nerve")["encoderfile_config"]["transform"] == lua.strip()
    code, _, err = cli(capsys, "new-transform", "-m", "embedding")
    assert code == 2 and "nerve builds only token_classification" in err


def test_python_api(project: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(project)
    lines: list[str] = []
    builder = EncoderfileBuilder(
        name="api model",
        model_type="token_classification",
        path="models/ner",
        output_path="api.nerve",
        transform="function Postprocess(arr) return arr / 2 end",
        lua_libs=["math"],
        tokenizer={"max_length": 16},
        nerve={"aggregation": "first"},
    )
    result = builder.build(bundle_only=True, say=lines.append)
    assert result.path == project / "api.nerve" and result.bundle_only
    meta = read_metadata(result.path)
    assert meta["encoderfile_config"]["name"] == "api model"
    assert meta["encoderfile_config"]["version"] == "0.1.0"
    assert meta["encoderfile_config"]["lua_libs"] == ["math"]
    assert meta["nerve"]["defaults"] == {"aggregation": "first"}
    engine = nerve.load(open_bundle(result.path, cache_dir=tmp_path / "c"))
    assert engine.max_length == 16

    from_file = EncoderfileBuilder.from_config(project / "flags.yml")
    assert from_file.config.name == "flags"
    out = build_from_config(project / "flags.yml", output_path="f.nerve", bundle_only=True)
    assert read_metadata(out.path)["encoderfile_config"]["version"] == "3.1.0"
    with pytest.raises(nerve.NerveError, match="this nerve builds with its own runtime"):
        from_file.build(version="9.9.9", bundle_only=True)


def test_python_api_refuses_what_the_cli_refuses() -> None:
    with pytest.raises(nerve.NerveError, match="nerve builds only 'token_classification'"):
        EncoderfileBuilder(name="x", model_type="embedding", path=".")
