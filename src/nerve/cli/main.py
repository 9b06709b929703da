"""``nerve`` command line: one sub-command per module, each a thin wrapper over the library."""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from .. import __version__
from ..errors import NerveError

# sub-command → module in nerve.cli that defines ``add_parser(subparsers)`` and ``run(args)``.
COMMANDS = (
    "infer",
    "info",
    "export",
    "train",
    "eval",
    "serve",
    "bench",
    "build",
    "mcp",
    "batch",
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="nerve", description="Named-entity recognition with BERT-family models."
    )
    parser.add_argument("--version", action="version", version=f"nerve {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in COMMANDS:
        try:
            module = importlib.import_module(f"nerve.cli.{name}_cmd")
        except ModuleNotFoundError as exc:
            if exc.name == f"nerve.cli.{name}_cmd":
                continue  # command not built (yet)
            raise
        module.add_parser(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.run(args) or 0)
    except NerveError as exc:
        print(f"nerve {args.command}: error: {exc.message}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"nerve {args.command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
