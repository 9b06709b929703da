"""Split the input into shards: the unit that is tagged, written, retried and resumed.

A shard is a list of pieces (a byte range of lines of a JSONL or text file, a row range of a
Parquet file, or whole text files), closed once it holds ``rows`` documents or ``bytes`` of
input. The plan depends only on the input and these two sizes, so a rerun (``--resume``) and
a Ray run see exactly the same shards as the first local run.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from ..errors import InvalidInput
from .fs import filesystem
from .sources import InputFile

_CHUNK = 1 << 20


@dataclass(frozen=True)
class Piece:
    location: str
    format: str  # jsonl | text | parquet | whole (one text file = one document)
    start: int  # byte offset (jsonl/text), row (parquet); 0 for whole files
    end: int
    first_line: int  # line number (1-based) or row index of the piece's first record


@dataclass(frozen=True)
class Shard:
    index: int
    pieces: tuple[Piece, ...]

    @property
    def name(self) -> str:
        return f"part-{self.index:05d}"

    def to_json(self) -> dict[str, Any]:
        return {"index": self.index, "pieces": [asdict(p) for p in self.pieces]}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Shard:
        return cls(int(data["index"]), tuple(Piece(**p) for p in data["pieces"]))


def _line_ranges(location: str, rows: int, max_bytes: int) -> list[tuple[int, int, int]]:
    """(start, end, first line) byte ranges of whole lines, each ≤ rows lines / ~max_bytes."""
    fs, path = filesystem(location)
    out: list[tuple[int, int, int]] = []
    start, pos, lines, line_no = 0, 0, 0, 1
    first_line = 1
    with fs.open_input_stream(path) as fh:
        tail = b""
        while True:
            chunk = fh.read(_CHUNK)
            if not chunk:
                break
            buf = tail + chunk
            base = pos - len(tail)
            cut = 0
            while True:
                nl = buf.find(b"\n", cut)
                if nl < 0:
                    break
                cut = nl + 1
                lines += 1
                line_no += 1
                if lines >= rows or base + cut - start >= max_bytes:
                    out.append((start, base + cut, first_line))
                    start, lines, first_line = base + cut, 0, line_no
            tail = buf[cut:]
            pos += len(chunk)
    if pos > start:
        out.append((start, pos, first_line))
    return out


def _parquet_rows(location: str) -> int:
    import pyarrow.parquet as pq

    fs, path = filesystem(location)
    with fs.open_input_file(path) as fh:
        return int(pq.ParquetFile(fh).metadata.num_rows)


def plan_shards(
    files: list[InputFile], *, rows: int, max_bytes: int, whole_files: bool
) -> list[Shard]:
    if rows < 1:
        raise InvalidInput(f"--shard-rows must be at least 1, got {rows}")
    if max_bytes < 1:
        raise InvalidInput(f"--shard-bytes must be at least 1, got {max_bytes}")
    shards: list[Shard] = []
    group: list[Piece] = []
    group_bytes = 0

    def close() -> None:
        nonlocal group, group_bytes
        if group:
            shards.append(Shard(len(shards), tuple(group)))
        group, group_bytes = [], 0

    for f in files:
        if whole_files and f.format == "text":
            group.append(Piece(f.location, "whole", 0, f.size, 1))
            group_bytes += f.size
            if len(group) >= rows or group_bytes >= max_bytes:
                close()
            continue
        close()  # a file's rows never share a shard with another file's (simpler resume)
        if f.format == "parquet":
            n = _parquet_rows(f.location)
            for start in range(0, n, rows):
                piece = Piece(f.location, "parquet", start, min(n, start + rows), start)
                shards.append(Shard(len(shards), (piece,)))
        else:
            for start, end, first in _line_ranges(f.location, rows, max_bytes):
                shards.append(Shard(len(shards), (Piece(f.location, f.format, start, end, first),)))
    close()
    return shards
