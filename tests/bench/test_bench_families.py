"""``nerve bench`` for the DeBERTa / ModernBERT rows of BENCHMARKS.md, at tiny size: the
family shapes build loadable models, and ``--nerve-windows`` adds a row per window length.
Speed is never asserted (shared CI machines, tiny random models)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from nerve.cli.main import main

pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")

WORDS = ["Peter", "Blackburn", "met", "Angela", "Merkel", "in", "Berlin", "on", "Monday", "."]


def _conll_file(path: Path, sentences: int) -> Path:
    lines = []
    for _ in range(sentences):
        lines += [f"{w} NNP B-NP O" for w in WORDS] + [""]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_long_documents_one_window_vs_short_windows(
    family_model_dir: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The 8k-vs-512 row at tiny size: the long-window ModernBERT, its own window against
    windows of 64, and the pipeline, on the same ~2,000-word documents in one run."""
    model = family_model_dir("modernbert-long")
    conll = _conll_file(tmp_path / "test.conll", sentences=220)
    argv = ["bench", "--model", str(model), "--conll", str(conll), "--workloads", "long"]
    argv += ["--limit", "1", "--peers", "pipeline", "--repeats", "1", "--latency-texts", "1"]
    assert main([*argv, "--nerve-windows", "64", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    rows = {r["system"]: r for r in report["results"]}
    assert set(rows) == {"nerve", "nerve-window64", "pipeline-bs1", "pipeline-bs32"}
    assert rows["nerve"]["info"]["window"] == "8192"
    assert rows["nerve-window64"]["info"]["window"] == "64"
    assert report["meta"]["nerve_windows"] == [64]
    assert all(r["tokens_per_s"] > 0 for r in rows.values())


def test_bad_window_list_is_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["bench", "--nerve-windows", "8k"])
    assert "comma-separated token counts" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("windows", "message"),
    [
        ("2", "--nerve-windows must be token counts >= 3, got (2,)"),
        ("64,100000", "--nerve-windows 100000: over the model's window limit of 128 tokens"),
    ],
)
def test_a_window_the_engine_refuses_is_refused_before_measuring(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], windows: str, message: str
) -> None:
    """Both used to pass this check and fail later, in a measuring child's traceback."""
    conll = _conll_file(tmp_path / "test.conll", sentences=4)
    argv = ["bench", "--conll", str(conll), "--peers", "none", "--workloads", "short"]
    assert main([*argv, "--limit", "2", "--repeats", "1", "--nerve-windows", windows]) == 2
    err = capsys.readouterr().err
    assert err.strip() == f"nerve bench: error: {message}" and "measuring" not in err


@pytest.mark.parametrize("shape", ["deberta-v3-small", "modernbert-base"])
def test_family_shapes_build_models_nerve_runs(
    family_model_dir: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, shape: str
) -> None:
    """The family shapes, shrunk to 2 layers of 64: the same config path as the real size."""
    import nerve
    from nerve.bench import models

    family = models.SHAPES[shape][0]
    monkeypatch.setitem(models.SHAPES, shape, (family, 64, 2, 4, 96))
    tokenizer_dir = family_model_dir("deberta-v3" if family == "deberta-v2" else "modernbert")
    out = models.build_random_model(shape, tokenizer_dir, tmp_path / shape)
    engine = nerve.load(out, backend="torch")
    assert engine.spec.family == family
    assert engine.max_length == (512 if family == "deberta-v2" else 8192)
    reference = transformers.AutoModelForTokenClassification.from_pretrained(out)
    assert type(reference).__name__ == engine.spec.architecture
