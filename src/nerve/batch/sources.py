"""Turn INPUT arguments (files, directories, globs; local or URIs) into a sorted list of
input files, each with its format, checked before any work starts."""

from __future__ import annotations

import fnmatch
import glob
import os
from dataclasses import dataclass
from typing import Any

from ..errors import DataError, InvalidInput
from .fs import filesystem, is_uri, pyarrow_fs

FORMATS = ("auto", "jsonl", "text", "parquet")
_BY_SUFFIX = {
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".json": "jsonl",
    ".parquet": "parquet",
    ".pq": "parquet",
}
_GLOB_CHARS = ("*", "?", "[")


@dataclass(frozen=True)
class InputFile:
    location: str  # absolute local path or URI, as readers open it
    format: str  # jsonl | text | parquet
    size: int
    mtime_ns: int  # with size: tells a resumed job that its input changed


def file_format(location: str, forced: str) -> str:
    if forced != "auto":
        return forced
    _, suffix = os.path.splitext(location.lower())
    return _BY_SUFFIX.get(suffix, "text")


def _visible(path: str) -> bool:
    # Like pyarrow datasets: names starting with "." or "_" are metadata (_SUCCESS, .tmp).
    return not os.path.basename(path).startswith((".", "_"))


def _expand_one(arg: str) -> list[tuple[Any, str, str]]:
    """(filesystem, path, location) of every file ``arg`` names."""
    pafs = pyarrow_fs()
    fs, path = filesystem(arg)
    scheme = arg.split("://", 1)[0] + "://" if is_uri(arg) else ""

    def location(p: str) -> str:
        return scheme + p if scheme else p

    if any(c in path for c in _GLOB_CHARS):
        if not scheme:
            paths = sorted(p for p in glob.glob(path, recursive=True) if os.path.isfile(p))
            return [(fs, os.path.abspath(p), os.path.abspath(p)) for p in paths if _visible(p)]
        base = path[: min(path.find(c) for c in _GLOB_CHARS if c in path)].rsplit("/", 1)[0]
        infos = fs.get_file_info(pafs.FileSelector(base, recursive=True, allow_not_found=True))
        return [
            (fs, i.path, location(i.path))
            for i in sorted(infos, key=lambda i: i.path)
            if i.type == pafs.FileType.File and fnmatch.fnmatch(i.path, path) and _visible(i.path)
        ]
    try:
        info = fs.get_file_info(path)
    except OSError as exc:
        raise DataError(f"{arg}: cannot be read ({exc})") from None
    if info.type == pafs.FileType.File:
        return [(fs, path, location(path))]
    if info.type == pafs.FileType.Directory:
        infos = fs.get_file_info(pafs.FileSelector(path, recursive=True))
        return [
            (fs, i.path, location(i.path))
            for i in sorted(infos, key=lambda i: i.path)
            if i.type == pafs.FileType.File
            and all(_visible(part) for part in i.path[len(path) :].split("/") if part)
        ]
    raise DataError(f"{arg}: no such file or directory")


def expand_inputs(args: list[str], forced_format: str = "auto") -> list[InputFile]:
    """Every file the INPUT arguments name, in a stable order, each once; an argument that
    names nothing (a missing path, a glob or directory with no files) is an error."""
    if forced_format not in FORMATS:
        raise InvalidInput(f"unknown --input-format {forced_format!r}; expected one of {FORMATS}")
    if not args:
        raise InvalidInput("no INPUT given: pass files, directories or globs")
    seen: set[str] = set()
    out: list[InputFile] = []
    for arg in args:
        found = _expand_one(arg)
        if not found:
            raise DataError(f"{arg}: matches no input files")
        for fs, path, loc in found:
            if loc in seen:
                continue
            seen.add(loc)
            info = fs.get_file_info(path)
            fmt = file_format(loc, forced_format)
            _check_readable(fs, path, loc, fmt)
            out.append(InputFile(loc, fmt, info.size, info.mtime_ns))
    return out


# The first bytes of compressed files. Shards are byte ranges of the file as stored, so a
# compressed one cannot be split: its rows would be read as garbage, or not at all.
_COMPRESSED = {
    b"\x1f\x8b": "gzip",
    b"BZh": "bzip2",
    b"\x28\xb5\x2f\xfd": "zstd",
    b"\xfd7zXZ\x00": "xz",
    b"\x04\x22\x4d\x18": "lz4",
    b"PK\x03\x04": "zip",
}
_PARQUET_MAGIC = b"PAR1"


def _check_readable(fs: Any, path: str, location: str, fmt: str) -> None:
    try:
        # As stored: pyarrow would otherwise decompress by the file's suffix.
        with fs.open_input_stream(path, compression=None) as fh:
            head = bytes(fh.read(8))
    except OSError as exc:
        raise DataError(f"{location}: cannot be read ({exc})") from None
    if fmt == "parquet":
        if not head.startswith(_PARQUET_MAGIC):
            raise DataError(
                f"{location}: not a Parquet file (no PAR1 header); choose its format with "
                "--input-format"
            )
        return  # Parquet compresses inside its pages
    kind = next((name for magic, name in _COMPRESSED.items() if head.startswith(magic)), None)
    if kind is not None:
        raise DataError(
            f"{location}: a {kind}-compressed file; nerve batch reads uncompressed text and "
            "JSONL (its shards are byte ranges of the file): decompress it first"
        )
