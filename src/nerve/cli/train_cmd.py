"""``nerve train``: fine-tune an encoder on CoNLL data."""

from __future__ import annotations

import argparse
from pathlib import Path


def add_parser(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("train", help="fine-tune a BERT-family encoder for NER on CoNLL data")
    p.add_argument("--base", type=Path, required=True, help="encoder directory (safetensors)")
    p.add_argument("--train", type=Path, required=True, help="CoNLL training file")
    p.add_argument("--dev", type=Path, required=True, help="CoNLL dev file (best epoch kept)")
    p.add_argument("--out", type=Path, required=True, help="output model directory")
    p.add_argument("--epochs", type=int, default=5)
    p.add_argument("--lr", type=float, default=1e-4)
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--max-length", type=int, default=128)
    p.add_argument("--device", default="cpu", help="cpu, cuda or cuda:N")
    p.add_argument("--weight-decay", type=float, default=0.01)
    p.add_argument("--warmup", type=float, default=0.1, help="warm-up fraction of all steps")
    p.add_argument("--save-dtype", default="float32", choices=["float32", "float16", "bfloat16"])
    p.add_argument(
        "--joined",
        action="store_true",
        help="also train on runs of consecutive sentences joined up to --max-length tokens "
        "(running text; about doubles the epoch time)",
    )
    p.add_argument(
        "--label-all-pieces",
        action="store_true",
        help="label every sub-word (continuations get the I- tag of their word's entity), so "
        "the pipeline's strategies return whole words",
    )
    p.add_argument(
        "--symbol-noise",
        type=float,
        default=0.0,
        help="fraction of sentences also trained with emoji/symbols inserted (0 = off)",
    )
    p.add_argument(
        "--negatives", type=int, default=0, help="number of short entity-free word runs to add"
    )
    p.add_argument(
        "--bf16",
        action="store_true",
        help="bfloat16 autocast on CPU (always on for CUDA): about 2x faster on CPUs with "
        "AVX-512 BF16",
    )
    p.add_argument(
        "--keep-head",
        action="store_true",
        help="--base is a token-classification model with the same labels: continue from its "
        "classifier head instead of a fresh one",
    )
    p.add_argument("--limit-train", type=int, default=None, help="use the first N sentences")
    p.add_argument("--limit-dev", type=int, default=None)
    p.add_argument("--max-steps", type=int, default=None)
    p.add_argument("--overwrite", action="store_true", help="replace an existing --out")
    p.add_argument("--no-progress", action="store_true")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from ..train.trainer import TrainConfig, train

    cfg = TrainConfig(
        base=args.base,
        train=args.train,
        dev=args.dev,
        out=args.out,
        epochs=args.epochs,
        lr=args.lr,
        batch_size=args.batch_size,
        seed=args.seed,
        max_length=args.max_length,
        device=args.device,
        weight_decay=args.weight_decay,
        warmup=args.warmup,
        save_dtype=args.save_dtype,
        joined=args.joined,
        label_all_pieces=args.label_all_pieces,
        symbol_noise=args.symbol_noise,
        negatives=args.negatives,
        keep_head=args.keep_head,
        bf16=args.bf16,
        limit_train=args.limit_train,
        limit_dev=args.limit_dev,
        max_steps=args.max_steps,
        overwrite=args.overwrite,
    )
    train(cfg, progress=not args.no_progress)
    return 0
