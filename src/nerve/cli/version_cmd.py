"""``nerve version``: encoderfile's ``version`` command."""

from __future__ import annotations

import argparse

from .. import __version__


def add_parser(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("version", help="print nerve's version")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    print(f"nerve {__version__}")
    return 0
