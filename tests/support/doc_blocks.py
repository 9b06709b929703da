"""Run a markdown page's fenced blocks in order, as a reader would, and check their output.

A ```python block runs in a fresh interpreter, a ```bash block in bash, both in one working
folder (so a file a block writes is there for the next); a ```text block right after one of
them is that block's exact standard output. Other blocks (yaml, tables of keys) are returned
for the caller to check.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

_FENCE = re.compile(r"^```(\w*)\n(.*?)^```\n", re.S | re.M)


@dataclass(frozen=True)
class Block:
    lang: str
    code: str
    expected: str | None  # the ```text block that follows, if any


def blocks(markdown: str) -> list[Block]:
    found = [(m.group(1), m.group(2)) for m in _FENCE.finditer(markdown)]
    out: list[Block] = []
    for i, (lang, code) in enumerate(found):
        if lang == "text":
            continue
        follows = found[i + 1] if i + 1 < len(found) else None
        expected = follows[1] if follows and follows[0] == "text" else None
        out.append(Block(lang, code, expected))
    return out


def section(markdown: str, heading: str) -> str:
    """The text of the ``## heading`` section, up to the next ``## ``."""
    start = markdown.index(f"## {heading}\n")
    end = markdown.find("\n## ", start + 1)
    return markdown[start : end if end != -1 else len(markdown)]


def run_block(block: Block, cwd: Path, timeout: float = 300) -> str:
    """Run one python/bash block in ``cwd``; its stdout (checked against ``expected``)."""
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(p for p in sys.path if p),
        "PATH": os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")]),
    }
    command = (
        [sys.executable, "-c", block.code] if block.lang == "python" else ["bash", "-c", block.code]
    )
    proc = subprocess.run(
        command, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout
    )
    assert proc.returncode == 0, f"block failed:\n{block.code}\nstderr:\n{proc.stderr}"
    if block.expected is not None:
        assert proc.stdout == block.expected, f"{block.code}\ngave:\n{proc.stdout}"
    return proc.stdout
