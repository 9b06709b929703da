"""Helpers for the CLI tests: run ``nerve`` in-process (fast) or as a real subprocess (for
stdin, FIFOs and inherited file descriptors). They use the embedded default model, which
runs on the base install (ONNX Runtime, no torch)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from nerve.cli.main import main

SRC = Path(__file__).resolve().parents[2] / "src"


def run_cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    """(exit code, stdout, stderr) of ``nerve ARGV`` run in this process."""
    try:
        code = main(list(argv))
    except SystemExit as exc:  # argparse's own exits (bad arguments, --help)
        code = int(exc.code or 0)
    out, err = capsys.readouterr()
    return code, out, err


def nerve_process(
    *argv: str, stdin: bytes | None = None, stdout: Any = subprocess.PIPE, timeout: float = 120
) -> subprocess.CompletedProcess[bytes]:
    """``python -m nerve.cli.main ARGV`` with this checkout's source first on the path;
    ``stdin`` None means /dev/null (no pipe)."""
    paths = [str(SRC), os.environ.get("PYTHONPATH", "")]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(paths)}
    return subprocess.run(
        [sys.executable, "-m", "nerve.cli.main", *argv],
        input=stdin,
        stdin=subprocess.DEVNULL if stdin is None else None,
        stdout=stdout,
        stderr=subprocess.PIPE,
        env=env,
        timeout=timeout,
        check=False,
    )
