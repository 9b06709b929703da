"""Running the repository's scripts/ from tests: a made-up CoNLL file to read, and the script
in a fresh interpreter that sees the same nerve as the tests."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def write_conll(directory: Path, sentences: list[str]) -> Path:
    """``directory``/eng.testb holding ``sentences`` (words split on spaces); the directory,
    for ``NERVE_CONLL_DIR``."""
    lines = ["-DOCSTART- -X- -X- O", ""]
    for sentence in sentences:
        lines += [f"{word} NNP B-NP O" for word in sentence.split()] + [""]
    (directory / "eng.testb").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return directory


def run_script(name: str, args: list[str], conll_dir: Path | None = None) -> str:
    """scripts/``name`` with ``args``; its stdout. Fails the test with its stderr if it fails."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    if conll_dir is not None:
        env["NERVE_CONLL_DIR"] = str(conll_dir)
    proc = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / name), *args],
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
    )
    assert proc.returncode == 0, proc.stderr
    return proc.stdout
