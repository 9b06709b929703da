"""``nerve infer -o``: never destroys what is at the path (issue 12, item 1)."""

from __future__ import annotations

import json
import os
import shlex
import stat
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from .conftest import SRC, nerve_process, run_cli


def _rows(text: str) -> list[dict[str, object]]:
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def test_regular_file_gets_the_umask_mode_and_no_temp_is_left(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    target = tmp_path / "out.json"
    old = os.umask(0o027)
    try:
        code, _, err = run_cli(capsys, "infer", "Paris", "-o", str(target))
    finally:
        os.umask(old)
    assert code == 0, err
    assert stat.S_IMODE(target.stat().st_mode) == 0o640  # 0666 & ~027, not mkstemp's 0600
    assert json.loads(target.read_text())[0]["text"] == "Paris"
    assert [p.name for p in tmp_path.iterdir()] == ["out.json"]


def test_existing_file_keeps_its_mode(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    target = tmp_path / "out.json"
    target.write_text("old")
    target.chmod(0o604)
    assert run_cli(capsys, "infer", "Paris", "-o", str(target))[0] == 0
    assert stat.S_IMODE(target.stat().st_mode) == 0o604
    assert json.loads(target.read_text())[0]["text"] == "Paris"


def test_symlink_target_is_written_and_the_link_kept(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "real").mkdir()
    target = tmp_path / "real" / "results.json"
    link = tmp_path / "link.json"
    link.symlink_to(target)  # dangling until nerve writes the target
    assert run_cli(capsys, "infer", "Paris", "-o", str(link))[0] == 0
    assert link.is_symlink() and os.readlink(link) == str(target)
    assert json.loads(target.read_text())[0]["text"] == "Paris"


def test_fifo_is_written_as_a_stream(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    received: list[bytes] = []

    def read() -> None:
        with open(fifo, "rb") as fh:  # blocks until nerve opens the FIFO for writing
            received.append(fh.read())

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    code, _, err = run_cli(capsys, "infer", "Paris", "-o", str(fifo), "-f", "jsonl")
    reader.join(timeout=60)
    assert code == 0, err
    assert stat.S_ISFIFO(fifo.stat().st_mode)  # still a FIFO, not replaced by a file
    assert _rows(received[0].decode())[0]["text"] == "Paris"


def test_dash_is_stdout_not_a_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    code, out, _ = run_cli(capsys, "infer", "Paris", "-o", "-", "-f", "jsonl")
    assert code == 0 and _rows(out)[0]["text"] == "Paris"
    assert not (tmp_path / "-").exists()


def test_dev_stdout_appends_to_what_the_shell_redirected(tmp_path: Path) -> None:
    # /dev/stdout → the shell's file: written through the open descriptor, so what was
    # already written stays (reopening it with truncation or renaming over it would not).
    log = tmp_path / "log.txt"
    with open(log, "wb") as fh:
        fh.write(b"before\n")
        fh.flush()
        done = nerve_process("infer", "Paris", "-o", "/dev/stdout", "-f", "jsonl", stdout=fh)
    assert done.returncode == 0, done.stderr
    first, second = log.read_text().splitlines()
    assert first == "before" and json.loads(second)["text"] == "Paris"
    assert not log.is_symlink()


@pytest.mark.parametrize(
    ("make", "problem"),
    [
        (lambda d: d / "missing-dir" / "x.json", "does not exist"),
        (lambda d: d, "is a directory"),
    ],
    ids=["missing-directory", "a-directory"],
)
def test_unusable_paths_are_one_line_errors(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], make: object, problem: str
) -> None:
    path = make(tmp_path)  # type: ignore[operator]
    code, out, err = run_cli(capsys, "infer", "Paris", "-o", str(path))
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and "error:" in err and problem in err


@pytest.mark.skipif(os.geteuid() == 0, reason="root may write anywhere")
def test_permission_denied_is_a_one_line_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    try:
        code, _, err = run_cli(capsys, "infer", "Paris", "-o", str(locked / "x.json"))
    finally:
        locked.chmod(0o700)
    assert code == 2 and "permission denied" in err and err.count("\n") == 1


def test_a_reader_that_leaves_early_is_not_an_error(tmp_path: Path) -> None:
    # `nerve infer ... | head -1`: stdout closes under nerve; no traceback, no message.
    texts = tmp_path / "many.txt"
    texts.write_text("Tim Cook visited Paris.\n" * 3000)
    script = (
        f"{shlex.quote(sys.executable)} -m nerve.cli.main infer -i {shlex.quote(str(texts))} "
        "| head -c 10 > /dev/null; echo ${PIPESTATUS[0]}"
    )
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(SRC), os.environ.get("PYTHONPATH", "")]),
    }
    done = subprocess.run(
        ["bash", "-c", script], capture_output=True, text=True, timeout=300, env=env, check=False
    )
    assert "Traceback" not in done.stderr and "Error" not in done.stderr, done.stderr
    assert done.stdout.strip() in ("0", "141")  # 141: ended like a process killed by SIGPIPE


def test_a_failed_run_leaves_the_old_file_and_names_the_real_problem(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    target = tmp_path / "out.jsonl"
    target.write_text("old results\n")
    bad = tmp_path / "in.jsonl"
    bad.write_text('{"text": "Paris"}\nnot json\n')
    code, _, err = run_cli(capsys, "infer", "-i", str(bad), "-o", str(target))
    assert code == 2 and f"{bad}:2: invalid JSON" in err and "cannot write" not in err
    assert target.read_text() == "old results\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.jsonl", "out.jsonl"]  # no temp


def test_a_number_too_long_for_json_is_a_named_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """json.loads refuses an integer of over 4,300 digits with a plain ValueError."""
    bad = tmp_path / "in.jsonl"
    bad.write_text('{"text": "Paris", "id": ' + "1" * 4301 + "}\n")
    code, _, err = run_cli(capsys, "infer", "-i", str(bad))
    assert code == 2
    assert f"{bad}:1: invalid JSON: a number has more than 4,300 digits" in err, err


@pytest.mark.parametrize("command", ["export", "train"])
def test_an_output_directory_that_cannot_be_made_fails_before_the_work(
    command: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Names the user's --out, not the temporary sibling the output is first written to, and
    comes before any model work (training took all its epochs, then failed)."""
    from nerve.model.resolve import default_model_dir

    (tmp_path / "a-file").write_text("x")
    out = tmp_path / "a-file" / "model"
    base = str(default_model_dir())
    if command == "export":
        argv = ["export", base, str(out)]
    else:
        data = tmp_path / "tiny.conll"
        data.write_text("Paris B-LOC\n\n")
        argv = ["train", "--base", base, "--train", str(data), "--dev", str(data)]
        argv += ["--out", str(out), "--no-progress"]
    code, _, err = run_cli(capsys, *argv)
    assert code == 2
    assert err.strip() == (
        f"nerve {command}: error: cannot create the output directory {out}: "
        f"{tmp_path / 'a-file'} is not a directory"
    )
