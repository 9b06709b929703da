"""The executable's command line: ``serve``, ``infer``, ``mcp``, ``inspect``, ``--version``."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path

from .. import __version__
from ..errors import NerveError
from . import infer_verb, inspect_verb, mcp_verb, serve_verb
from .embedded import EmbeddedModel, open_embedded
from .target import RUNTIME_INFO_FLAG


def build_parser(model: EmbeddedModel) -> argparse.ArgumentParser:
    m = model.manifest
    parser = argparse.ArgumentParser(
        prog=m.name,
        description=f"{m.name} {m.version}: a {m.model_type} model, built with nerve.",
    )
    parser.add_argument(
        "--version", action="version", version=f"{m.name} {m.version} (nerve {__version__})"
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    serve_verb.add_parser(sub)
    infer_verb.add_parser(sub, model)
    mcp_verb.add_parser(sub, model)
    inspect_verb.add_parser(sub, model)
    return parser


def runtime_info() -> dict[str, str]:
    from .target import host_target

    return {"nerve_version": __version__, "target": host_target()}


def main(argv: Sequence[str] | None = None, model_dir: Path | None = None) -> int:
    """``model_dir``: a built model directory (tests); default: the embedded one."""
    args_in = list(sys.argv[1:] if argv is None else argv)
    if args_in == [RUNTIME_INFO_FLAG]:
        print(json.dumps(runtime_info()))
        return 0
    try:
        model = open_embedded(model_dir)
    except NerveError as exc:
        print(f"error: {exc.message}", file=sys.stderr)
        return 2
    args = build_parser(model).parse_args(argv)
    try:
        return int(args.run(args, model) or 0)
    except NerveError as exc:
        print(f"{model.manifest.name} {args.command}: error: {exc.message}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
