"""``nerve info`` on an ONNX-only directory counts its initializers (issue 12, item 5): it
used to print ``parameters: None``."""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

import pytest

from nerve.model.resolve import default_model_dir

from .conftest import run_cli

ONNX_FILES = ("config.json", "model.onnx", "tokenizer.json", "tokenizer_config.json")


@pytest.fixture()
def onnx_only(tmp_path: Path) -> Path:
    for name in ONNX_FILES:
        shutil.copy(default_model_dir() / name, tmp_path / name)
    return tmp_path


def test_onnx_directory_reports_its_parameter_count(
    onnx_only: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pytest.importorskip("onnx")
    code, out, err = run_cli(capsys, "info", str(onnx_only), "--json")
    assert code == 0, err
    onnx_count = json.loads(out)["parameters"]
    code, out, _ = run_cli(capsys, "info", "--json")  # the same model from its safetensors
    safetensors_count = json.loads(out)["parameters"]
    assert isinstance(onnx_count, int)
    # int8 weights count like float ones; the quantization scales add well under 1 %.
    assert safetensors_count <= onnx_count < safetensors_count * 1.01
    code, out, _ = run_cli(capsys, "info", str(onnx_only))
    assert "parameters: None" not in out and f"parameters: {onnx_count}" in out


def test_without_the_onnx_package_it_says_why(
    onnx_only: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "onnx", None)
    code, out, _ = run_cli(capsys, "info", str(onnx_only))
    assert code == 0 and "parameters: unknown (pip install onnx" in out


def test_the_model_can_be_named_with_model_as_in_every_other_command(
    onnx_only: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, positional, err = run_cli(capsys, "info", str(onnx_only), "--json")
    assert code == 0, err
    for flag in ("--model", "-m"):
        code, named, err = run_cli(capsys, "info", flag, str(onnx_only), "--json")
        assert code == 0, err
        assert json.loads(named) == json.loads(positional)
    # The embedded default model is another model: its description differs.
    code, default, _ = run_cli(capsys, "info", "--json")
    assert json.loads(default) != json.loads(positional)


def test_a_directory_without_tokenizer_json_says_it_is_missing(
    onnx_only: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """It printed "tokenizer: None" while infer and export refuse such a directory."""
    (onnx_only / "tokenizer.json").unlink()
    code, out, err = run_cli(capsys, "info", str(onnx_only))
    assert code == 0, err
    assert "tokenizer: missing: no tokenizer.json" in out and "None" not in out


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        ("onnx", "model.onnx cannot be read as an ONNX graph"),
        ("empty safetensors", "model.safetensors is too short to be a safetensors file"),
        ("safetensors header", "model.safetensors has a corrupt safetensors header"),
    ],
)
def test_a_damaged_weights_file_is_named_in_one_line(
    onnx_only: Path, capsys: pytest.CaptureFixture[str], damage: str, message: str
) -> None:
    """info printed protobuf's DecodeError, or struct.error, as a traceback."""
    pytest.importorskip("onnx")
    if damage == "onnx":
        graph = onnx_only / "model.onnx"
        graph.write_bytes(graph.read_bytes()[:1000])
    elif damage == "empty safetensors":
        (onnx_only / "model.safetensors").write_bytes(b"")
    else:
        # A valid length, then a header whose tensors have no shape.
        header = json.dumps({"w": {"dtype": "F32"}}).encode()
        (onnx_only / "model.safetensors").write_bytes(len(header).to_bytes(8, "little") + header)
    code, _, err = run_cli(capsys, "info", str(onnx_only))
    assert code == 2 and err.count("\n") == 1 and "Traceback" not in err
    assert message in err
