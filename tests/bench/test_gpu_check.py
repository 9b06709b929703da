"""The GPU slot's one command, rehearsed on the CPU with small sizes: every step runs and
writes its figures, so the script is known to work before a GPU slot is spent on it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def test_the_gpu_check_rehearsal_runs_every_step(tmp_path: Path) -> None:
    pytest.importorskip("torch")
    pytest.importorskip("transformers")
    pytest.importorskip("uvicorn")
    conll = Path(os.environ.get("NERVE_CONLL_DIR", ROOT.parent / "shared/data/conll2003"))
    if not (conll / "eng.testb").is_file():
        pytest.skip(f"CoNLL-2003 not found at {conll} (set NERVE_CONLL_DIR)")
    out = tmp_path / "out"
    env = {**os.environ, "PYTHON": sys.executable, "NERVE_CONLL_DIR": str(conll)}
    script = str(ROOT / "scripts/gpu_check.sh")
    done = subprocess.run(
        ["bash", script, "--device", "cpu", "--tiny", "--out", str(out)],
        env=env,
        capture_output=True,
        text=True,
        timeout=2400,  # the steps' own limits, tripled on the CPU, bound it first
    )
    log = (out / "gpu_check.log").read_text(encoding="utf-8") if out.exists() else done.stderr
    summary = json.loads((out / "gpu_check.json").read_text(encoding="utf-8"))
    steps = {s["step"]: s["exit"] for s in summary["steps"]}
    assert steps == {
        "device": 0,
        "tests": 0,
        "bench": 0,
        "bench_pool": 0,
        "host": 0,
        "host_pool": 0,
        "server_host": 0,
        "server_1": 0,
        "server_64": 0,
        "server_1_eager": 0,
        "agreement": 0,
    }, log[-4000:]
    assert summary["device"]["device"] == "cpu" and summary["device"]["cores"] >= 1
    # The offline bench measured nerve and the pipeline peer on both workloads.
    assert summary["bench"]["meta"]["device"] == "cpu"
    measured = {(row["system"], row["workload"]) for row in summary["bench"]["results"]}
    for system in ("nerve", "pipeline-bs1", "pipeline-bs32"):
        for workload in ("short", "long"):
            assert (system, workload) in measured, measured
    # The host's ceiling, with the model's cost taken away, on both workloads.
    # nerve through a host pool, beside nerve in the same run.
    pooled = {(row["system"], row["workload"]) for row in summary["bench_pool"]["results"]}
    assert pooled == {(s, w) for s in ("nerve", "nerve-host2") for w in ("short", "long")}
    for name, workers in (("host", 0), ("host_pool", 2)):
        assert summary[name]["host_workers"] == workers
        host = summary[name]["workloads"]
        assert set(host) == {"short", "long"} and host["short"]["texts"] == 64
        assert all(figures["tokens_per_s"] > 0 for figures in host.values())
    # The server's ceiling, with the model's cost taken away: every request answered.
    ceiling = summary["server_host"]
    assert ceiling["load_generator"] == "python" and ceiling["client_processes"] == 2
    assert [run["clients"] for run in ceiling["runs"]] == [1, 64]
    assert all(run["requests"] > 0 and run["failed"] == 0 for run in ceiling["runs"]), ceiling
    for name, processes in (("server_1", 1), ("server_64", 2), ("server_1_eager", 1)):
        load = summary[name]
        assert load["requests"] > 0 and load["errors"] == 0, load
        assert load["client_processes"] == processes
    agreement = summary["agreement"]
    assert agreement["sentences"] == 64
    # CPU against CPU in float32: the same spans on every sentence.
    assert agreement["identical_spans"] == 64
    assert "all steps passed" in log
