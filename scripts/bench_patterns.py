#!/usr/bin/env python
"""Entity patterns at scale: build time of N patterns and the time they add per text.

    python scripts/bench_patterns.py                       # 100,000 patterns, 1,000 texts
    python scripts/bench_patterns.py --patterns 1000 --texts 50 --repeats 1 --json

Texts: CoNLL-2003 test sentences; patterns: its training set's gold entities topped up with
made-up names (see nerve.bench.patterns_bench). Needs the CoNLL files (NERVE_CONLL_DIR).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path


def main(argv: list[str] | None = None) -> int:
    import nerve
    from nerve.bench.patterns_bench import run_patterns_bench
    from nerve.bench.runner import cpu_model
    from nerve.data.conll import conll_dir, read_conll
    from nerve.errors import NerveError

    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--model", "-m", default=None, help="default: the embedded default model")
    p.add_argument("--patterns", type=int, default=100_000, help="number of patterns")
    p.add_argument("--texts", type=int, default=1000, help="test sentences timed")
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--conll-dir", type=Path, default=None, help="default: NERVE_CONLL_DIR")
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")
    args = p.parse_args(argv)
    folder = args.conll_dir or conll_dir()
    try:
        for name in ("eng.train", "eng.testb"):
            if not (folder / name).is_file():
                raise NerveError(f"{folder / name} not found: set NERVE_CONLL_DIR or --conll-dir")
        train = read_conll(folder / "eng.train")
        texts = [" ".join(s.words) for s in read_conll(folder / "eng.testb") if len(s)]
        engine = nerve.load(args.model)
        with tempfile.TemporaryDirectory() as work:
            result = run_patterns_bench(
                engine, texts[: args.texts], train, args.patterns, Path(work), args.repeats
            )
    except NerveError as exc:
        print(f"bench_patterns: error: {exc.message}", file=sys.stderr)
        return 2
    if args.json:
        print(result.to_json())
    else:
        print(result.markdown_rows())
        print(
            f"\n{result.texts:,} texts; {result.gold_patterns:,} gold entities among the "
            f"patterns; {result.pattern_entities:,} pattern entities in the results; "
            f"model {engine.model_id} ({engine.backend.name}, {engine.backend.dtype}); "
            f"CPU: {cpu_model()}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
