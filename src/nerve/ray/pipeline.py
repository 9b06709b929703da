"""``nerve batch --ray``: the job's shards as a Ray Data pipeline.

    shards → read (tasks) → tag (map_batches over an actor pool of engines) → write (tasks)

Each actor loads the model once. The stages run the very functions of a local run on the
very same shards, so the output is byte-identical to it. Faults: Ray retries a task whose
worker died and restarts a dead actor (its shard is tagged again); a shard's files are
written under temporary names and renamed, so a retried shard replaces, never duplicates.
"""

from __future__ import annotations

import json
import pickle
from typing import Any

import numpy as np

from ..batch.job import JobSpec, Totals
from ..batch.plan import Shard
from ..batch.records import read_shard
from ..batch.shards import write_shard
from ..batch.tagging import tag_records
from ..errors import NerveError
from ..loader import load

# Reading and writing are I/O: they reserve no CPU, so that engine actors can take every
# core (and a job still runs when a dead node's actor restarts on the last free core). A task
# that reserves nothing is never held back by Ray, so their concurrency is capped instead
# (else Ray Data starts a worker process per pending shard).
# Retries are Ray Data's defaults: tasks are retried and pool actors restarted without limit
# when their worker or node dies.
IO_CPUS = 0


def _read(row: dict[str, Any], text_field: str) -> dict[str, Any]:
    shard = Shard.from_json(json.loads(row["shard"]))
    return {"shard": row["shard"], "records": pickle.dumps(read_shard(shard, text_field))}


class ShardTagger:
    """One engine per actor, loaded once; tags whole shards (a batch is one shard)."""

    def __init__(self, load_args: dict[str, Any], options: dict[str, Any], id_field: str):
        self.engine = load(**load_args)
        self.options = options
        self.id_field = id_field

    def __call__(self, batch: dict[str, np.ndarray]) -> dict[str, list[Any]]:
        outputs = [
            pickle.dumps(
                tag_records(self.engine, pickle.loads(records), self.options, self.id_field)
            )
            for records in batch["records"]
        ]
        return {"shard": list(batch["shard"]), "output": outputs}


def _write(row: dict[str, Any], output: str, fmt: str) -> dict[str, Any]:
    shard = Shard.from_json(json.loads(row["shard"]))
    stats = write_shard(output, shard.name, fmt, pickle.loads(row["output"]))
    return {"shard": shard.name, "stats": json.dumps(stats)}


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
    io_tasks = workers + 1  # enough to keep every actor fed
    ds = ds.map(
        _read,
        fn_kwargs={"text_field": spec.text_field},
        num_cpus=IO_CPUS,
        concurrency=io_tasks,
    )
    load_args = {**spec.load_args, "threads": max(1, int(cpus_per_worker))}
    if gpus_per_worker > 0:
        load_args["device"] = "cuda"
    ds = ds.map_batches(
        ShardTagger,
        batch_size=1,
        fn_constructor_kwargs={
            "load_args": load_args,
            "options": spec.options,
            "id_field": spec.id_field,
        },
        compute=ray.data.ActorPoolStrategy(size=workers),
        num_cpus=cpus_per_worker,
        num_gpus=gpus_per_worker,
    )
    return ds.map(
        _write,
        fn_kwargs={"output": spec.output, "fmt": spec.format},
        num_cpus=IO_CPUS,
        concurrency=io_tasks,
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
