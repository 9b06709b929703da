"""``nerve infer``: entities for texts given as arguments or read from a file/stdin."""

from __future__ import annotations

import argparse
import contextlib
import itertools
import json
import sys
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any, TextIO

from ..errors import InvalidInput
from ..io.atomic import atomic_text_writer
from ..io.formats import to_conll, to_html, to_json_line
from ..io.inputs import read_texts
from ..types import TextResult
from .common import add_decoding_options, add_model_options, decoding_options, load_engine

CHUNK = 256  # texts per engine call when streaming a file


def add_parser(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("infer", help="extract entities from texts")
    p.add_argument("texts", nargs="*", metavar="TEXT", help="texts to tag")
    p.add_argument(
        "--input",
        "-i",
        default=None,
        help="file of texts: plain (one per line) or JSONL with 'text'; '-' = stdin",
    )
    p.add_argument("--input-format", default="auto", choices=["auto", "text", "jsonl"])
    p.add_argument("--output", "-o", type=Path, default=None, help="write here (atomically)")
    p.add_argument(
        "--format",
        "-f",
        default=None,
        choices=["json", "jsonl", "conll", "html"],
        help="default: json for TEXT arguments, jsonl for --input",
    )
    p.add_argument("--no-progress", action="store_true")
    add_model_options(p)
    add_decoding_options(p)
    p.set_defaults(run=run)


def _texts(args: argparse.Namespace) -> Iterator[str]:
    if args.texts and args.input:
        raise InvalidInput("give texts as arguments or with --input, not both")
    if not args.texts and not args.input:
        raise InvalidInput("no input: pass TEXT arguments or --input FILE ('-' for stdin)")
    if args.input:
        yield from read_texts(args.input, args.input_format)
    else:
        yield from args.texts


def _results(
    engine: Any, texts: Iterable[str], options: dict[str, Any], progress: bool
) -> Iterator[TextResult]:
    from tqdm import tqdm

    bar = tqdm(unit="text", disable=not progress, file=sys.stderr)
    it = iter(texts)
    while chunk := list(itertools.islice(it, CHUNK)):
        yield from engine(chunk, **options)
        bar.update(len(chunk))
    bar.close()


def _write(results: Iterable[TextResult], fmt: str, out: TextIO) -> None:
    if fmt == "jsonl":
        for r in results:
            out.write(to_json_line(r) + "\n")
    elif fmt == "conll":
        for r in results:
            out.write(to_conll(r) + "\n")
    elif fmt == "html":
        out.write(to_html(list(results)))
    else:
        json.dump([r.to_dict() for r in results], out, ensure_ascii=False, indent=2)
        out.write("\n")


def run(args: argparse.Namespace) -> int:
    texts = _texts(args)
    options = decoding_options(args)
    engine = load_engine(args)
    fmt = args.format or ("jsonl" if args.input else "json")
    progress = bool(args.input) and not args.no_progress and sys.stderr.isatty()
    results = _results(engine, texts, options, progress)
    target = atomic_text_writer(args.output) if args.output else contextlib.nullcontext(sys.stdout)
    with target as out:
        _write(results, fmt, out)
    return 0
