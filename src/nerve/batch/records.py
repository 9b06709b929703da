"""Read a shard's documents. Each record keeps every input field; a record that cannot be
tagged (bad encoding, bad JSON, a text field that is missing or not a string) carries the
reason instead, and goes to the errors shard."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from ..errors import DataError
from ..io.json_problems import json_problem, loads_strict
from .fs import filesystem
from .plan import Piece, Shard


@dataclass
class Record:
    fields: dict[str, Any]  # every input field, passed through to the output row
    text: str | None  # None when the record failed
    where: dict[str, Any] = field(default_factory=dict)  # source and line/row, for errors
    error: str | None = None


def _unicode_problem(text: str) -> str | None:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        return f"text is not valid Unicode (lone surrogate at character {exc.start})"
    return None


def _from_object(obj: Any, text_field: str, where: dict[str, Any]) -> Record:
    if not isinstance(obj, dict):
        return Record({}, None, where, f"a JSONL line must be an object, got {type(obj).__name__}")
    if text_field not in obj:
        return Record(obj, None, where, f"no {text_field!r} field")
    text = obj[text_field]
    if not isinstance(text, str):
        return Record(obj, None, where, f"{text_field!r} is {type(text).__name__}, not a string")
    problem = _unicode_problem(text)
    return Record(obj, None if problem else text, where, problem)


_BOM = "\ufeff".encode()  # as nerve infer, which drops it too


def _read_bytes(piece: Piece) -> bytes:
    fs, path = filesystem(piece.location)
    with fs.open_input_file(path) as fh:
        fh.seek(piece.start)
        return bytes(fh.read(piece.end - piece.start))


def _decode(raw: bytes) -> tuple[str | None, str | None]:
    try:
        return raw.decode("utf-8"), None
    except UnicodeDecodeError as exc:
        return None, f"invalid UTF-8 at byte {exc.start}"


def _lines(piece: Piece, text_field: str) -> list[Record]:
    out = []
    lines = _read_bytes(piece).split(b"\n")
    if lines and lines[-1] == b"":
        lines.pop()  # the newline that ends the last line starts no new one
    for i, raw in enumerate(lines):
        where = {"source": piece.location, "line": piece.first_line + i}
        if piece.start == 0 and i == 0:
            raw = raw.removeprefix(_BOM)  # a file's byte-order mark is not its first line's
        line, problem = _decode(raw.rstrip(b"\r"))
        if piece.format == "text":
            out.append(Record({**where, "text": line}, line, where, problem))
            continue
        if line is None:
            out.append(Record(_fields_despite_encoding(raw), None, where, problem))
            continue
        if not line.strip():
            continue  # blank lines in JSONL hold no record
        try:
            obj = loads_strict(line)
        except ValueError as exc:
            out.append(Record({}, None, where, f"invalid JSON: {json_problem(exc)}"))
            continue
        out.append(_from_object(obj, text_field, where))
    return out


def _fields_despite_encoding(raw: bytes) -> dict[str, Any]:
    """A line with invalid UTF-8 is an error, but its id is still worth reporting: read the
    object with the bad bytes replaced, for the errors shard only."""
    try:
        obj = json.loads(raw.decode("utf-8", errors="replace"))
    except ValueError:
        return {}
    return obj if isinstance(obj, dict) else {}


def _whole(piece: Piece) -> list[Record]:
    where = {"source": piece.location}
    text, problem = _decode(_read_bytes(piece).removeprefix(_BOM))
    return [Record({**where, "text": text}, text, where, problem)]


def _parquet(piece: Piece, text_field: str) -> list[Record]:
    import pyarrow.parquet as pq

    fs, path = filesystem(piece.location)
    with fs.open_input_file(path) as fh:
        pf = pq.ParquetFile(fh)
        groups, first, row = [], None, 0
        for g in range(pf.metadata.num_row_groups):
            n = pf.metadata.row_group(g).num_rows
            if row < piece.end and row + n > piece.start:
                groups.append(g)
                first = row if first is None else first
            row += n
        table = pf.read_row_groups(groups)
    assert first is not None
    rows = table.slice(piece.start - first, piece.end - piece.start).to_pylist()
    return [
        _from_object(obj, text_field, {"source": piece.location, "row": piece.start + i})
        for i, obj in enumerate(rows)
    ]


def read_piece(piece: Piece, text_field: str) -> list[Record]:
    if piece.format == "parquet":
        return _parquet(piece, text_field)
    if piece.format == "whole":
        return _whole(piece)
    return _lines(piece, text_field)


def read_shard(shard: Shard, text_field: str) -> list[Record]:
    return [r for piece in shard.pieces for r in read_piece(piece, text_field)]


def input_schema(shard: Shard) -> Any:
    """The Arrow schema of the shard's Parquet input files (merged when it spans several),
    or None for JSONL and text inputs, which have none. A Parquet output part is written with
    it, so that every part has the input's types: a column whose values are all null in one
    shard would otherwise be of type null there, and readers of the whole output directory
    (pandas, pyarrow.dataset, Spark) refuse parts whose types disagree."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    locations = dict.fromkeys(p.location for p in shard.pieces if p.format == "parquet")
    schemas = []
    for location in locations:
        fs, path = filesystem(location)
        with fs.open_input_file(path) as fh:
            schemas.append(pq.ParquetFile(fh).schema_arrow)
    if not schemas:
        return None
    try:
        return pa.unify_schemas(schemas, promote_options="permissive")
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        return None  # files whose columns cannot share a type: each value's own, as JSONL


def check_text_field(files: list[Any], text_field: str) -> None:
    """The text field must exist: in each Parquet schema (as a string column) and in each
    JSONL file's first record. Later records without it go to the errors shard."""
    for f in files:
        if f.format == "parquet":
            _check_parquet_field(f.location, text_field)
        elif f.format == "jsonl":
            _check_jsonl_field(f.location, text_field)


def _check_parquet_field(location: str, text_field: str) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    fs, path = filesystem(location)
    with fs.open_input_file(path) as fh:
        schema = pq.ParquetFile(fh).schema_arrow
    if text_field not in schema.names:
        raise DataError(
            f"{location}: no column {text_field!r} (columns: {', '.join(schema.names)}); "
            "choose one with --text-field"
        )
    kind = schema.field(text_field).type
    if pa.types.is_dictionary(kind):
        kind = kind.value_type  # a pandas "category" column of strings reads as strings
    if not (pa.types.is_string(kind) or pa.types.is_large_string(kind)):
        raise DataError(f"{location}: column {text_field!r} is {kind}, not a string column")


_FIRST_LINE_BOUND = 64 << 20


def _check_jsonl_field(location: str, text_field: str) -> None:
    fs, path = filesystem(location)
    head = b""
    with fs.open_input_stream(path) as fh:
        # Up to the end of the first non-blank line, however long (a 1 MiB cut of a longer
        # line would not parse, and the check would be skipped), within a bound.
        while len(head) < _FIRST_LINE_BOUND:
            chunk = bytes(fh.read(1 << 20))
            head += chunk
            if not chunk or b"\n" in head.lstrip():
                break
    for raw in head.removeprefix(_BOM).split(b"\n"):
        if not raw.strip():
            continue
        try:
            obj = json.loads(raw)
        except ValueError:
            return  # a bad first line is that record's error, reported in the errors shard
        if isinstance(obj, dict) and text_field not in obj:
            raise DataError(
                f"{location}: the first record has no {text_field!r} field (fields: "
                f"{', '.join(map(str, obj))}); choose one with --text-field"
            )
        return
