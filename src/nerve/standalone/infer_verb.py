"""``infer TEXT... [-o FILE]``: encoderfile's CLI inference, plus nerve's entity formats.

``--format json`` (the default) writes what encoderfile writes: the ``/predict`` response,
one row per sub-word with a probability per label. ``entities``, ``jsonl``, ``conll`` and
``html`` write nerve's aggregated entities (``--aggregation``, default from the build).
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Sequence
from typing import Any, TextIO

from ..engine.core import Engine
from ..io.formats import to_conll, to_html, to_json_line
from ..io.output import open_output
from ..types import DEFAULT_AGGREGATION, Aggregation, TextResult
from .embedded import EmbeddedModel

FORMATS = ("json", "entities", "jsonl", "conll", "html")


def add_parser(sub: argparse._SubParsersAction, model: EmbeddedModel) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("infer", help="tag texts given on the command line")
    p.add_argument("inputs", nargs="+", metavar="TEXT", help="texts to tag")
    p.add_argument(
        "-f",
        "--format",
        choices=FORMATS,
        default="json",
        help="json: encoderfile's /predict response (default); entities/jsonl/conll/html: "
        "nerve's aggregated entities",
    )
    p.add_argument("-o", "--out", default=None, help="write here instead of stdout")
    p.add_argument(
        "-a",
        "--aggregation",
        choices=[a.value for a in Aggregation],
        default=model.manifest.defaults.get("aggregation", DEFAULT_AGGREGATION.value),
        help="strategy of the entity formats (default: the build's)",
    )
    p.add_argument("--threads", type=int, default=None, help="model threads")
    p.set_defaults(run=run)


def encoderfile_response(engine: Engine, texts: Sequence[str]) -> dict[str, Any]:
    """The ``/predict`` body for ``texts``, built by the server's own wire code."""
    from ..server.wire.encoderfile import PREDICT_OPTIONS, predict_json, token_rows

    opts = PREDICT_OPTIONS
    results = engine(
        list(texts),
        aggregation_strategy=opts.aggregation_strategy,
        ignore_labels=list(opts.ignore_labels),
        raw_scores=opts.raw_scores,
    )
    return predict_json(
        [token_rows(r, engine.vocabulary_piece) for r in results], engine.model_id, None
    )


def _write(engine: Engine, args: argparse.Namespace, out: TextIO) -> None:
    if args.format == "json":
        json.dump(encoderfile_response(engine, args.inputs), out, ensure_ascii=False, indent=2)
        out.write("\n")
        return
    results: list[TextResult] = engine(list(args.inputs), aggregation_strategy=args.aggregation)
    if args.format == "entities":
        json.dump([r.to_dict() for r in results], out, ensure_ascii=False, indent=2)
        out.write("\n")
    elif args.format == "jsonl":
        out.writelines(to_json_line(r) + "\n" for r in results)
    elif args.format == "conll":
        out.writelines(to_conll(r) + "\n" for r in results)
    else:
        out.write(to_html(results))


def run(args: argparse.Namespace, model: EmbeddedModel) -> int:
    from ..server.wire.encoderfile import check_predict_texts
    from .embedded import build_threads
    from .engine import load_embedded

    # Refused as /predict, gRPC and MCP refuse it (before the model loads): an empty text
    # has no tokens to classify.
    check_predict_texts(list(args.inputs))
    threads = args.threads if args.threads is not None else build_threads(model.manifest)
    engine = load_embedded(model.dir, threads=threads)
    with open_output(args.out) as out:
        _write(engine, args, out)
    return 0
