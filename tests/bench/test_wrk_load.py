"""``nerve bench --server-load --load-generator wrk``: the Lua script, the report parsing,
and (where Debian's wrk is installed) a real run against the real server."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from nerve.bench.server_load import ServerLoadError
from nerve.bench.wrk_load import parse_wrk, run_wrk_load, wrk_script

# wrk 4.1's --latency report, as printed on this machine (2026-11-30).
WRK_OUTPUT = """\
Running 15s test @ http://127.0.0.1:8931/predict_tokens
  1 threads and 64 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency    52.55ms   10.76ms 108.79ms   76.35%
    Req/Sec     1.22k   187.81     1.64k    70.00%
  Latency Distribution
     50%   50.68ms
     75%   56.98ms
     90%   65.99ms
     99%    1.20s
  18274 requests in 15.03s, 7.09MB read
  Socket errors: connect 0, read 2, write 0, timeout 1
  Non-2xx or 3xx responses: 7
Requests/sec:   1215.50
Transfer/sec:    483.12KB
"""


def test_wrk_report_is_read_with_its_units() -> None:
    report = parse_wrk(WRK_OUTPUT, connections=64, seconds=15)
    assert report.requests == 18274
    assert report.requests_per_s == 1215.50
    assert report.p50_ms == pytest.approx(50.68)
    assert report.p99_ms == pytest.approx(1200.0)
    assert report.non_2xx == 7 and report.socket_errors == 3
    report.engine_sentences_per_s = 2431.0
    assert report.ratio == pytest.approx(0.5, abs=1e-3)
    assert "server / engine = 0.50" in report.format()


def test_an_unreadable_wrk_report_is_an_error_not_a_zero() -> None:
    with pytest.raises(ServerLoadError, match="cannot read wrk's report"):
        parse_wrk("wrk: connection refused\n", connections=64, seconds=15)


def test_the_lua_script_carries_any_text_unchanged() -> None:
    texts = ['Say "hi" ]] to [[Bonn]]', "Ünïcode ]=] and \\ backslash"]
    script = wrk_script(texts)
    lua = shutil.which("lua") or shutil.which("lua5.4") or shutil.which("luajit")
    if lua is None:
        # Without a Lua interpreter: each body is in a long bracket no text line can close.
        assert "[==[" in script and "]==]" in script
        return
    probe = script + "\nfor _, b in ipairs(bodies) do io.write(b, '\\n') end\n"
    out = subprocess.run([lua, "-"], input=probe, capture_output=True, text=True, check=True)
    import json

    bodies = [json.loads(line) for line in out.stdout.splitlines()]
    assert [b["inputs"][0][0] for b in bodies] == texts


@pytest.mark.skipif(shutil.which("wrk") is None, reason="wrk (Debian package) not installed")
def test_a_real_wrk_run_against_the_real_server(tiny_model_dir: Any, tmp_path: Path) -> None:
    pytest.importorskip("uvicorn")
    report = run_wrk_load(
        ["Apple is in Paris.", "EU rejects German call."],
        model=str(tiny_model_dir("bert")),
        connections=8,
        seconds=2,
        warmup=0.5,
        server_args=["--threads", "1"],
        log_dir=tmp_path,
    )
    assert report.requests > 0 and report.non_2xx == 0 and report.socket_errors == 0
    assert 0 < report.p50_ms <= report.p99_ms
    assert report.engine_sentences_per_s and report.engine_sentences_per_s > 0
    assert report.ratio is not None and report.ratio > 0
    assert report.engine_one_by_one_per_s and report.engine_one_by_one_per_s > 0
