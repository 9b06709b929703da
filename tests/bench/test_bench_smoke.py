"""``nerve bench`` end to end on a handful of texts with a tiny model: the report's shape only.

Speed is never asserted: CI machines are shared and a tiny random model says nothing.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from nerve.bench.report import BenchReport
from nerve.bench.timing import percentile
from nerve.bench.workloads import long_texts
from nerve.cli.main import main

WORDS = ["Peter", "Blackburn", "met", "Angela", "Merkel", "in", "Berlin", "on", "Monday", "."]
COLUMNS = {"tokens_per_s", "texts_per_s", "words_per_s", "p50_ms", "p99_ms", "peak_rss_mb"}


def _conll_file(path: Path, sentences: int) -> Path:
    """A CoNLL file of ``sentences`` 10-word sentences (enough for one ~1,000-word doc)."""
    lines = []
    for _ in range(sentences):
        lines += [f"{w} NNP B-NP O" for w in WORDS] + [""]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _bench(model: str, conll: Path, options: str, capsys: pytest.CaptureFixture[str]) -> str:
    assert main(["bench", "--model", model, "--conll", str(conll), *options.split()]) == 0
    return capsys.readouterr().out


@pytest.fixture(scope="module")
def model(tiny_model_dir: Any) -> str:
    return str(tiny_model_dir("bert"))


def test_bench_json_has_every_system_and_workload(
    model: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pytest.importorskip("transformers")
    conll = _conll_file(tmp_path / "test.conll", sentences=110)
    options = "--limit 4 --peers pipeline --repeats 2 --latency-texts 3 --json"
    out = _bench(model, conll, options, capsys)
    report = json.loads(out)
    assert [w["name"] for w in report["workloads"]] == ["short", "long"]
    short, long = report["workloads"]
    assert short["texts"] == 4 and long["texts"] == 1
    assert long["words"] >= 1000 and long["tokens"] > long["words"]
    systems = {(r["system"], r["workload"]) for r in report["results"]}
    expected = {"nerve", "pipeline-bs1", "pipeline-bs32"}
    assert systems == {(s, w) for s in expected for w in ("short", "long")}
    for row in report["results"]:
        assert set(row) >= COLUMNS and len(row["seconds"]) == 2
        assert all(row[c] > 0 for c in COLUMNS)
        assert row["latency_texts"] == (3 if row["workload"] == "short" else 1)
    assert set(report["ratios"]) == {"short", "long"}
    assert set(report["ratios"]["short"]) == expected - {"nerve"}
    assert report["meta"]["cpu"] and report["meta"]["repeats"] == 2


def test_bench_table_nerve_only(
    model: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    conll = _conll_file(tmp_path / "test.conll", sentences=5)
    options = "--workloads short --limit 3 --peers none --repeats 1 --latency-texts 2"
    out = _bench(model, conll, options, capsys)
    lines = out.splitlines()
    assert lines[0].startswith("| workload | system | tok/s |")
    assert len([line for line in lines if line.startswith("| short | nerve |")]) == 1
    assert "short: 3 texts" in out


def test_bench_host_workers_adds_a_row_measured_through_a_host_pool(
    model: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    conll = _conll_file(tmp_path / "test.conll", sentences=110)
    options = "--limit 4 --peers none --repeats 1 --latency-texts 2 --host-workers 2 --json"
    report = json.loads(_bench(model, conll, options, capsys))
    rows = {(r["system"], r["workload"]): r for r in report["results"]}
    assert set(rows) == {(s, w) for s in ("nerve", "nerve-host2") for w in ("short", "long")}
    for workload in ("short", "long"):
        row = rows[("nerve-host2", workload)]
        assert row["info"]["host_workers"] == "2" and all(row[c] > 0 for c in COLUMNS)
    assert report["meta"]["host_workers"] == 2


def test_bench_rejects_a_negative_number_of_host_workers(
    model: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["bench", "--model", model, "--host-workers", "-1"]) == 2
    assert "--host-workers must be >= 0, got -1" in capsys.readouterr().err


def test_bench_rejects_unknown_peer(model: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["bench", "--model", model, "--peers", "bogus"]) == 2
    assert "unknown peer" in capsys.readouterr().err


def test_long_documents_and_percentile() -> None:
    sentences = [tuple(WORDS)] * 450  # 4,500 words: two full documents and a short rest
    docs = long_texts(sentences, limit=5)
    assert [len(d.split()) for d in docs] == [2000, 2000]
    assert percentile([3.0, 1.0, 2.0], 50) == 2.0 and percentile([1.0, 2.0], 99) == 2.0
    assert isinstance(BenchReport({}, (), ()).ratios(), dict)


@pytest.mark.parametrize("processes", [1, 2])
def test_server_load_mode_reports_real_requests(
    tiny_model_dir: Any, tmp_path: Path, processes: int
) -> None:
    """In one process, and with the clients spread over two (``--client-processes``)."""
    pytest.importorskip("uvicorn")
    from nerve.bench.server_load import run_server_load

    report = run_server_load(
        ["Apple is in Paris.", "EU rejects German call."],
        model=str(tiny_model_dir("bert")),
        clients=4,
        seconds=1.5,
        warmup=0.5,
        server_args=["--threads", "1"],
        log_dir=tmp_path,
        processes=processes,
    )
    assert report.client_processes == processes
    assert ("4 clients in 2 processes" in report.format()) == (processes == 2)
    assert report.requests > 0 and report.errors == 0
    assert report.status_counts == {200: report.requests}
    assert 0 < report.p50_ms <= report.p99_ms
    assert report.requests_per_s == pytest.approx(report.requests / 1.5)


def test_a_client_process_measures_its_own_clients(tiny_model_dir: Any, tmp_path: Path) -> None:
    """``nerve.bench.client_process`` on its own: a job in, what its clients measured out
    (only requests after its warm-up, each answered 200)."""
    pytest.importorskip("uvicorn")
    import signal
    import subprocess
    import sys
    import time

    from nerve.bench.server_load import free_port, start_server

    port = free_port()
    model = str(tiny_model_dir("bert"))
    server = start_server(model, port, ["--threads", "1"], tmp_path / "server.log")
    try:
        job = {
            "port": port,
            "texts": ["Apple is in Paris."],
            "numbers": [0, 1],
            "seconds": 1.0,
            "warmup": 0.3,
            "start_at": time.time(),
        }
        done = subprocess.run(
            [sys.executable, "-m", "nerve.bench.client_process"],
            input=json.dumps(job),
            capture_output=True,
            text=True,
            timeout=60,
        )
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=60)
    assert done.returncode == 0, done.stderr
    measured = json.loads(done.stdout)
    assert measured["errors"] == 0 and measured["latencies"]
    assert measured["statuses"] == {"200": len(measured["latencies"])}
    assert all(0 < seconds < 1.0 for seconds in measured["latencies"])


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"clients": 0}, "--clients must be a positive integer, got 0"),
        ({"seconds": 0.0}, "--seconds"),
        ({"clients": 2, "processes": 3}, r"--client-processes must be between 1 and --clients"),
        ({"processes": 0}, r"--client-processes must be between 1 and --clients \(64\), got 0"),
    ],
)
def test_server_load_refuses_bad_settings_before_starting_a_server(
    kwargs: dict[str, Any], message: str
) -> None:
    from nerve.bench.server_load import ServerLoadError, run_server_load

    with pytest.raises(ServerLoadError, match=message):
        run_server_load(["Bonn"], **kwargs)


def test_bench_dtype_reaches_nerve_and_the_pipeline(
    model: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pytest.importorskip("transformers")
    conll = _conll_file(tmp_path / "test.conll", sentences=5)
    options = "--workloads short --limit 3 --peers pipeline --repeats 1 --latency-texts 1"
    report = json.loads(_bench(model, conll, f"{options} --dtype bfloat16 --json", capsys))
    dtypes = {row["system"]: row["info"]["dtype"] for row in report["results"]}
    assert dtypes == {"nerve": "bfloat16", "pipeline-bs1": "bfloat16", "pipeline-bs32": "bfloat16"}
    assert report["meta"]["dtype"] == "bfloat16"


def test_bench_refuses_client_processes_with_wrk(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["bench", "--server-load", "--load-generator", "wrk", "--client-processes", "2"])
    assert code == 2
    err = capsys.readouterr().err
    assert "--client-processes spreads Python client threads" in err and "Traceback" not in err


def test_bench_refuses_an_unknown_dtype(model: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["bench", "--model", model, "--dtype", "float8"]) == 2
    assert "--dtype must be one of float32, float16, bfloat16, got 'float8'" in (
        capsys.readouterr().err
    )


def test_on_an_accelerator_nerve_loads_the_safetensors_of_a_random_shape(tmp_path: Path) -> None:
    """A random shape's ONNX export has no weights for torch, which nerve runs on CUDA: the
    GPU bench would fail to load nerve at all (found before any GPU slot was spent)."""
    from nerve.bench.models import BenchModel
    from nerve.bench.runner import _system_spec

    onnx_dir, hf_dir = tmp_path / "onnx", tmp_path / "hf"
    shaped = BenchModel(onnx_dir, hf_dir, "random bert-base")
    assert _system_spec("nerve", shaped, "cpu").model_dir == str(onnx_dir)
    assert _system_spec("nerve", shaped, "cuda").model_dir == str(hf_dir)
    assert _system_spec("nerve", shaped, "cuda:1").model_dir == str(hf_dir)
    onnx_only = BenchModel(onnx_dir, None, "an ONNX model")
    assert _system_spec("nerve", onnx_only, "cuda").model_dir == str(onnx_dir)
