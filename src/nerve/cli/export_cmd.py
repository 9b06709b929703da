"""``nerve export``: turn a safetensors model directory into an ONNX model directory."""

from __future__ import annotations

import argparse
from pathlib import Path


def add_parser(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser(
        "export",
        help="export a model directory to ONNX (optionally int8-quantized)",
        description="Export MODEL (config.json, model.safetensors, tokenizer.json) to OUT: "
        "model.onnx with the tokenizer and config files, loadable by nerve's onnx backend, "
        "optimum and any ONNX Runtime client.",
    )
    p.add_argument("model", type=Path, metavar="MODEL", help="local model directory")
    p.add_argument("out", type=Path, metavar="OUT", help="output directory")
    p.add_argument(
        "--quantize",
        choices=["int8"],
        default=None,
        help="dynamic int8 weight quantization (about 4x smaller, faster on CPU)",
    )
    p.add_argument("--opset", type=int, default=17, help="ONNX opset (14-20, default 17)")
    p.add_argument(
        "--optimize",
        action=argparse.BooleanOptionalAction,
        default=False,
        help="fuse Attention/LayerNorm/GELU offline with ONNX Runtime's transformer "
        "optimizer (for GPU runtimes; on CPU the unfused graph, which ORT optimises "
        "at load time, measured faster). Default: --no-optimize",
    )
    p.add_argument("--overwrite", action="store_true", help="replace a non-empty OUT")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from ..export import export_onnx

    report = export_onnx(
        args.model,
        args.out,
        quantize=args.quantize,
        opset=args.opset,
        optimize=args.optimize,
        overwrite=args.overwrite,
    )
    print(report.summary())
    return 0
