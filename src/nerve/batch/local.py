"""Run a job's shards one after another on this machine with one engine (no Ray)."""

from __future__ import annotations

import sys

from ..engine.core import Engine
from .job import JobSpec, Totals
from .plan import Shard
from .records import input_schema, read_shard
from .shards import write_shard
from .tagging import tag_records


def process_shard(engine: Engine, spec: JobSpec, shard: Shard) -> dict[str, int]:
    """Read, tag and write one shard: what a local run and a Ray worker both do."""
    records = read_shard(shard, spec.text_field)
    output = tag_records(engine, records, spec.options, spec.id_field)
    schema = input_schema(shard) if spec.format == "parquet" else None
    raw = bool(spec.options.get("raw_scores"))
    return write_shard(spec.output, shard.name, spec.format, output, schema, raw)


def run_local(
    engine: Engine,
    spec: JobSpec,
    shards: list[Shard],
    totals: Totals,
    progress: bool,
) -> None:
    from tqdm import tqdm

    with tqdm(total=len(shards), unit="shard", disable=not progress, file=sys.stderr) as bar:
        for shard in shards:
            totals.add(process_shard(engine, spec, shard))
            bar.update(1)
            bar.set_postfix(docs=totals.documents, failures=totals.failures)
