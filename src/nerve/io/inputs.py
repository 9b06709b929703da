"""Read records for ``nerve infer --input``: plain text, JSONL or Parquet.

The format is decided, never guessed from the content: ``--input-format`` when given, else
the file's extension (``.jsonl``/``.ndjson`` → JSONL, ``.parquet`` → Parquet, anything else,
and standard input, → plain text). A plain-text line that happens to start with ``{`` is text.

- Plain text: every line is one text (blank lines are empty texts, kept so output lines match
  input lines); the line break is not part of the text.
- JSONL: one object per line with a string ``text``; every other field (``id``, metadata...)
  is carried, unchanged, into that text's output record. Blank lines are skipped.
- Parquet (needs ``pyarrow``): a string column ``text``; the other columns are carried.

A UTF-8 byte-order mark at the start of the input is removed, so offsets count from the first
real character. Lines are read lazily, so a large file streams; every error names the file
and line (or row).
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import DataError, MissingExtra
from ..text.validity import lone_surrogate
from .json_problems import json_problem, loads_strict

FORMATS = ("text", "jsonl", "parquet")
STDIN = "-"
BOM = "\ufeff"
# Fields nerve writes into each output record: an input field of the same name would be
# silently overwritten, so it is refused instead.
RESERVED = ("entities",)
_PARQUET_BATCH = 1024


@dataclass(frozen=True)
class Record:
    """One input text and the fields that travel with it to the output."""

    text: str
    fields: dict[str, Any] = field(default_factory=dict)


def input_format(source: str, fmt: str | None) -> str:
    """The format of ``source``: ``fmt`` when given, else decided by the file extension."""
    if fmt not in (None, "auto") and fmt not in FORMATS:
        raise DataError(f"unknown input format {fmt!r}; expected one of: {', '.join(FORMATS)}")
    if fmt not in (None, "auto"):
        return str(fmt)
    suffix = Path(source).suffix.lower() if source != STDIN else ""
    if suffix in (".jsonl", ".ndjson"):
        return "jsonl"
    if suffix == ".parquet":
        return "parquet"
    return "text"


def _raw_lines(source: str) -> Iterator[tuple[int, bytes]]:
    if source == STDIN:
        yield from enumerate(sys.stdin.buffer, 1)
        return
    path = Path(source)
    if path.is_dir():
        raise DataError(f"{source}: is a directory, not a file of texts")
    try:
        with path.open("rb") as fh:
            yield from enumerate(fh, 1)
    except FileNotFoundError:
        raise DataError(f"{source}: no such file") from None
    except OSError as exc:
        raise DataError(f"{source}: cannot read: {(exc.strerror or str(exc)).lower()}") from None


def _lines(source: str) -> Iterator[tuple[int, str]]:
    for no, raw in _raw_lines(source):
        try:
            line = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise DataError(
                f"{source}:{no}: invalid UTF-8 at byte {exc.start} of the line"
            ) from None
        if no == 1 and line.startswith(BOM):
            line = line[1:]
        yield no, line.rstrip("\r\n")


def _jsonl_record(source: str, no: int, line: str) -> Record:
    try:
        obj = loads_strict(line)
    except ValueError as exc:
        raise DataError(f"{source}:{no}: invalid JSON: {json_problem(exc)}") from None
    if not isinstance(obj, dict) or "text" not in obj:
        raise DataError(f"{source}:{no}: a JSONL line must be an object with a 'text' field")
    text = obj.pop("text")
    if not isinstance(text, str):
        raise DataError(f"{source}:{no}: 'text' must be a string, got {type(text).__name__}")
    if (at := lone_surrogate(text)) is not None:  # JSON's "\\udc00"
        raise DataError(
            f"{source}:{no}: 'text' is not valid Unicode: lone surrogate at character {at}"
        )
    _check_reserved(obj, f"{source}:{no}")
    return Record(text, obj)


def _check_reserved(fields: dict[str, Any], where: str) -> None:
    for name in RESERVED:
        if name in fields:
            raise DataError(
                f"{where}: the input has a field {name!r}, which nerve writes into each "
                "output record; rename it"
            )


def _parquet_records(source: str) -> Iterator[Record]:
    try:
        import pyarrow.parquet as pq
    except ImportError:
        raise MissingExtra("pyarrow", "parquet", "--input-format parquet") from None
    if source == STDIN:
        raise DataError("Parquet cannot be read from standard input; give a file")
    try:
        parquet = pq.ParquetFile(source)
    except FileNotFoundError:
        raise DataError(f"{source}: no such file") from None
    except Exception as exc:  # pyarrow raises its own error types for bad files
        raise DataError(f"{source}: not a readable Parquet file ({exc})") from None
    names = parquet.schema_arrow.names
    if "text" not in names:
        raise DataError(f"{source}: no 'text' column (columns: {', '.join(names)})")
    _check_reserved(dict.fromkeys(names), source)
    row = 0
    for batch in parquet.iter_batches(batch_size=_PARQUET_BATCH):
        for values in batch.to_pylist():
            row += 1
            text = values.pop("text")
            if not isinstance(text, str):
                raise DataError(f"{source}: row {row}: 'text' is {type(text).__name__}, not text")
            yield Record(text, values)


def read_records(source: str, fmt: str | None = None) -> Iterator[Record]:
    """Records from ``source`` (a path or ``-`` for stdin) in ``fmt`` (None: by extension)."""
    fmt = input_format(source, fmt)
    if fmt == "parquet":
        yield from _parquet_records(source)
        return
    for no, line in _lines(source):
        if fmt == "text":
            yield Record(line)
        elif line.strip():
            yield _jsonl_record(source, no, line)


def read_texts(source: str, fmt: str | None = None) -> Iterator[str]:
    """Only the texts of ``read_records``."""
    return (record.text for record in read_records(source, fmt))
