"""The ``nerve`` CLI on DeBERTa-v3 and ModernBERT: infer on the safetensors model, export to
ONNX (float32 and int8) and infer on the export."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from nerve.cli.main import main

pytest.importorskip("torch")

TEXTS = ["Peter Blackburn met Angela Merkel in Berlin on Monday.", "Zürich and São Paulo 😀"]


def _infer(capsys: pytest.CaptureFixture[str], model: Path, *extra: str) -> list[Any]:
    code = main(["infer", "-m", str(model), "--aggregation", "simple", *extra, *TEXTS])
    out, err = capsys.readouterr()
    assert code == 0, err
    return json.loads(out)  # type: ignore[no-any-return]


@pytest.mark.parametrize("name", ["deberta-v3", "modernbert"])
def test_cli_infer_and_export(
    family_model_dir: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str], name: str
) -> None:
    pytest.importorskip("onnx")
    import nerve

    model = family_model_dir(name)
    got = _infer(capsys, model, "--backend", "torch")
    engine = nerve.load(model, backend="torch")
    want = [r.to_dict() for r in engine(TEXTS, aggregation_strategy="simple")]
    assert [[(e["label"], e["start"], e["end"]) for e in r["entities"]] for r in got] == [
        [(e["label"], e["start"], e["end"]) for e in r["entities"]] for r in want
    ]
    assert any(r["entities"] for r in got)
    for quantize in ([], ["--quantize", "int8"]):
        out = tmp_path / f"onnx{len(quantize)}"
        assert main(["export", str(model), str(out), *quantize]) == 0
        capsys.readouterr()
        exported = _infer(capsys, out)
        assert [r["text"] for r in exported] == TEXTS
        if not quantize:  # float32: the same entities as torch
            assert [
                [(e["label"], e["start"], e["end"]) for e in r["entities"]] for r in exported
            ] == [[(e["label"], e["start"], e["end"]) for e in r["entities"]] for r in want]


def test_cli_refuses_unimplemented_variant_in_one_line(
    family_model_dir: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import shutil

    model = shutil.copytree(family_model_dir("deberta-v3"), tmp_path / "conv")
    config = json.loads((model / "config.json").read_text())
    config["conv_kernel_size"] = 3
    (model / "config.json").write_text(json.dumps(config))
    code = main(["infer", "-m", str(model), "Paris"])
    _, err = capsys.readouterr()
    assert code != 0
    assert "conv_kernel_size=3" in err and "Traceback" not in err
    assert len(err.strip().splitlines()) == 1
