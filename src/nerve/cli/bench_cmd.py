"""``nerve bench``: nerve and its peers on the same texts, side by side."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from ..errors import InvalidInput


def _names(value: str) -> tuple[str, ...]:
    return tuple(x.strip() for x in value.split(",") if x.strip())


def _windows(value: str) -> tuple[int, ...]:
    try:
        return tuple(int(x) for x in _names(value))
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected comma-separated token counts, got {value!r}"
        ) from None


def add_parser(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser(
        "bench",
        help="benchmark nerve against the transformers pipeline and spaCy on the same texts",
        description=(
            "Runs each system in a fresh process (so its peak RSS is its own) on the same "
            "texts and prints tokens/s, texts/s, words/s, p50/p99 latency at batch 1, peak "
            "RSS and nerve's throughput ratio to each peer. Tokens are the model tokenizer's "
            "sub-words with specials, no padding, counted once for every system."
        ),
    )
    p.add_argument(
        "--model",
        "-m",
        default=None,
        help="model directory or Hub id (default: the embedded default model)",
    )
    p.add_argument(
        "--shape",
        choices=["minilm", "bert-base", "deberta-v3-small", "modernbert-base"],
        default=None,
        help="bench a random-weight model of this shape (uses --model's tokenizer)",
    )
    p.add_argument(
        "--workloads",
        type=_names,
        default=("short", "long"),
        help="comma-separated: short (CoNLL test sentences), long (~2,000-word documents)",
    )
    p.add_argument(
        "--limit", type=int, default=None, help="texts per workload (default: 1000 short, 16 long)"
    )
    p.add_argument(
        "--peers",
        type=_names,
        default=("pipeline", "spacy"),
        help="comma-separated: pipeline, spacy, spacy-nerve (en_core_web_sm with nerve_ner "
        "in place of its ner), none",
    )
    p.add_argument(
        "--nerve-windows",
        type=_windows,
        default=(),
        help="comma-separated window lengths: an extra nerve row for each (e.g. 512 beside "
        "ModernBERT's own 8,192-token window)",
    )
    p.add_argument(
        "--host-workers",
        type=int,
        default=0,
        help="an extra nerve row that tokenizes and decodes in this many worker processes "
        "(nerve.hostpool; for accelerators, where one process's host work is the limit)",
    )
    p.add_argument("--device", default="cpu", help="cpu or cuda[:N]")
    p.add_argument(
        "--dtype",
        default=None,
        help="torch precision of nerve and the pipeline peer: float32, float16 or bfloat16 "
        "(default: nerve's own for its backend, the pipeline in float32)",
    )
    p.add_argument("--repeats", type=int, default=3, help="timed runs per workload (median)")
    p.add_argument(
        "--latency-texts", type=int, default=200, help="texts timed one at a time for p50/p99"
    )
    p.add_argument(
        "--conll",
        type=Path,
        default=None,
        help="CoNLL file the texts come from (default: $NERVE_CONLL_DIR/eng.testb)",
    )
    p.add_argument("--json", action="store_true", help="print the report as JSON")
    p.add_argument(
        "--server-load",
        action="store_true",
        help="instead: start `nerve serve` and load it with --clients concurrent HTTP clients "
        "sending one CoNLL sentence per /predict_tokens request; reports req/s, p50/p99",
    )
    p.add_argument("--clients", type=int, default=64, help="--server-load: concurrent clients")
    p.add_argument("--seconds", type=float, default=20.0, help="--server-load: measured time")
    p.add_argument(
        "--client-processes",
        type=int,
        default=1,
        help="--server-load with client threads: spread the clients over this many processes "
        "(one Python process's clients top out near 4,500 requests/s on 2 EPYC cores)",
    )
    p.add_argument(
        "--server-args", default="", help="--server-load: extra `nerve serve` flags, quoted"
    )
    p.add_argument(
        "--load-generator",
        choices=("threads", "wrk"),
        default="threads",
        help="--server-load: Python client threads (latency at low load), or wrk (saturation; "
        "also times the in-process engine on the same sentences for the ratio)",
    )
    p.set_defaults(run=run)


def _run_server_load(args: argparse.Namespace) -> int:
    import shlex

    from ..bench.server_load import LoadReport, run_server_load
    from ..bench.workloads import default_conll_file, read_sentences, short_texts
    from ..bench.wrk_load import WrkReport, run_wrk_load

    if args.load_generator == "wrk" and args.client_processes != 1:
        raise InvalidInput(
            "--client-processes spreads Python client threads; wrk is one process "
            "(use --load-generator threads)"
        )
    texts = short_texts(read_sentences(args.conll or default_conll_file()), args.limit or 1000)
    device_args = ["--device", args.device] if args.device != "cpu" else []
    if args.dtype is not None:
        device_args += ["--dtype", args.dtype]
    common: dict[str, Any] = {
        "model": args.model,
        "seconds": args.seconds,
        "server_args": [*device_args, *shlex.split(args.server_args)],
    }
    report: LoadReport | WrkReport
    if args.load_generator == "wrk":
        # The in-process engine it is compared with runs where the server does.
        load_options = {"device": args.device, "dtype": args.dtype}
        report = run_wrk_load(texts, connections=args.clients, load_options=load_options, **common)
    else:
        report = run_server_load(
            texts, clients=args.clients, processes=args.client_processes, **common
        )
    if args.json:
        json.dump(report.to_dict(), sys.stdout, indent=2)
        sys.stdout.write("\n")
    else:
        print(report.format())
    return 0 if report.requests else 1


def run(args: argparse.Namespace) -> int:
    from ..bench import BenchConfig, run_bench

    if args.server_load:
        return _run_server_load(args)
    config = BenchConfig(
        model=args.model,
        shape=args.shape,
        workloads=args.workloads,
        limit=args.limit,
        peers=args.peers,
        device=args.device,
        repeats=args.repeats,
        latency_texts=args.latency_texts,
        conll=args.conll,
        nerve_windows=args.nerve_windows,
        host_workers=args.host_workers,
        dtype=args.dtype,
    )
    report = run_bench(config, progress=lambda msg: print(f"nerve bench: {msg}", file=sys.stderr))
    if args.json:
        json.dump(report.to_json(), sys.stdout, indent=2)
        sys.stdout.write("\n")
    else:
        sys.stdout.write(report.format_table())
    return 0
