"""scripts/bench_patterns.py end to end on a tiny model and a made-up CoNLL folder: the
report's content, never its speed."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("ahocorasick")
pytest.importorskip("torch")

from nerve.bench.patterns_bench import gold_entities
from nerve.data.conll import read_conll

ROOT = Path(__file__).resolve().parents[2]
TRAIN = [
    [("Peter", "B-PER"), ("Blackburn", "I-PER"), ("visited", "O"), ("Berlin", "B-LOC")],
    [("The", "O"), ("European", "B-ORG"), ("Commission", "I-ORG"), ("said", "O")],
    [("Berlin", "B-LOC"), ("and", "O"), ("Bonn", "B-LOC"), ("agreed", "O")],
]
TEST = [
    [
        ("Berlin", "B-LOC"),
        ("hosted", "O"),
        ("the", "O"),
        ("European", "B-ORG"),
        ("Commission", "I-ORG"),
    ],
    [("Nobody", "O"), ("came", "O")],
]


def write_conll(path: Path, sentences: list[list[tuple[str, str]]]) -> None:
    lines = ["-DOCSTART- -X- -X- O", ""]
    for sentence in sentences:
        lines += [f"{w} NNP B-NP {t}" for w, t in sentence] + [""]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def test_gold_entities_reads_bio_spans(tmp_path: Path) -> None:
    write_conll(tmp_path / "eng.train", TRAIN)
    assert gold_entities(read_conll(tmp_path / "eng.train")) == {
        "Peter Blackburn": "PER",
        "Berlin": "LOC",
        "European Commission": "ORG",
        "Bonn": "LOC",
    }


def test_bench_script_reports_build_and_overhead(tmp_path: Path, tiny_model_dir: Any) -> None:
    write_conll(tmp_path / "eng.train", TRAIN)
    write_conll(tmp_path / "eng.testb", TEST)
    proc = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "bench_patterns.py")]
        + ["--model", str(tiny_model_dir("bert")), "--conll-dir", str(tmp_path)]
        + ["--patterns", "300", "--texts", "2", "--repeats", "1", "--json"],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)},
    )
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout)
    assert report["patterns"] == 300 and report["gold_patterns"] == 4 and report["texts"] == 2
    # Rules win by default: both gold entities of the first test sentence are in the results.
    assert report["pattern_entities"] == 2
    for key in ("build_s", "model_ms_per_text", "with_patterns_ms_per_text", "match_ms_per_text"):
        assert report[key] > 0
    assert report["overhead_ratio"] == pytest.approx(
        report["with_patterns_ms_per_text"] / report["model_ms_per_text"]
    )


def test_bench_script_without_data_is_one_line(tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "bench_patterns.py"), "--conll-dir", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)},
    )
    assert proc.returncode == 2
    assert proc.stderr == (
        f"bench_patterns: error: {tmp_path / 'eng.train'} not found: set NERVE_CONLL_DIR or "
        "--conll-dir\n"
    )
