"""Options shared by the commands that load a model."""

from __future__ import annotations

import argparse
from typing import Any

from ..types import Aggregation


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
    p.add_argument("--threads", type=int, default=None, help="CPU threads (default: all cores)")
    p.add_argument(
        "--max-batch-tokens", type=int, default=16384, help="padded tokens per model batch"
    )


def add_decoding_options(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--aggregation",
        "-a",
        default="word",
        choices=[a.value for a in Aggregation],
        help="aggregation strategy (default word: whole words, the tokenizer's own joined where "
        "no whitespace separates them, labelled by their first sub-word, as CoNLL models are "
        "trained; simple/first/average/max are exactly "
        "the transformers pipeline's)",
    )
    p.add_argument(
        "--ignore-labels",
        default="O",
        help="comma-separated labels to drop (default O; '' keeps all)",
    )
    p.add_argument(
        "--truncate",
        action="store_true",
        help="cut texts longer than the window instead of windowing them",
    )
    p.add_argument("--truncation-direction", default="right", choices=["left", "right"])
    p.add_argument("--window", type=int, default=None, help="window length in tokens")
    p.add_argument("--stride", type=int, default=None, help="tokens shared by windows")
    p.add_argument("--raw-scores", action="store_true", help="attach raw logits")


def load_engine(args: argparse.Namespace):  # type: ignore[no-untyped-def]
    from ..loader import load

    return load(
        args.model,
        backend=args.backend,
        device=args.device,
        dtype=args.dtype,
        threads=args.threads,
        max_batch_tokens=args.max_batch_tokens,
        onnx_file=args.onnx_file,
    )


def decoding_options(args: argparse.Namespace) -> dict[str, Any]:
    return {
        "aggregation_strategy": args.aggregation,
        "ignore_labels": [x for x in args.ignore_labels.split(",") if x],
        "truncate": args.truncate,
        "truncation_direction": args.truncation_direction,
        "window": args.window,
        "stride": args.stride,
        "raw_scores": args.raw_scores,
    }
