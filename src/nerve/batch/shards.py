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

from .fs import filesystem, join
from .tagging import ShardOutput

ERRORS_DIR = "_errors"
STATS_DIR = "_stats"


def part_name(shard_name: str, fmt: str) -> str:
    return f"{shard_name}.{fmt}"


def jsonl_bytes(rows: list[dict[str, Any]]) -> bytes:
    return "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows).encode("utf-8")


def entities_type() -> Any:
    import pyarrow as pa

    return pa.list_(
        pa.struct(
            [
                ("start", pa.int64()),
                ("end", pa.int64()),
                ("label", pa.string()),
                ("score", pa.float64()),
                ("text", pa.string()),
            ]
        )
    )


def parquet_bytes(rows: list[dict[str, Any]]) -> bytes:
    import pyarrow as pa
    import pyarrow.parquet as pq

    entities = pa.array([r["entities"] for r in rows], type=entities_type())
    if rows:
        # An input field called "entities" is replaced by the tagged one.
        table = pa.Table.from_pylist(
            [{k: v for k, v in r.items() if k != "entities"} for r in rows]
        )
        table = table.append_column("entities", entities)
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


def write_shard(output: str, shard_name: str, fmt: str, result: ShardOutput) -> dict[str, int]:
    if result.errors:
        write_atomic(join(output, f"{ERRORS_DIR}/{shard_name}.jsonl"), jsonl_bytes(result.errors))
    stats = json.dumps(result.stats, sort_keys=True).encode()
    write_atomic(join(output, f"{STATS_DIR}/{shard_name}.json"), stats)
    data = parquet_bytes(result.rows) if fmt == "parquet" else jsonl_bytes(result.rows)
    write_atomic(join(output, part_name(shard_name, fmt)), data)
    return result.stats


def read_stats(output: str, shard_name: str) -> dict[str, int]:
    fs, path = filesystem(join(output, f"{STATS_DIR}/{shard_name}.json"))
    with fs.open_input_stream(path) as fh:
        return dict(json.loads(bytes(fh.read())))
