"""Read texts for ``nerve infer --input``: plain text (one per line) or JSONL (``text`` field).

Lines are yielded lazily so a large file streams; every error names the file and line.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from pathlib import Path

from ..errors import DataError


def _raw_lines(source: str) -> Iterator[tuple[int, bytes]]:
    if source == "-":
        yield from enumerate(sys.stdin.buffer, 1)
        return
    path = Path(source)
    if not path.is_file():
        raise DataError(f"{source}: no such file")
    with path.open("rb") as fh:
        yield from enumerate(fh, 1)


def _decode(source: str, no: int, raw: bytes) -> str:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise DataError(f"{source}:{no}: invalid UTF-8 at byte {exc.start} of the line") from None


def _jsonl_text(source: str, no: int, line: str) -> str:
    try:
        obj = json.loads(line)
    except json.JSONDecodeError as exc:
        raise DataError(f"{source}:{no}: invalid JSON: {exc.msg}") from None
    if not isinstance(obj, dict) or "text" not in obj:
        raise DataError(f"{source}:{no}: a JSONL line must be an object with a 'text' field")
    if not isinstance(obj["text"], str):
        raise DataError(f"{source}:{no}: 'text' must be a string, got {type(obj['text']).__name__}")
    return obj["text"]


def read_texts(source: str, fmt: str = "auto") -> Iterator[str]:
    """Texts from ``source`` (a path or ``-``). ``fmt``: auto | text | jsonl.

    auto: JSONL when the file name ends in .jsonl or the first non-blank line starts with
    ``{``. Plain text: every line is one text (blank lines are empty texts, kept so output
    lines match input lines); a trailing newline is not part of the text.
    """
    if fmt not in ("auto", "text", "jsonl"):
        raise DataError(f"unknown input format {fmt!r} (auto, text, jsonl)")
    jsonl = fmt == "jsonl" or (fmt == "auto" and source.endswith(".jsonl"))
    decided = fmt != "auto" or jsonl
    for no, raw in _raw_lines(source):
        line = _decode(source, no, raw).rstrip("\r\n")
        if not decided and line.strip():
            jsonl, decided = line.lstrip().startswith("{"), True
        if jsonl:
            if line.strip():
                yield _jsonl_text(source, no, line)
        else:
            yield line
