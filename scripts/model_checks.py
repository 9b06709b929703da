"""Everyday checks and window-position consistency of a model, as JSON.

    python scripts/model_checks.py [--model DIR] [--strategies word,simple,first,average,max]

Prints, per strategy: how many of nerve's everyday cases (nerve.eval.everyday) come back
exactly right, and how consistently a paragraph repeated through a ~4,500-word document gets
the same entities (nerve.eval.consistency), with blank lines between paragraphs and as one
run of text. The default model's figures are in docs/default-model.md and pinned by
tests/integration/test_default_model.py.
"""

from __future__ import annotations

import argparse
import json
import sys

import nerve
from nerve.eval.consistency import measure_consistency
from nerve.eval.everyday import run_everyday


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", "-m", help="model directory (default: the embedded model)")
    parser.add_argument("--strategies", default="word,simple,first,average,max")
    parser.add_argument("--windowing", choices=["sentences", "tokens"], default="sentences")
    args = parser.parse_args(argv)
    engine = nerve.load(args.model)
    report: dict[str, object] = {"model": engine.info()["model_id"], "strategies": {}}
    for strategy in args.strategies.split(","):
        everyday = run_everyday(engine, strategy)
        paragraphs = measure_consistency(engine, strategy, windowing=args.windowing)
        running = measure_consistency(engine, strategy, separator=" ", windowing=args.windowing)
        report["strategies"][strategy] = {  # type: ignore[index]
            "everyday": everyday.to_dict(),
            "consistency_paragraphs": paragraphs.to_dict(),
            "consistency_running_text": running.to_dict(),
        }
    json.dump(report, sys.stdout, indent=2, ensure_ascii=False)
    print()
    return 0


if __name__ == "__main__":
    sys.exit(main())
