"""``nerve inspect PATH``: what a built executable or ``.nerve`` bundle holds (JSON), read
from the file without running or extracting it."""

from __future__ import annotations

import argparse
import json
from pathlib import Path


def add_parser(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser(
        "inspect", help="show the config and labels of a built executable or .nerve bundle"
    )
    p.add_argument("path", type=Path, help="an executable from `nerve build`, or a .nerve file")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from ..build.api import read_metadata

    print(json.dumps(read_metadata(args.path), indent=2, ensure_ascii=False))
    return 0
