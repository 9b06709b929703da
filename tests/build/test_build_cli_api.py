"""encoderfile's build flags and commands on `nerve build` / `nerve`, and the Python builder
API (`EncoderfileBuilder`, `build_from_config`, `read_metadata`); bundles only (the
executable path is tested in test_executable.py)."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
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


# A transform that runs until it is stopped: the build sits in "Checking transform..." (its
# temporary directory in place) for as long as the test needs.
ENDLESS = """\
function Postprocess(arr)
  local x = 0
  for i = 1, 1e15 do x = x + i end
  return arr
end
"""


def test_sigterm_stops_a_build_and_cleans_up_as_ctrl_c_does(project: Path) -> None:
    """`kill PID` (a CI job cancelled, a container stopped) ran no clean-up before: the
    `nerve-build-*` temporary directory and the output's `.partial-` file stayed behind."""
    tmp = project / "tmp"
    tmp.mkdir()
    config = project / "slow.yml"
    config.write_text(
        CONFIG
        + "  transform: |\n"
        + "".join(f"    {line}\n" for line in ENDLESS.splitlines())
        + "nerve: {transform_timeout: 300}\n",
        encoding="utf-8",
    )
    log = project / "build.log"
    code = "import sys; from nerve.cli.main import main; sys.exit(main(sys.argv[1:]))"
    args = ["build", "-f", str(config), "--bundle-only", "-o", str(project / "out" / "t.nerve")]
    with log.open("wb") as err:
        proc = subprocess.Popen(
            [sys.executable, "-c", code, *args],
            cwd=project,
            env={**os.environ, "TMPDIR": str(tmp)},
            stdout=subprocess.DEVNULL,
            stderr=err,
        )
    try:
        deadline = time.monotonic() + 180
        while "Checking transform..." not in log.read_text(errors="replace"):
            assert proc.poll() is None, log.read_text(errors="replace")
            assert time.monotonic() < deadline, log.read_text(errors="replace")
            time.sleep(0.2)
        assert list(tmp.glob("nerve-build-*"))  # mid-build: its temporary directory exists
        time.sleep(0.5)  # the transform is running in its worker
        os.kill(proc.pid, signal.SIGTERM)
        returncode = proc.wait(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)
    stderr = log.read_text(errors="replace")
    assert returncode == 128 + signal.SIGTERM, stderr
    assert stderr.splitlines()[-1] == (
        "nerve build: terminated (SIGTERM); its partial files were removed"
    )
    assert "Traceback" not in stderr
    assert not list(tmp.glob("nerve-build-*"))
    assert not (project / "out").exists() or not list((project / "out").iterdir())
