"""``nerve`` command line: one sub-command per module, each a thin wrapper over the library.

Every user error ends in one line on stderr, ``nerve COMMAND: error: MESSAGE``, and a
non-zero exit: bad arguments (2), nerve's own errors (2), files that cannot be read or
written (2), an interrupted run (130). Only a bug in nerve shows a traceback.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Sequence
from typing import NoReturn

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
    "version",
    "inspect",
    "new_transform",
    "batch",
)
USAGE_ERROR = 2


class OneLineParser(argparse.ArgumentParser):
    """argparse, but a bad argument is one line (with where to read more), not the usage."""

    def error(self, message: str) -> NoReturn:
        self.exit(USAGE_ERROR, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def build_parser() -> argparse.ArgumentParser:
    parser = OneLineParser(
        prog="nerve", description="Named-entity recognition with BERT-family models."
    )
    parser.add_argument("--version", action="version", version=f"nerve {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in COMMANDS:
        try:
            module = importlib.import_module(
                f"nerve.cli.{name}_cmd"
            )  # new_transform: new-transform
        except ModuleNotFoundError as exc:
            if exc.name == f"nerve.cli.{name}_cmd":
                continue  # command not built (yet)
            raise
        module.add_parser(sub)
    return parser


def one_line(message: str) -> str:
    """A message that spans lines (a YAML parser's, say) as one: its lines joined by "; "."""
    return "; ".join(part.strip() for part in message.splitlines() if part.strip())


def _os_error(exc: OSError) -> str:
    """``[Errno 2] No such file or directory: 'x'`` → ``x: no such file or directory``."""
    reason = (exc.strerror or str(exc)).lower()
    return f"{exc.filename}: {reason}" if exc.filename is not None else reason


def _stdout_gone() -> int:
    # The reader of our stdout left (`nerve infer ... | head`): not an error worth a
    # message. Point stdout at /dev/null so the interpreter's final flush stays quiet.
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    return 141  # what a shell reports for a process ended by SIGPIPE


def parse(argv: Sequence[str] | None) -> argparse.Namespace:
    """The arguments; a flag the sub-command does not know is reported by that sub-command
    (``nerve info: error: unrecognized arguments: --x (see nerve info --help)``), not by
    the top-level parser, whose help does not list the sub-command's flags."""
    parser = build_parser()
    args, extra = parser.parse_known_args(argv)
    if extra:
        command = _subparser(parser, args.command) or parser
        command.error(f"unrecognized arguments: {' '.join(extra)}")
    return args


def _subparser(parser: argparse.ArgumentParser, name: str) -> argparse.ArgumentParser | None:
    for action in parser._subparsers._group_actions if parser._subparsers else ():
        if isinstance(action, argparse._SubParsersAction):
            found: argparse.ArgumentParser | None = action.choices.get(name)
            return found
    return None


def main(argv: Sequence[str] | None = None) -> int:
    args = parse(argv)
    try:
        return int(args.run(args) or 0)
    except NerveError as exc:
        print(f"nerve {args.command}: error: {one_line(exc.message)}", file=sys.stderr)
        return USAGE_ERROR
    except BrokenPipeError:
        return _stdout_gone()
    except OSError as exc:  # a path the user gave that cannot be read or written
        print(f"nerve {args.command}: error: {one_line(_os_error(exc))}", file=sys.stderr)
        return USAGE_ERROR
    except KeyboardInterrupt:
        print(f"nerve {args.command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
