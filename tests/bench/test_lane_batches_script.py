"""scripts/bench_lane_batches.py end to end on a tiny model and a made-up CoNLL file: the
report's lines, never its speed."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
SENTENCES = [
    "Peter Blackburn visited Berlin",
    "The European Commission said on Thursday it disagreed",
    "Nobody came",
    "Germany 's representative to the European Union 's veterinary committee",
]


def test_lane_batches_script_reports_the_engine_and_each_batch_size(
    tmp_path: Path, tiny_model_dir: Any
) -> None:
    lines = ["-DOCSTART- -X- -X- O", ""]
    for sentence in SENTENCES * 10:
        lines += [f"{word} NNP B-NP O" for word in sentence.split()] + [""]
    (tmp_path / "eng.testb").write_text("\n".join(lines) + "\n", encoding="utf-8")
    proc = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "bench_lane_batches.py")]
        + ["--model", str(tiny_model_dir("bert")), "--repeats", "1"],
        capture_output=True,
        text=True,
        timeout=300,
        env={
            **os.environ,
            "NERVE_CONLL_DIR": str(tmp_path),
            "PYTHONPATH": os.pathsep.join(sys.path),
        },
    )
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout.splitlines()
    assert re.fullmatch(r"CPU: .+; 40 sentences, \d+ lanes", out[0])
    assert re.fullmatch(r"engine, sorted batches of all: [\d,]+/s", out[1])
    assert [re.sub(r"[\d,]+/s$", "N/s", line) for line in out[2:]] == [
        re.sub(r"^\d+", out[0].split()[-2], f"0 lanes, random batches of {n}: N/s")
        for n in (15, 30, 60)
    ]


def test_lane_batches_script_prints_a_call_cost_per_shape(tiny_model_dir: Any) -> None:
    proc = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "bench_lane_batches.py")]
        + ["--model", str(tiny_model_dir("bert")), "--costs"],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)},
    )
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout.splitlines()
    assert re.fullmatch(r"CPU: .+; one thread, µs of CPU per padded token of one call", out[0])
    assert out[1].split() == ["rows", "\\", "width", "4", "8", "16", "32", "64"]
    assert [line.split()[0] for line in out[2:]] == ["1", "2", "4", "8", "16", "32"]
    for line in out[2:]:
        costs = [float(cell) for cell in line.split()[1:]]
        assert len(costs) == 5 and all(cost > 0 for cost in costs)
