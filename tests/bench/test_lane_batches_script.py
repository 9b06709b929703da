"""scripts/bench_lane_batches.py end to end on a tiny model and a made-up CoNLL file: the
report's lines, never its speed."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from support.scripts import run_script, write_conll

SENTENCES = [
    "Peter Blackburn visited Berlin",
    "The European Commission said on Thursday it disagreed",
    "Nobody came",
    "Germany 's representative to the European Union 's veterinary committee",
]


def test_lane_batches_script_reports_the_engine_and_each_batch_size(
    tmp_path: Path, tiny_model_dir: Any
) -> None:
    out = run_script(
        "bench_lane_batches.py",
        ["--model", str(tiny_model_dir("bert")), "--repeats", "1"],
        write_conll(tmp_path, SENTENCES * 10),
    ).splitlines()
    assert re.fullmatch(r"CPU: .+; 40 sentences, \d+ lanes", out[0])
    assert re.fullmatch(r"engine, sorted batches of all: [\d,]+/s", out[1])
    assert [re.sub(r"[\d,]+/s$", "N/s", line) for line in out[2:]] == [
        re.sub(r"^\d+", out[0].split()[-2], f"0 lanes, random batches of {n}: N/s")
        for n in (15, 30, 60)
    ]


def test_lane_batches_script_prints_a_call_cost_per_shape(tiny_model_dir: Any) -> None:
    out = run_script(
        "bench_lane_batches.py", ["--model", str(tiny_model_dir("bert")), "--costs"]
    ).splitlines()
    assert re.fullmatch(r"CPU: .+; one thread, µs of CPU per padded token of one call", out[0])
    assert out[1].split() == ["rows", "\\", "width", "4", "8", "16", "32", "64"]
    assert [line.split()[0] for line in out[2:]] == ["1", "2", "4", "8", "16", "32"]
    for line in out[2:]:
        costs = [float(cell) for cell in line.split()[1:]]
        assert len(costs) == 5 and all(cost > 0 for cost in costs)
