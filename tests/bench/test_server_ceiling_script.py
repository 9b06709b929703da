"""scripts/server_ceiling.py end to end on a tiny model and a made-up CoNLL file: nerve's real
server with the stand-in model answers every request, and the figures are reported as said;
never its speed."""

from __future__ import annotations

import http.client
import json
import re
import shutil
import signal
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import pytest

from nerve.bench.server_load import free_port, start_server
from support.scripts import ROOT, run_script, write_conll

FIGURES = r"[\d,]+ requests, [\d,]+ req/s, p50 [\d.]+ ms, p99 [\d.]+ ms, 0 failed"
SENTENCES = [f"Peter Blackburn visited Berlin on day {i} ." for i in range(50)]


@pytest.mark.parametrize(("generator", "processes"), [("python", 1), ("python", 2), ("wrk", 1)])
def test_server_ceiling_script_measures_each_client_count(
    tmp_path: Path, tiny_model_dir: Any, generator: str, processes: int
) -> None:
    if generator == "wrk" and shutil.which("wrk") is None:
        pytest.skip("wrk is not installed (Debian: apt install wrk)")
    out = tmp_path / "server.json"
    args = ["--model", str(tiny_model_dir("bert")), "--clients", "1,4", "--seconds", "1"]
    args += ["--load-generator", generator, "--json", str(out)]
    args += ["--client-processes", str(processes)]
    printed = run_script("server_ceiling.py", args, write_conll(tmp_path, SENTENCES)).splitlines()
    spread = f" in up to {processes} processes" if processes > 1 else ""
    assert re.fullmatch(
        rf"CPU: .+, \d+ cores; the model costs nothing; load: {generator}{spread}", printed[0]
    )
    assert re.fullmatch(rf"1 clients: {FIGURES}", printed[1])
    assert re.fullmatch(rf"4 clients: {FIGURES}", printed[2])
    report = json.loads(out.read_text(encoding="utf-8"))
    assert report["load_generator"] == generator and report["client_processes"] == processes
    assert [run["clients"] for run in report["runs"]] == [1, 4]
    for run in report["runs"]:
        assert run["requests"] > 0 and run["failed"] == 0
        assert run["requests_per_s"] > 0 and 0 < run["p50_ms"] <= run["p99_ms"]


def test_the_stand_in_server_answers_as_the_stand_in_engine(tiny_model_dir: Any) -> None:
    """What the script measures is nerve's server doing its whole job: the answers are the
    stand-in engine's (every token "O", so no entities), with the tokens the tokenizer made."""
    port = free_port()
    model = str(tiny_model_dir("bert"))
    command = [sys.executable, str(ROOT / "scripts" / "server_ceiling.py")]
    command += ["--serve-stand-in", str(port), model]
    with tempfile.TemporaryDirectory() as work:
        proc = start_server(model, port, (), Path(work) / "server.log", command=command)
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
            body = json.dumps({"inputs": [["Peter Blackburn visited Berlin"]]})
            conn.request("POST", "/predict_tokens", body, {"Content-Type": "application/json"})
            response = conn.getresponse()
            answer = json.loads(response.read())
        finally:
            proc.send_signal(signal.SIGTERM)
            assert proc.wait(timeout=30) == 0
    assert response.status == 200
    assert answer == [[]]


def test_server_ceiling_script_refuses_bad_settings_without_a_traceback() -> None:
    for args, said in (
        (["--clients", "0"], "each client count must be at least 1, got '0'"),
        (["--clients", "a,b"], "expected numbers separated by commas, got 'a,b'"),
        (["--seconds", "0.5"], "must be at least 1, got 0.5"),
        (["--client-processes", "0"], "must be at least 1, got 0"),
        (
            ["--load-generator", "wrk", "--client-processes", "2"],
            "--client-processes spreads Python clients; wrk is one process",
        ),
    ):
        proc = subprocess.run(
            [sys.executable, str(ROOT / "scripts" / "server_ceiling.py"), *args],
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert proc.returncode == 2, proc.stderr
        assert said in proc.stderr and "Traceback" not in proc.stderr
