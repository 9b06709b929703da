"""``nerve eval``: entity-level P/R/F1 on CoNLL data, seqeval-compatible, plus throughput."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from ..data.conll import check_tags, read_conll
from ..errors import DataError, InvalidInput
from ..eval.evaluate import evaluate
from ..eval.spans import CharSpan, evaluate_spans
from .common import add_model_options, at_least, load_engine


def add_parser(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("eval", help="score a model on CoNLL-format data")
    p.add_argument("--data", type=Path, required=True, help="CoNLL file (last column = tag)")
    p.add_argument("--batch-size", type=int, default=256, help="sentences per engine call")
    p.add_argument(
        "--sentences-per-input",
        type=int,
        default=1,
        metavar="N",
        help="join up to N consecutive sentences of a document into one input (long inputs "
        "run in windows: this measures windowing); default 1",
    )
    p.add_argument(
        "--window", type=at_least(3), help="model window in tokens (default: the model's)"
    )
    p.add_argument("--stride", type=at_least(0), help="tokens shared by consecutive windows")
    p.add_argument(
        "--aggregation",
        choices=["simple", "first", "average", "max", "word"],
        help="score entity spans on raw text under this strategy (each input's words joined "
        "by spaces; a split or over-long entity counts as wrong) instead of one label per "
        "pre-split word (the CoNLL protocol, the default)",
    )
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.add_argument("--no-progress", action="store_true")
    add_model_options(p)
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    for name in ("batch_size", "sentences_per_input"):
        if getattr(args, name) < 1:
            flag = "--" + name.replace("_", "-")
            raise InvalidInput(f"{flag} must be a positive integer, got {getattr(args, name)}")
    sentences = read_conll(args.data)
    if not sentences:
        raise DataError(f"{args.data}: no sentences found")
    engine = load_engine(args)
    check_tags(sentences, engine.labels, args.data)

    options = {"window": args.window, "stride": args.stride}
    progress = not args.no_progress and not args.json
    if args.aggregation:

        def predict_spans(texts: list[str]) -> list[set[CharSpan]]:
            results = engine(texts, aggregation_strategy=args.aggregation, **options)
            return [{(e.label, e.start, e.end) for e in r.entities} for r in results]

        result = evaluate_spans(
            sentences,
            predict_spans,
            batch_size=args.batch_size,
            progress=progress,
            sentences_per_input=args.sentences_per_input,
        )
    else:

        def predict(batch: list[list[str]]) -> list[list[str]]:
            return [list(w.labels) for w in engine.predict_words(batch, **options)]

        result = evaluate(
            sentences,
            predict,
            batch_size=args.batch_size,
            progress=progress,
            sentences_per_input=args.sentences_per_input,
        )
    if args.json:
        inputs = {
            "data": str(args.data),
            "sentences_per_input": args.sentences_per_input,
            "window": args.window or engine.max_length,
            "stride": args.stride,  # None: a quarter of the window's content tokens
            "aggregation": args.aggregation,  # None: one label per pre-split word
        }
        print(json.dumps({**result.to_dict(), "inputs": inputs, "model": engine.info()}, indent=2))
    else:
        info = engine.info()
        print(
            f"model {info['model_id']} ({info['backend']}, {info['device']}, {info['dtype']}) "
            f"on {args.data}"
            + _joined(args.sentences_per_input)
            + (f", entity spans under {args.aggregation!r}" if args.aggregation else "")
        )
        print(result.format(), end="")
    return 0


def _joined(n: int) -> str:
    return f" ({n} sentences per input)" if n > 1 else ""
