"""Write a shard's files under a temporary name and rename them into place, so that a
reader (or ``--resume``) sees a shard complete or not at all.

Layout of an output directory::

    part-00000.jsonl          tagged rows (or .parquet)
    _errors/part-00000.jsonl  rows that could not be tagged (only when there are some)
    _stats/part-00000.json    the shard's counts
    _job.json                 what the job is (inputs, options): --resume checks it
    _SUCCESS                  written last, with the job's totals

The part file is renamed last: its presence is what marks the shard complete.
"""

from __future__ import annotations

import io
import json
import uuid
from typing import Any

from ..io.json_out import dumps
from .fs import filesystem, join
from .tagging import ShardOutput

ERRORS_DIR = "_errors"
STATS_DIR = "_stats"


def part_name(shard_name: str, fmt: str) -> str:
    return f"{shard_name}.{fmt}"


def json_line(row: dict[str, Any]) -> bytes:
    try:
        return (dumps(row) + "\n").encode("utf-8")
    except UnicodeEncodeError:
        # A lone surrogate in an input field (JSON's "\\ud800" read back): escaped, as JSON
        # can say it, instead of bytes that are not UTF-8.
        return (dumps(row, ensure_ascii=True) + "\n").encode("ascii")


def jsonl_bytes(rows: list[dict[str, Any]]) -> bytes:
    return b"".join(json_line(r) for r in rows)


def entities_type(raw_scores: bool = False) -> Any:
    import pyarrow as pa

    fields = [
        ("start", pa.int64()),
        ("end", pa.int64()),
        ("label", pa.string()),
        ("score", pa.float64()),
        ("text", pa.string()),
    ]
    if raw_scores:
        fields.append(("raw_scores", pa.list_(pa.float64())))
    return pa.list_(pa.struct(fields))


def _input_columns(rows: list[dict[str, Any]], schema: Any = None) -> Any:
    """The input fields of ``rows`` as an Arrow table: every field any row has (a row without
    one holds null), and a field whose values Arrow cannot hold as one type (JSONL ids that
    are numbers in some rows and text in others) as JSON text. ``schema``: the Parquet
    input's, whose fields come first and keep their types (even in a shard with no rows)."""
    import pyarrow as pa

    declared = [] if schema is None else [f.name for f in schema if f.name != "entities"]
    names = list(dict.fromkeys([*declared, *(k for r in rows for k in r if k != "entities")]))
    columns = {
        name: _column(
            [r.get(name) for r in rows],
            schema.field(name).type if name in declared else None,
        )
        for name in names
    }
    return pa.table(columns) if columns else None


def _column(values: list[Any], kind: Any = None) -> Any:
    """One input field as an Arrow array: of the input's type ``kind`` when there is one;
    else as Arrow reads it; else with lone surrogates (JSON's "\\ud800", which Parquet's
    UTF-8 cannot hold) kept as visible escapes; else as JSON text (also for what Arrow reads
    but Parquet cannot write: an integer beyond 64 bits, an empty object)."""
    import pyarrow as pa

    if kind is not None and (typed := _arrow(values, kind)) is not None:
        return typed
    if (read := _arrow(values)) is not None:
        return read
    has_text = any(isinstance(v, str) for v in values)
    if has_text and (escaped := _arrow([_escaped(v) for v in values])) is not None:
        return escaped
    return pa.array(
        [None if v is None else dumps(v, ensure_ascii=True) for v in values],
        type=pa.string(),
    )


def _arrow(values: list[Any], kind: Any = None) -> Any:
    """``values`` as an Arrow array Parquet can write, or None."""
    import pyarrow as pa

    try:
        array = pa.array(values, type=kind)
    except (pa.ArrowInvalid, pa.ArrowTypeError, UnicodeEncodeError, OverflowError):
        return None
    return array if _parquet_writable(array.type) else None


def _parquet_writable(kind: Any) -> bool:
    """Parquet has no struct without fields (Arrow reads ``{}`` as one)."""
    import pyarrow as pa

    if pa.types.is_struct(kind):
        return kind.num_fields > 0 and all(
            _parquet_writable(kind.field(i).type) for i in range(kind.num_fields)
        )
    if pa.types.is_list(kind) or pa.types.is_large_list(kind):
        return _parquet_writable(kind.value_type)
    return True


def _escaped(value: Any) -> Any:
    if isinstance(value, str):
        return value.encode("utf-8", "backslashreplace").decode("utf-8")
    return value


def parquet_bytes(
    rows: list[dict[str, Any]], schema: Any = None, raw_scores: bool = False
) -> bytes:
    """The tagged rows as a Parquet file; ``schema``: the input's (``records.input_schema``),
    ``raw_scores``: whether entities carry logits (asked by the job, so that a shard with no
    entities has the same type as the others)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    raw = raw_scores or any("raw_scores" in e for r in rows for e in r["entities"])
    entities = pa.array([r["entities"] for r in rows], type=entities_type(raw))
    # An input field called "entities" is replaced by the tagged one.
    inputs = _input_columns(rows, schema)
    if inputs is not None:
        table = inputs.append_column("entities", entities)
    else:
        table = pa.table({"entities": entities})
    sink = io.BytesIO()
    pq.write_table(table, sink)
    return sink.getvalue()


def write_atomic(location: str, data: bytes) -> None:
    """Write ``data`` to a hidden temporary file beside ``location``, then rename it."""
    fs, path = filesystem(location)
    parent, name = path.rsplit("/", 1)
    fs.create_dir(parent, recursive=True)
    tmp = f"{parent}/.{name}.{uuid.uuid4().hex}.tmp"
    with fs.open_output_stream(tmp) as fh:
        fh.write(data)
    fs.move(tmp, path)


def write_shard(
    output: str,
    shard_name: str,
    fmt: str,
    result: ShardOutput,
    schema: Any = None,
    raw_scores: bool = False,
) -> dict[str, int]:
    """Write one shard's files; ``schema`` and ``raw_scores`` as ``parquet_bytes`` takes them."""
    if result.errors:
        write_atomic(join(output, f"{ERRORS_DIR}/{shard_name}.jsonl"), jsonl_bytes(result.errors))
    stats = json.dumps(result.stats, sort_keys=True).encode()
    write_atomic(join(output, f"{STATS_DIR}/{shard_name}.json"), stats)
    data = (
        parquet_bytes(result.rows, schema, raw_scores)
        if fmt == "parquet"
        else jsonl_bytes(result.rows)
    )
    write_atomic(join(output, part_name(shard_name, fmt)), data)
    return result.stats


def read_stats(output: str, shard_name: str) -> dict[str, int]:
    fs, path = filesystem(join(output, f"{STATS_DIR}/{shard_name}.json"))
    with fs.open_input_stream(path) as fh:
        return dict(json.loads(bytes(fh.read())))
