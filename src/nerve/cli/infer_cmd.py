"""``nerve infer``: entities for texts given as arguments, read from a file or piped in."""

from __future__ import annotations

import argparse
import itertools
import os
import stat
import sys
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any, TextIO

from ..errors import InvalidInput
from ..io.formats import to_conll, to_html, to_json_line, to_record
from ..io.inputs import FORMATS as INPUT_FORMATS
from ..io.inputs import STDIN, Record, read_records
from ..io.json_out import dumps
from ..io.output import open_output
from ..text.validity import lone_surrogate
from .common import (
    add_decoding_options,
    add_model_options,
    check_ignored_labels,
    decoding_options,
    load_engine,
)

CHUNK = 256  # texts per engine call when streaming a file
OUTPUT_FORMATS = ("json", "jsonl", "conll", "html")
# ``-o`` file name endings that decide ``--format`` when it is not given.
_FORMAT_OF_SUFFIX = {
    ".json": "json",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".conll": "conll",
    ".html": "html",
    ".htm": "html",
}


def add_parser(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser(
        "infer",
        help="extract entities from texts",
        description="Texts come from TEXT arguments, --input FILE, or standard input when it "
        "is piped and no TEXT is given.",
    )
    p.add_argument("texts", nargs="*", metavar="TEXT", help="texts to tag")
    p.add_argument(
        "--input",
        "-i",
        default=None,
        help="file of texts, one record per line; '-' = stdin (format: --input-format)",
    )
    p.add_argument(
        "--input-format",
        default=None,
        choices=INPUT_FORMATS,
        help="text (one text per line), jsonl (objects with 'text'; other fields are copied "
        "to the output) or parquet (a 'text' column; needs pyarrow). Default: by the file's "
        "extension (.jsonl/.ndjson, .parquet; anything else and stdin: text)",
    )
    p.add_argument(
        "--output",
        "-o",
        default=None,
        help="write here: files atomically, FIFOs/devices as streams, '-' = stdout",
    )
    p.add_argument(
        "--format",
        "-f",
        default=None,
        choices=OUTPUT_FORMATS,
        help="default: from -o's extension (.json, .jsonl, .conll, .html), else json for TEXT "
        "arguments and jsonl for a file or stdin",
    )
    p.add_argument("--no-progress", action="store_true")
    add_model_options(p)
    add_decoding_options(p)
    p.set_defaults(run=run)


def stdin_is_piped() -> bool:
    """True when standard input is a pipe or a redirected file (not a terminal, not absent)."""
    try:
        mode = os.fstat(sys.stdin.fileno()).st_mode
    except (OSError, ValueError, AttributeError):  # closed, or replaced by a test harness
        return False
    return stat.S_ISFIFO(mode) or stat.S_ISREG(mode)


def input_source(args: argparse.Namespace) -> str | None:
    """Where texts come from: a path, ``-`` (stdin), or None for the TEXT arguments."""
    if args.texts and args.input:
        raise InvalidInput("give texts as arguments or with --input, not both")
    if args.input:
        return str(args.input)
    if args.texts:
        if args.input_format is not None:
            raise InvalidInput("--input-format applies to --input or piped input, not TEXT")
        return None
    if stdin_is_piped():
        return STDIN
    raise InvalidInput("no input: pass TEXT arguments, --input FILE, or pipe texts to stdin")


def output_format(args: argparse.Namespace, source: str | None) -> str:
    if args.format:
        return str(args.format)
    if args.output and args.output != "-":
        known = _FORMAT_OF_SUFFIX.get(Path(args.output).suffix.lower())
        if known:
            return known
    return "json" if source is None else "jsonl"


def _records(args: argparse.Namespace, source: str | None) -> Iterator[Record]:
    if source is None:
        for i, text in enumerate(args.texts, 1):
            if (at := lone_surrogate(text)) is not None:
                # Python decodes an argument's bytes that are not UTF-8 as lone surrogates.
                raise InvalidInput(
                    f"TEXT argument {i} is not valid UTF-8 (at character {at}); pass UTF-8 "
                    "text, or a file with --input"
                )
        return (Record(text) for text in args.texts)
    return read_records(source, args.input_format)


def _results(
    engine: Any, records: Iterable[Record], options: dict[str, Any], progress: bool
) -> Iterator[tuple[Record, Any]]:
    from tqdm import tqdm

    bar = tqdm(unit="text", disable=not progress, file=sys.stderr)
    it = iter(records)
    while chunk := list(itertools.islice(it, CHUNK)):
        yield from zip(chunk, engine([r.text for r in chunk], **options), strict=True)
        bar.update(len(chunk))
    bar.close()


def _write(results: Iterable[tuple[Record, Any]], fmt: str, out: TextIO) -> None:
    if fmt == "jsonl":
        for record, result in results:
            out.write(to_json_line(result, record.fields) + "\n")
    elif fmt == "conll":
        for _, result in results:
            out.write(to_conll(result) + "\n")
    elif fmt == "html":
        out.write(to_html([result for _, result in results]))
    else:
        records = [to_record(result, record.fields) for record, result in results]
        out.write(dumps(records, indent=2))
        out.write("\n")


def run(args: argparse.Namespace) -> int:
    source = input_source(args)
    fmt = output_format(args, source)
    options = decoding_options(args)
    # The output is opened first: an unusable path fails before the model loads.
    with open_output(args.output) as out:
        engine = load_engine(args)
        check_ignored_labels(engine, options)
        progress = source is not None and not args.no_progress and sys.stderr.isatty()
        _write(_results(engine, _records(args, source), options, progress), fmt, out)
    return 0
