"""``nerve build -f CONFIG [-o PATH] [--bundle-only]``: an encoderfile YAML config → one
self-contained executable (or one ``.nerve`` archive)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def add_parser(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser(
        "build",
        help="build a self-contained executable from an encoderfile YAML config",
        description="Reads encoderfile's build config (plus nerve's optional `nerve:` "
        "mapping), validates the model and writes one executable that serves it with no "
        "Python installed; see docs/build.md.",
    )
    p.add_argument("-f", "--config", type=Path, required=True, help="the YAML build config")
    p.add_argument(
        "-o", "--output", type=Path, default=None, help="output file (default: output_path)"
    )
    p.add_argument(
        "--bundle-only",
        action="store_true",
        help="write a .nerve archive (model + tokenizer + manifest) instead of an executable; "
        "run it with `nerve serve --model FILE.nerve`",
    )
    p.set_defaults(run=run)


def _say(line: str) -> None:
    # Progress goes to stderr so `-o -`-style piping of other commands' output stays clean.
    print(line, file=sys.stderr, flush=True)


def run(args: argparse.Namespace) -> int:
    from ..build import build, load_config

    config = load_config(args.config)
    result = build(config, output=args.output, bundle_only=args.bundle_only, say=_say)
    _say(f"  {result.size_bytes / 1e6:.1f} MB")
    return 0
