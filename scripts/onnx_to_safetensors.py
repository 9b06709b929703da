"""Convert a model shipped as an ONNX graph (4-bit or 8-bit weights included) to float32
safetensors that nerve's own encoder (and transformers) can load.

    python scripts/onnx_to_safetensors.py MODEL_DIR OUT_DIR [--onnx-file onnx/model_q4.onnx]

MODEL_DIR holds config.json, the tokenizer files and the graph (model.onnx, or transformers.js
variants under onnx/); OUT_DIR must not exist. The weights are dequantized exactly as the graph
uses them (MatMulNBits blocks, scales and zero points; DequantizeLinear tables), so the float
model computes what the quantized graph computes. License, README and notice files are copied.
See nerve.export.dequantize for the formats.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from nerve.errors import NerveError
from nerve.export.dequantize import convert_graph


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("model_dir", type=Path)
    parser.add_argument("out_dir", type=Path)
    parser.add_argument(
        "--onnx-file", default=None, help="graph to convert (default: the most exact present)"
    )
    args = parser.parse_args(argv)
    if args.out_dir.exists():
        print(f"error: {args.out_dir} already exists", file=sys.stderr)
        return 2
    try:
        out = convert_graph(args.model_dir, args.out_dir, args.onnx_file)
    except NerveError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(f"wrote {out / 'model.safetensors'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
