"""``nerve info``: what a model is, without running it."""

from __future__ import annotations

import argparse
import json

from ..errors import InvalidInput
from ..model.inspect import describe


def add_parser(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("info", help="show a model's architecture, labels, size and limits")
    p.add_argument("model", nargs="?", default=None, help="model dir or Hub id (default: embedded)")
    # Every other command names its model with --model/-m; info takes that spelling too.
    p.add_argument("--model", "-m", dest="model_option", default=None, help="the same as MODEL")
    p.add_argument("--json", action="store_true")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    model = args.model
    if args.model_option is not None:
        if model is not None and model != args.model_option:
            raise InvalidInput(
                f"two models given: {model!r} as MODEL and {args.model_option!r} as --model; "
                "give one"
            )
        model = args.model_option
    info = describe(model)
    if args.json:
        print(json.dumps(info, indent=2))
        return 0
    width = max(map(len, info))
    for key, value in info.items():
        shown = ", ".join(map(str, value)) if isinstance(value, list) else value
        print(f"{key:>{width}}: {shown}")
    return 0
