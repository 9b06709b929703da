"""``nerve batch``: tag a corpus into output shards, on this machine or on a Ray cluster."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ..backends.cuda_graphs import graphs_setting
from ..batch.runner import Placement, normalise_output, run_job
from .common import add_decoding_options, add_model_options, decoding_options

DEFAULT_SHARD_ROWS = 1000
DEFAULT_SHARD_BYTES = 4 * 1024 * 1024


def add_parser(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser(
        "batch",
        help="tag a corpus (JSONL, text, Parquet) into output shards, locally or on Ray",
        description="Reads INPUT files, directories or globs (local paths or pyarrow URIs such "
        "as s3://...), writes part-NNNNN shards with every input field plus 'entities' to "
        "--output, rows that cannot be tagged to --output/_errors, and _SUCCESS at the end.",
    )
    p.add_argument("inputs", nargs="+", metavar="INPUT", help="files, directories or globs")
    p.add_argument("--output", "-o", required=True, help="output directory (local or URI)")
    p.add_argument("--format", "-f", default="jsonl", choices=["jsonl", "parquet"])
    p.add_argument(
        "--input-format",
        default="auto",
        choices=["auto", "jsonl", "text", "parquet"],
        help="default: by extension (.jsonl/.json/.ndjson, .parquet, else text)",
    )
    p.add_argument("--text-field", default="text", help="field/column holding the text")
    p.add_argument("--id-field", default="id", help="field named in the errors shard")
    p.add_argument(
        "--whole-files",
        action="store_true",
        help="a text file is one document (default: one per line)",
    )
    p.add_argument(
        "--shard-rows",
        type=int,
        default=DEFAULT_SHARD_ROWS,
        help=f"documents per shard (default {DEFAULT_SHARD_ROWS})",
    )
    p.add_argument(
        "--shard-bytes",
        type=int,
        default=DEFAULT_SHARD_BYTES,
        help="input bytes per shard, so long documents make smaller shards "
        f"(default {DEFAULT_SHARD_BYTES})",
    )
    p.add_argument(
        "--resume",
        action="store_true",
        help="finish the job already in --output: skip its complete shards",
    )
    p.add_argument(
        "--ray",
        nargs="?",
        const="local",
        default=None,
        metavar="ADDRESS",
        help="run on Ray: no ADDRESS = a local instance, 'auto' = the cluster this "
        "machine belongs to, HOST:PORT or ray://HOST:PORT",
    )
    p.add_argument(
        "--ray-timeout",
        type=float,
        default=30.0,
        help="seconds to wait for the Ray cluster to answer (default 30)",
    )
    p.add_argument("--workers", type=int, default=1, help="engine actors on Ray (default 1)")
    p.add_argument("--cpus-per-worker", type=float, default=1.0)
    p.add_argument("--gpus-per-worker", type=float, default=0.0)
    p.add_argument("--no-progress", action="store_true")
    add_model_options(p)
    add_decoding_options(p)
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from ..batch.job import JobSpec
    from ..batch.sources import expand_inputs

    _check_output(args.inputs, args.output)
    options = decoding_options(args)
    patterns = None
    if args.patterns is not None:  # read (and a bad file refused) by run_job, before any work
        patterns = {
            "path": str(Path(args.patterns).resolve()),
            "overlap": args.patterns_overlap,
            "ignore_case": args.patterns_ignore_case,
        }
    spec = JobSpec(
        inputs=tuple(expand_inputs(args.inputs, args.input_format)),
        output=normalise_output(args.output),
        format=args.format,
        text_field=args.text_field,
        id_field=args.id_field,
        whole_files=args.whole_files,
        shard_rows=args.shard_rows,
        shard_bytes=args.shard_bytes,
        load_args={
            "model": args.model,
            "backend": args.backend,
            "device": args.device,
            "dtype": args.dtype,
            "threads": args.threads,
            "max_batch_tokens": args.max_batch_tokens,
            "onnx_file": args.onnx_file,
            "cuda_graphs": graphs_setting(args.cuda_graphs),
        },
        options=options,
        patterns=patterns,
    )
    placement = Placement(
        ray=args.ray is not None,
        address=None if args.ray in (None, "local") else args.ray,
        workers=args.workers,
        cpus_per_worker=args.cpus_per_worker,
        gpus_per_worker=args.gpus_per_worker,
        timeout=args.ray_timeout,
    )
    progress = not args.no_progress and sys.stderr.isatty()
    totals = run_job(spec, placement, resume=args.resume, progress=progress)
    print(f"nerve batch: {totals.summary()}", file=sys.stderr)
    return 0


def _check_output(inputs: list[str], output: str) -> None:
    """A local output must be creatable, and not inside an input directory: there the next
    run would read it as input (its parts as documents; --resume would see a different job)."""
    from ..batch.fs import is_uri
    from ..errors import InvalidInput
    from ..io.destination import check_creatable

    if is_uri(output):
        return
    out = Path(output).resolve()
    if not out.is_dir():
        check_creatable(out, "output directory (--output)")
    for arg in inputs:
        if is_uri(arg) or not Path(arg).is_dir():
            continue
        folder = Path(arg).resolve()
        if out == folder or folder in out.parents:
            raise InvalidInput(
                f"--output {output} is inside the input directory {arg}: its parts would be "
                "read as input by the next run; write it elsewhere"
            )
