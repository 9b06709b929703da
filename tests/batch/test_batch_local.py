"""``nerve batch`` without Ray: formats, manifest, resume after a kill, and bad input."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytest.importorskip("pyarrow", reason="nerve batch needs pyarrow: pip install 'nerve[batch]'")

from nerve.cli.main import main
from support.ray_corpus import part_bytes, read_errors, read_parts, write_corpus

TESTS_DIR = Path(__file__).resolve().parents[1]
ENV = {
    **os.environ,
    "PYTHONPATH": os.pathsep.join([str(TESTS_DIR.parent / "src"), str(TESTS_DIR)]),
}


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "nerve.cli.main", "batch", "--no-progress", *args],
        env=ENV, capture_output=True, text=True, timeout=600,
    )  # fmt: skip


def test_jsonl_and_parquet_outputs_hold_every_field_and_the_same_entities(tmp_path: Path) -> None:
    import pyarrow.parquet as pq

    rows = write_corpus(tmp_path / "in", 30)
    assert main(["batch", str(tmp_path / "in"), "-o", str(tmp_path / "j"), "--no-progress"]) == 0
    assert main(["batch", str(tmp_path / "in"), "-o", str(tmp_path / "p"), "-f", "parquet",
                 "--no-progress"]) == 0  # fmt: skip
    as_jsonl = read_parts(tmp_path / "j")
    table = pq.read_table(str(tmp_path / "p"))  # a reader sees the parts, not _errors/_stats
    assert table.column_names == ["id", "meta", "text", "entities"]
    # Parquet's schema is the union of the shards': a field a row lacks reads back as null.
    assert table.to_pylist() == [{"meta": None, **r} for r in as_jsonl]
    assert [r["id"] for r in as_jsonl] == [r["id"] for r in rows] + ["ok-after-bad"]
    manifest = json.loads((tmp_path / "j" / "_SUCCESS").read_text())
    assert manifest["documents"] == len(rows) + 1
    assert manifest["entities"] == sum(len(r["entities"]) for r in as_jsonl) > 0
    assert manifest["failures"] == len(read_errors(tmp_path / "j")) == 4


def test_parquet_and_text_inputs(tmp_path: Path) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    pq.write_table(
        pa.table({"doc": [1, 2, 3], "body": ["Paris is in France.", "", None]}),
        str(tmp_path / "t.parquet"),
        row_group_size=2,
    )
    (tmp_path / "lines.txt").write_text("John lives in London.\n\nBerlin\n", encoding="utf-8")
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "one.txt").write_text("Rome\nand Milan", encoding="utf-8")
    out = tmp_path / "out"
    assert main(["batch", str(tmp_path / "t.parquet"), "-o", str(out), "--text-field", "body",
                 "--id-field", "doc", "--shard-rows", "2", "--no-progress"]) == 0  # fmt: skip
    got = read_parts(out)
    assert [r["doc"] for r in got] == [1, 2]
    assert [e["text"] for e in got[0]["entities"]] == ["Paris", "France"]
    assert read_errors(out) == [
        {"id": 3, "source": str(tmp_path / "t.parquet"), "row": 2,
         "reason": "'body' is NoneType, not a string"}
    ]  # fmt: skip
    out2 = tmp_path / "out2"
    assert main(["batch", str(tmp_path / "lines.txt"), "-o", str(out2), "--no-progress"]) == 0
    assert [(r["line"], r["text"]) for r in read_parts(out2)] == [
        (1, "John lives in London."), (2, ""), (3, "Berlin")
    ]  # fmt: skip
    out3 = tmp_path / "out3"
    assert main(["batch", str(tmp_path / "docs"), "-o", str(out3), "--whole-files",
                 "--no-progress"]) == 0  # fmt: skip
    [doc] = read_parts(out3)
    assert doc["text"] == "Rome\nand Milan" and {e["text"] for e in doc["entities"]} == {
        "Rome",
        "Milan",
    }


def test_a_jsonl_line_json_cannot_read_is_that_records_error(tmp_path: Path) -> None:
    """Bad syntax and an integer over 4,300 digits (a plain ValueError in json.loads) both
    land in the errors shard; the good line is tagged."""
    lines = ['{"text": "Paris"}', "{not json", '{"text": "Rome", "n": ' + "1" * 4301 + "}"]
    (tmp_path / "in.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    out = tmp_path / "out"
    assert main(["batch", str(tmp_path / "in.jsonl"), "-o", str(out), "--no-progress"]) == 0
    assert [r["text"] for r in read_parts(out)] == ["Paris"]
    reasons = [e["reason"] for e in read_errors(out)]
    assert len(reasons) == 2 and reasons[0].startswith("invalid JSON: ")
    assert reasons[1] == "invalid JSON: a number has more than 4,300 digits"


def test_killed_job_resumed_equals_an_uninterrupted_run(tmp_path: Path) -> None:
    write_corpus(tmp_path / "in", 300, bad=True)
    args = [str(tmp_path / "in"), "--shard-rows", "4"]
    whole = run_cli(*args, "-o", str(tmp_path / "whole"))
    assert whole.returncode == 0, whole.stderr
    out = tmp_path / "killed"
    job = subprocess.Popen(
        [sys.executable, "-m", "nerve.cli.main", "batch", "--no-progress", *args, "-o", str(out)],
        env=ENV, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    deadline = time.monotonic() + 300
    while len(list(out.glob("part-*"))) < 3 and job.poll() is None and time.monotonic() < deadline:
        time.sleep(0.01)
    job.send_signal(signal.SIGKILL)
    job.wait(timeout=60)
    done = len(list(out.glob("part-*")))
    total = len(list((tmp_path / "whole").glob("part-*")))
    assert 0 < done < total, "the job was not killed mid-way"
    assert not (out / "_SUCCESS").exists()
    again = run_cli(*args, "-o", str(out))  # without --resume: refused
    assert again.returncode == 2 and "--resume" in again.stderr
    resumed = run_cli(*args, "-o", str(out), "--resume")
    assert resumed.returncode == 0, resumed.stderr
    assert f"({done} already complete)" in resumed.stderr
    assert part_bytes(out) == part_bytes(tmp_path / "whole")
    assert read_errors(out) == read_errors(tmp_path / "whole")
    assert not list(out.rglob(".*.tmp"))
    want = json.loads((tmp_path / "whole" / "_SUCCESS").read_text())
    got = json.loads((out / "_SUCCESS").read_text())
    for key in ("documents", "tokens", "entities", "failures", "shards", "parts"):
        assert got[key] == want[key]


@pytest.mark.parametrize(
    ("make_args", "message"),
    [
        (lambda d: [str(d / "missing.jsonl")], "missing.jsonl: no such file or directory"),
        (lambda d: [str(d / "*.nothing")], "matches no input files"),
        (lambda d: [str(d / "in"), "--text-field", "body"], "has no 'body' field"),
        (lambda d: [str(d / "in"), "--shard-rows", "0"], "--shard-rows must be at least 1"),
        (lambda d: [str(d / "in"), "--gpus-per-worker", "1"], "--gpus-per-worker needs --ray"),
        # Ray's placement flags did nothing locally, without a word.
        (lambda d: [str(d / "in"), "--workers", "2"], "--workers needs --ray"),
        (lambda d: [str(d / "in"), "--cpus-per-worker", "2"], "--cpus-per-worker needs --ray"),
        (lambda d: [str(d / "in"), "--ray-timeout", "5"], "--ray-timeout needs --ray"),
        (
            lambda d: [str(d / "in"), "--ray", "--ray-timeout", "-1"],
            "--ray-timeout must be a number of seconds above 0 and at most 86,400, got -1.0",
        ),
    ],
)
def test_bad_input_is_one_clear_line_before_any_output(
    tmp_path: Path, make_args, message: str, capsys: pytest.CaptureFixture[str]
) -> None:  # type: ignore[no-untyped-def]
    write_corpus(tmp_path / "in", 4)
    out = tmp_path / "out"
    assert main(["batch", *make_args(tmp_path), "-o", str(out), "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err and len(err.strip().splitlines()) == 1
    assert not out.exists()


def test_output_of_another_job_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write_corpus(tmp_path / "in", 4)
    out = tmp_path / "out"
    assert main(["batch", str(tmp_path / "in"), "-o", str(out), "--no-progress"]) == 0
    before = part_bytes(out)
    assert main(["batch", str(tmp_path / "in"), "-o", str(out), "--no-progress", "--resume",
                 "--aggregation", "first"]) == 2  # fmt: skip
    assert "holds a different job" in capsys.readouterr().err
    (tmp_path / "foreign").mkdir()
    (tmp_path / "foreign" / "part-00000.parquet").write_bytes(b"x")
    assert main(["batch", str(tmp_path / "in"), "-o", str(tmp_path / "foreign"),
                 "--no-progress"]) == 2  # fmt: skip
    assert "unknown job" in capsys.readouterr().err
    assert part_bytes(out) == before


def test_ray_address_that_does_not_answer_fails_within_the_timeout(tmp_path: Path) -> None:
    # In a subprocess: importing Ray here would fix its auth settings for the whole session,
    # before tests/ray's cluster sets them.
    pytest.importorskip("ray", reason="needs the 'ray' extra")
    import socket

    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    write_corpus(tmp_path / "in", 4)
    started = time.monotonic()
    done = run_cli(str(tmp_path / "in"), "-o", str(tmp_path / "out"),
                   "--ray", f"127.0.0.1:{port}", "--ray-timeout", "3")  # fmt: skip
    assert done.returncode == 2 and time.monotonic() - started < 60
    assert f"no Ray cluster answers at 127.0.0.1:{port} (within 3 s" in done.stderr
    assert "Traceback" not in done.stderr
    assert not (tmp_path / "out").exists()


def test_resume_runs_again_a_shard_whose_counts_are_gone(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """--resume failed on every rerun with pyarrow's "failed to open local file"."""
    write_corpus(tmp_path / "in", 12)
    args = [str(tmp_path / "in"), "--shard-rows", "4", "--no-progress"]
    assert main(["batch", *args, "-o", str(tmp_path / "whole")]) == 0
    out = tmp_path / "out"
    assert main(["batch", *args, "-o", str(out)]) == 0
    (out / "_SUCCESS").unlink()  # as if the job had stopped before its end
    (out / "_stats" / "part-00001.json").unlink()
    (out / "_stats" / "part-00002.json").write_text("not json")
    capsys.readouterr()
    assert main(["batch", *args, "-o", str(out), "--resume"]) == 0
    want = json.loads((tmp_path / "whole" / "_SUCCESS").read_text())
    assert f"({want['shards'] - 2} already complete)" in capsys.readouterr().err
    assert part_bytes(out) == part_bytes(tmp_path / "whole")
    got = json.loads((out / "_SUCCESS").read_text())
    assert [got[k] for k in ("documents", "tokens", "entities")] == [
        want[k] for k in ("documents", "tokens", "entities")
    ]
