"""``inspect``: the embedded config, labels and files (JSON on stdout)."""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import asdict
from typing import Any

from ..bundle.manifest import verify_files
from ..model.spec import read_spec
from .embedded import EmbeddedModel


def add_parser(sub: argparse._SubParsersAction, model: EmbeddedModel) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("inspect", help="show the embedded model's config and labels")
    p.add_argument(
        "--verify", action="store_true", help="also check every file against its SHA-256"
    )
    p.set_defaults(run=run)


def describe(model: EmbeddedModel) -> dict[str, Any]:
    spec = read_spec(model.dir)
    info = asdict(model.manifest)
    info["id2label"] = {str(i): label for i, label in enumerate(spec.labels)}
    info["architecture"] = spec.architecture
    info["max_length"] = spec.max_length
    return info


def run(args: argparse.Namespace, model: EmbeddedModel) -> int:
    info = describe(model)
    if args.verify:
        verify_files(model.dir, model.manifest.files)
        info["verified"] = True
    json.dump(info, sys.stdout, ensure_ascii=False, indent=2)
    sys.stdout.write("\n")
    return 0
