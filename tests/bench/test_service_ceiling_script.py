"""scripts/service_ceiling.py end to end on a tiny model and a made-up CoNLL file: the
report's lines and that every client was answered, never its speed."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from support.scripts import run_script, write_conll

SENTENCES = [
    "Peter Blackburn visited Berlin",
    "The European Commission said on Thursday it disagreed",
    "Nobody came",
]

ROUND = re.compile(
    r"round (\d): service ([\d,]+) requests/s \(event loop ([\d,]+) µs, lanes ([\d,]+) µs of "
    r"CPU a request; (\d+\.\d\d) cores idle\); engine ([\d,]+) sentences/s; "
    r"service / engine = (\d+\.\d\d)"
)


def test_service_ceiling_reports_each_round_and_the_ratio(
    tmp_path: Path, tiny_model_dir: Any
) -> None:
    args = ["--model", str(tiny_model_dir("bert")), "--clients", "4", "--seconds", "1"]
    out = run_script(
        "service_ceiling.py", [*args, "--rounds", "2"], write_conll(tmp_path, SENTENCES * 5)
    ).splitlines()
    assert re.fullmatch(r"CPU: .+, \d+ cores; 15 sentences, 4 clients, 1 s a round", out[0])
    assert len(out) == 3
    for index, line in enumerate(out[1:], start=1):
        found = ROUND.fullmatch(line)
        assert found, line
        _, served, _, lanes, _, engine, ratio = (float(g.replace(",", "")) for g in found.groups())
        assert int(found.group(1)) == index
        assert served > 0 and engine > 0  # requests were answered, the engine ran
        assert lanes > 0  # the lanes ran the model
        # Both rates are printed as whole numbers, the ratio with two decimals.
        assert abs(ratio - served / engine) <= 0.005 + (served + engine) / engine**2
