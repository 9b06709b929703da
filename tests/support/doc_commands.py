"""The shell commands shown in docs/ray.md, by section, so that tests run exactly them."""

from __future__ import annotations

import re
import shlex
import sys
from pathlib import Path

DOC = Path(__file__).resolve().parents[2] / "docs" / "ray.md"


def commands(section: str) -> list[list[str]]:
    """argv of each line of the first plain code block under ``## <section>``; ``nerve``
    becomes this interpreter's ``-m nerve.cli.main``."""
    text = DOC.read_text(encoding="utf-8")
    start = text.index(f"## {section}\n")
    block = re.search(r"```\n(.*?)```", text[start:], re.S)
    assert block, f"no code block under '## {section}' in {DOC}"
    out = []
    for line in block.group(1).splitlines():
        argv = shlex.split(line)
        if argv and argv[0] == "nerve":
            argv = [sys.executable, "-m", "nerve.cli.main", *argv[1:]]
        out.append(argv)
    return out
