"""Options shared by the commands that load a model."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any

from ..decode.ignore_names import check_ignore_names
from ..io.formats import NOT_READ
from ..types import DEFAULT_AGGREGATION, Aggregation

IGNORED_BY_DEFAULT = ("O",)


def at_least(low: int) -> Callable[[str], int]:
    """An argparse type: an integer of at least ``low``. argparse names the flag in its
    message ("argument --window: must be an integer >= 3, got 2"); the library's own check,
    reached otherwise, names its keyword argument, which a command-line user never typed."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"must be an integer, got {text!r}") from None
        if value < low:
            kind = "a positive integer" if low == 1 else f"an integer >= {low}"
            raise argparse.ArgumentTypeError(f"must be {kind}, got {value}")
        return value

    return parse


def add_model_options(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--model",
        "-m",
        default=None,
        help="model directory or Hub id (default: the embedded default model)",
    )
    p.add_argument("--backend", default="auto", choices=["auto", "torch", "onnx"])
    p.add_argument("--device", default="cpu", help="cpu, cuda or cuda:N (torch backend)")
    p.add_argument(
        "--dtype",
        default=None,
        choices=["float32", "float16", "bfloat16"],
        help="torch backend precision (default float32)",
    )
    p.add_argument(
        "--onnx-file",
        default=None,
        help="which ONNX graph to run (onnx backend): a file in the model dir such as "
        "onnx/model_q4.onnx, or a variant such as q4; default: the most exact one present "
        "(float32, then 8-bit, then 4-bit)",
    )
    p.add_argument(
        "--threads",
        type=at_least(1),
        default=None,
        help="CPU threads (default: one per physical core)",
    )
    p.add_argument(
        "--max-batch-tokens",
        type=at_least(1),
        default=16384,
        help="padded tokens per model batch",
    )
    add_cuda_graphs_option(p, default="auto")


def add_cuda_graphs_option(p: argparse.ArgumentParser, default: str | None) -> None:
    from ..backends.cuda_graphs import SETTINGS

    p.add_argument(
        "--cuda-graphs",
        default=default,
        choices=list(SETTINGS),
        help="torch on a GPU: replay recorded CUDA graphs for batches of up to 2,048 tokens "
        "(default auto: on in float16/bfloat16 on CUDA, off elsewhere)",
    )


def add_patterns_options(p: argparse.ArgumentParser) -> None:
    from ..patterns import DEFAULT_OVERLAP, OVERLAP_POLICIES

    p.add_argument(
        "--patterns",
        default=None,
        metavar="FILE",
        help='entity patterns, JSONL: {"label": "ORG", "pattern": "Amazon Web Services"} '
        "per line (see docs/patterns.md)",
    )
    p.add_argument(
        "--patterns-overlap",
        default=DEFAULT_OVERLAP,
        choices=OVERLAP_POLICIES,
        help=f"who wins where a pattern and a model entity overlap (default {DEFAULT_OVERLAP})",
    )
    p.add_argument(
        "--patterns-ignore-case",
        action="store_true",
        help="match patterns case-insensitively unless a line sets ignore_case",
    )


def patterns_from(args: argparse.Namespace):  # type: ignore[no-untyped-def]
    """The ``--patterns`` options as a ``Patterns`` (None without ``--patterns``)."""
    if getattr(args, "patterns", None) is None:
        return None
    from ..patterns import Patterns

    return Patterns.from_jsonl(
        args.patterns, overlap=args.patterns_overlap, ignore_case=args.patterns_ignore_case
    )


def add_decoding_options(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--aggregation",
        "-a",
        default=DEFAULT_AGGREGATION.value,
        choices=[a.value for a in Aggregation],
        help=f"aggregation strategy (default {DEFAULT_AGGREGATION.value}: whole words, split "
        "at surrounding punctuation, labelled by their first sub-word; "
        "none/simple/first/average/max are exactly the transformers pipeline's)",
    )
    p.add_argument(
        "--ignore-labels",
        default="",
        help="comma-separated labels to drop, added to O (which is always dropped unless "
        "--keep-o is given)",
    )
    p.add_argument(
        "--keep-o", action="store_true", help="keep O tokens/entities (with strategy none)"
    )
    p.add_argument(
        "--truncate",
        action="store_true",
        help="cut texts longer than the window instead of windowing them (CoNLL output "
        f"tags the words cut off '{NOT_READ}')",
    )
    p.add_argument("--truncation-direction", default="right", choices=["left", "right"])
    p.add_argument("--window", type=at_least(3), default=None, help="window length in tokens")
    p.add_argument("--stride", type=at_least(0), default=None, help="tokens shared by windows")
    p.add_argument("--raw-scores", action="store_true", help="attach raw logits")
    # Entity patterns are merged in after the decode, so they come with the decoding options.
    add_patterns_options(p)


def load_engine(args: argparse.Namespace):  # type: ignore[no-untyped-def]
    from ..backends.cuda_graphs import graphs_setting
    from ..loader import load

    return load(
        args.model,
        backend=args.backend,
        device=args.device,
        dtype=args.dtype,
        threads=args.threads,
        max_batch_tokens=args.max_batch_tokens,
        patterns=patterns_from(args),
        onnx_file=args.onnx_file,
        cuda_graphs=graphs_setting(args.cuda_graphs),
    )


def ignored_labels(extra: str, *, keep_o: bool = False) -> list[str]:
    """``O`` (unless ``keep_o``) plus the comma-separated ``extra`` labels, in that order."""
    base = [] if keep_o else list(IGNORED_BY_DEFAULT)
    added = [x.strip() for x in extra.split(",") if x.strip()]
    return base + [x for x in added if x not in base]


def check_ignored_labels(engine: Any, options: dict[str, Any]) -> None:
    """Refuse an ``--ignore-labels`` name no output of ``engine`` can carry
    (``nerve.decode.ignore_names``)."""
    patterns = engine.patterns.patterns if engine.patterns is not None else ()
    check_ignore_names(
        options["ignore_labels"],
        engine.labels,
        [p.label for p in patterns],
        options["aggregation_strategy"],
    )


def decoding_options(args: argparse.Namespace) -> dict[str, Any]:
    return {
        "aggregation_strategy": args.aggregation,
        "ignore_labels": ignored_labels(args.ignore_labels, keep_o=args.keep_o),
        "truncate": args.truncate,
        "truncation_direction": args.truncation_direction,
        "window": args.window,
        "stride": args.stride,
        "raw_scores": args.raw_scores,
    }
