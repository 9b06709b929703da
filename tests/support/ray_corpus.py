"""A corpus for the ``nerve batch`` tests: ids, metadata, unicode, empty texts, documents
longer than the model window, and rows that cannot be tagged."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

SENTENCES = [
    "Angela Merkel met Emmanuel Macron in Paris on Tuesday.",
    "Zürich, São Paulo and Kraków signed a deal with the United Nations.",
    "東京 and Москва are capitals; 🎉 emoji should not break offsets.",
    "Apple Inc. hired Tim Cook's former assistant from Cupertino.",
    "",
    "   ",
    "The European Central Bank raised rates, said Christine Lagarde in Frankfurt.",
]
# Longer than the default model's 512-token window: tagged in overlapping windows.
LONG = " ".join(
    f"In {year} Barack Obama visited Berlin and spoke with Olaf Scholz."
    for year in range(1900, 2000)
)


def good_rows(n: int) -> list[dict[str, Any]]:
    rows = []
    for i in range(n):
        text = LONG if i % 17 == 5 else SENTENCES[i % len(SENTENCES)]
        rows.append({"id": f"doc-{i:04d}", "meta": {"n": i, "tag": "ü" * (i % 3)}, "text": text})
    return rows


def write_corpus(directory: Path, n: int, *, bad: bool = True) -> list[dict[str, Any]]:
    """Two JSONL files (and a bad-row file if ``bad``); returns the good rows in order."""
    directory.mkdir(parents=True, exist_ok=True)
    rows = good_rows(n)
    half = n // 2
    for name, part in (("a.jsonl", rows[:half]), ("b.jsonl", rows[half:])):
        (directory / name).write_text(
            "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in part), encoding="utf-8"
        )
    if bad:
        (directory / "c.jsonl").write_bytes(
            b'{"id": "bad-int", "text": 42}\n'
            b'{"id": "bad-json", "text": "unterminated\n'
            b'{"id": "bad-utf8", "text": "caf\xff"}\n'
            b'{"id": "no-text", "body": "x"}\n'
            b'{"id": "ok-after-bad", "text": "Rome is in Italy."}\n'
        )
    return rows


def read_parts(output: Path) -> list[dict[str, Any]]:
    rows = []
    for part in sorted(output.glob("part-*.jsonl")):
        rows += [json.loads(line) for line in part.read_text(encoding="utf-8").splitlines()]
    return rows


def read_errors(output: Path) -> list[dict[str, Any]]:
    rows = []
    for part in sorted((output / "_errors").glob("part-*.jsonl")):
        rows += [json.loads(line) for line in part.read_text(encoding="utf-8").splitlines()]
    return rows


def part_bytes(output: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(output.glob("part-*"))}
