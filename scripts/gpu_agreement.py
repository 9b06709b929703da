"""GPU half precision vs CPU float32 on the same model and sentences: the share of sentences
whose entity spans are identical (label, start, end), and the two span F1s on the gold tags.

Issue #15 asks for identical spans on ≥ 99.5% of CoNLL-2003 test sentences with the default
model and F1 within 0.2 points. Run by scripts/gpu_check.sh; with ``--device cpu`` (the
rehearsal) both sides run on the CPU and the check only proves the script works.

    python scripts/gpu_agreement.py --conll DIR [--device cuda] [--dtype float16] [--limit N]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import nerve
from nerve.data.conll import read_conll
from nerve.eval.spans import gold_text, score_spans


def spans(result: nerve.TextResult) -> set[tuple[str, int, int]]:
    return {(e.label, e.start, e.end) for e in result.entities}


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--conll", type=Path, default=Path(os.environ.get("NERVE_CONLL_DIR", "")))
    p.add_argument("--model", default=None, help="default: the embedded default model")
    p.add_argument("--device", default="cuda")
    p.add_argument("--dtype", default="float16", choices=("float16", "bfloat16", "float32"))
    p.add_argument("--limit", type=int, default=0, help="first N sentences only (0: all)")
    p.add_argument("--json", type=Path, default=None, help="also write the figures here")
    args = p.parse_args()

    sentences = [s for s in read_conll(args.conll / "eng.testb") if len(s)]
    if args.limit:
        sentences = sentences[: args.limit]
    texts, gold = map(list, zip(*(gold_text([s]) for s in sentences), strict=True))
    reference = nerve.load(args.model, backend="torch", device="cpu", dtype="float32")
    candidate = nerve.load(args.model, backend="torch", device=args.device, dtype=args.dtype)
    started = time.perf_counter()
    want = reference(texts, aggregation_strategy="simple")
    cpu_seconds = time.perf_counter() - started
    candidate(texts[:64], aggregation_strategy="simple")  # warm-up (CUDA context, kernels)
    started = time.perf_counter()
    got = candidate(texts, aggregation_strategy="simple")
    device_seconds = time.perf_counter() - started
    same = sum(spans(a) == spans(b) for a, b in zip(want, got, strict=True))
    n_words = sum(len(s.words) for s in sentences)
    f1_reference = score_spans(gold, [spans(r) for r in want], n_words).micro.f1
    f1_candidate = score_spans(gold, [spans(r) for r in got], n_words).micro.f1
    figures = {
        "sentences": len(texts),
        "identical_spans": same,
        "identical_share": same / len(texts),
        "f1_cpu_float32": f1_reference,
        f"f1_{args.device}_{args.dtype}": f1_candidate,
        "f1_difference_points": 100 * (f1_candidate - f1_reference),
        "cpu_seconds": cpu_seconds,
        "device_seconds": device_seconds,
    }
    print(json.dumps(figures, indent=2))
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2) + "\n", encoding="utf-8")
    ok = figures["identical_share"] >= 0.995 and abs(figures["f1_difference_points"]) <= 0.2
    print(f"agreement: {'PASS' if ok else 'FAIL'} (asked: ≥ 99.5% identical, F1 within 0.2)")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
