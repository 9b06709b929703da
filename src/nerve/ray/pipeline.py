"""``nerve batch --ray``: the job's shards as a Ray Data pipeline.

    shards → an actor pool of engines: each call reads one shard, tags it and writes it

Each actor loads the model once. It runs the very functions of a local run on the very same
shards, so the output is byte-identical to it. Faults: Ray Data restarts a dead actor (on
another node if its node is gone) and gives it the shard again; a shard's files are written
under temporary names and renamed, so a retried shard replaces, never duplicates.

Why one stage and not read tasks → actors → write tasks: every stage costs Ray a scheduled
call per shard, and separate read and write tasks also carry the shard's records and results
through the object store. Measured on an idle 2-core machine (BENCHMARKS.md), the three
stages made a 1-worker job 3.6× slower than the local engine. Reading and writing a shard are
small next to tagging it, so the actor does them on the core it already holds.
"""

from __future__ import annotations

import json
from typing import Any

import numpy as np

from ..batch.job import JobSpec, Totals, load_job_engine
from ..batch.plan import Shard
from ..batch.records import input_schema, read_shard
from ..batch.shards import write_shard
from ..batch.tagging import tag_records
from ..errors import NerveError


class ShardJob:
    """One engine per actor, loaded once; reads, tags and writes whole shards (a batch is
    one shard) and returns each shard's stats."""

    def __init__(self, spec: dict[str, Any]) -> None:
        self.engine = load_job_engine(spec["load_args"], spec["patterns"])
        self.spec = spec

    def __call__(self, batch: dict[str, np.ndarray]) -> dict[str, list[Any]]:
        spec = self.spec
        stats = []
        for shard_json in batch["shard"]:
            shard = Shard.from_json(json.loads(shard_json))
            records = read_shard(shard, spec["text_field"])
            tagged = tag_records(self.engine, records, spec["options"], spec["id_field"])
            schema = input_schema(shard) if spec["format"] == "parquet" else None
            raw = bool(spec["options"].get("raw_scores"))
            written = write_shard(spec["output"], shard.name, spec["format"], tagged, schema, raw)
            stats.append(json.dumps(written))
        return {"stats": stats}


def build_pipeline(
    ray: Any,
    spec: JobSpec,
    shards: list[Shard],
    *,
    workers: int,
    cpus_per_worker: float,
    gpus_per_worker: float,
) -> Any:
    ds = ray.data.from_items(
        [{"shard": json.dumps(s.to_json())} for s in shards],
        override_num_blocks=max(1, len(shards)),
    )
    load_args = {**spec.load_args, "threads": max(1, int(cpus_per_worker))}
    if gpus_per_worker > 0:
        load_args["device"] = "cuda"
    actor_spec = {
        "load_args": load_args,
        "patterns": spec.patterns,
        "options": spec.options,
        "id_field": spec.id_field,
        "text_field": spec.text_field,
        "output": spec.output,
        "format": spec.format,
    }
    # Retries are Ray Data's defaults: pool actors are restarted without limit when their
    # worker or node dies, and the shard they held is given to another.
    return ds.map_batches(
        ShardJob,
        batch_size=1,
        fn_constructor_kwargs={"spec": actor_spec},
        compute=ray.data.ActorPoolStrategy(size=workers),
        num_cpus=cpus_per_worker,
        num_gpus=gpus_per_worker,
    )


def run_ray(
    ray: Any,
    spec: JobSpec,
    shards: list[Shard],
    totals: Totals,
    *,
    workers: int,
    cpus_per_worker: float,
    gpus_per_worker: float,
    progress: bool,
) -> None:
    ctx = ray.data.DataContext.get_current()
    ctx.enable_progress_bars = progress
    ds = build_pipeline(
        ray,
        spec,
        shards,
        workers=workers,
        cpus_per_worker=cpus_per_worker,
        gpus_per_worker=gpus_per_worker,
    )
    try:
        for row in ds.iter_rows():
            totals.add(json.loads(row["stats"]))
    except ray.exceptions.RayError as exc:
        # A failure that retries did not cure (a bug, a model that cannot load on a node):
        # complete shards stay, and --resume continues from them.
        first = str(exc).strip().splitlines()[-1] if str(exc).strip() else type(exc).__name__
        raise NerveError(
            f"the Ray job failed ({totals.shards} shards were written; rerun with --resume "
            f"to finish): {first}"
        ) from None
