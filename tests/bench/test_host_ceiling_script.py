"""scripts/host_ceiling.py end to end on a tiny model and a made-up CoNLL file: the figures
it reports and the entities its stand-in model leads to, never its speed."""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path
from typing import Any

from nerve.bench.stand_in import FreeModel, free_engine
from support.scripts import ROOT, run_script, write_conll

FIGURES = r"\d+ texts, [\d,]+ tokens: [\d,]+ texts/s, [\d,]+ tokens/s"


def test_the_free_model_labels_every_token_outside_an_entity(tiny_model_dir: Any) -> None:
    from nerve.engine.core import options_from

    engine, _ = free_engine(str(tiny_model_dir("bert")))
    assert isinstance(engine.backend, FreeModel)
    texts = ["Peter Blackburn visited Berlin", "Nobody came. " * 200]
    results = engine(texts, aggregation_strategy="simple")
    assert [list(r.entities) for r in results] == [[], []]
    # The long text ran as several windows: the stand-in took the packed path's many rows.
    assert len(engine.tokenize(texts[1:], options_from({}))[0].windows) > 1


def test_host_ceiling_script_reports_each_workload(tmp_path: Path, tiny_model_dir: Any) -> None:
    sentences = [f"Peter Blackburn visited Berlin on day {i} ." for i in range(400)]
    out = tmp_path / "host.json"
    printed = run_script(
        "host_ceiling.py",
        ["--model", str(tiny_model_dir("bert")), "--repeats", "1", "--json", str(out)],
        write_conll(tmp_path, sentences),
    ).splitlines()
    assert re.fullmatch(r"CPU: .+, \d+ cores; the model costs nothing; one process", printed[0])
    for line, name in zip(printed[1:], ("short", "long"), strict=True):
        assert re.fullmatch(rf"{name}: {FIGURES}", line)
    report = json.loads(out.read_text(encoding="utf-8"))
    assert set(report["workloads"]) == {"short", "long"}
    short = report["workloads"]["short"]
    assert short["texts"] == 400 and short["tokens"] > 400 * 9  # words plus specials
    for figures in report["workloads"].values():
        assert figures["tokens_per_s"] > 0 and figures["seconds"] > 0


def test_host_ceiling_script_through_host_workers(tmp_path: Path, tiny_model_dir: Any) -> None:
    out = tmp_path / "host.json"
    model = ["--model", str(tiny_model_dir("bert"))]
    printed = run_script(
        "host_ceiling.py",
        [*model, "--workloads", "short", "--repeats", "1", "--host-workers", "2"]
        + ["--json", str(out)],
        write_conll(tmp_path, [f"Tim Cook visited Paris {i} ." for i in range(40)]),
    ).splitlines()
    assert printed[0].endswith("the model costs nothing; host workers: 2")
    assert re.fullmatch(rf"short: {FIGURES}", printed[1])
    report = json.loads(out.read_text(encoding="utf-8"))
    assert report["host_workers"] == 2 and report["workloads"]["short"]["texts"] == 40


def test_host_ceiling_script_refuses_bad_numbers_without_a_traceback() -> None:
    import subprocess

    for flag, value, said in (
        ("--host-workers", "-1", "must be at least 0, got -1"),
        ("--repeats", "0", "must be at least 1, got 0"),
        ("--limit", "many", "expected a whole number, got 'many'"),
    ):
        proc = subprocess.run(
            [sys.executable, str(ROOT / "scripts" / "host_ceiling.py"), flag, value],
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert proc.returncode == 2 and f"argument {flag}: {said}" in proc.stderr, proc.stderr
        assert "Traceback" not in proc.stderr
