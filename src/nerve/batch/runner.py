"""``run_job``: check everything, plan, skip complete shards, run (locally or on Ray),
verify, write the manifest. All user errors surface before the first shard is tagged."""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

from ..decode.ignore_names import check_ignore_names
from ..engine.core import Engine, options_from
from ..errors import InvalidInput
from ..patterns import Patterns
from ..types import DEFAULT_AGGREGATION
from .fs import filesystem, is_uri
from .job import JobSpec, Totals, finish, load_job_engine, pending_shards, prepare_output
from .plan import plan_shards
from .records import check_text_field


@dataclass(frozen=True)
class Placement:
    """Where the job runs: ``ray`` False = this process; otherwise Ray at ``address``."""

    ray: bool = False
    address: str | None = None  # None: a local Ray instance; "auto"; "HOST:PORT"; "ray://..."
    workers: int = 1
    cpus_per_worker: float = 1.0
    gpus_per_worker: float = 0.0
    timeout: float = 30.0


# Longer than this is a mistake; infinity would overflow the waits that take it.
MAX_RAY_TIMEOUT = 86_400


def normalise_output(output: str) -> str:
    if is_uri(output):
        return output.rstrip("/")
    return filesystem(output)[1]


def run_job(spec: JobSpec, placement: Placement, *, resume: bool, progress: bool) -> Totals:
    if placement.workers < 1:
        raise InvalidInput(f"--workers must be at least 1, got {placement.workers}")
    if placement.cpus_per_worker <= 0 or placement.gpus_per_worker < 0:
        raise InvalidInput("--cpus-per-worker must be positive and --gpus-per-worker ≥ 0")
    if placement.gpus_per_worker > 0 and not placement.ray:
        raise InvalidInput("--gpus-per-worker needs --ray (locally, use --device cuda)")
    if not placement.ray:
        # Ray's placement flags do nothing locally: a job meant for a cluster must not run
        # here unnoticed (locally, --threads sets the cores).
        default = Placement()
        for flag, value, usual in (
            ("--workers", placement.workers, default.workers),
            ("--cpus-per-worker", placement.cpus_per_worker, default.cpus_per_worker),
            ("--ray-timeout", placement.timeout, default.timeout),
        ):
            if value != usual:
                raise InvalidInput(f"{flag} needs --ray (locally, use --threads)")
    if not 0 < placement.timeout <= MAX_RAY_TIMEOUT:
        raise InvalidInput(
            f"--ray-timeout must be a number of seconds above 0 and at most "
            f"{MAX_RAY_TIMEOUT:,}, got {placement.timeout}"
        )
    check_text_field(list(spec.inputs), spec.text_field)
    shards = plan_shards(
        list(spec.inputs),
        rows=spec.shard_rows,
        max_bytes=spec.shard_bytes,
        whole_files=spec.whole_files,
    )
    spec = replace(spec, n_shards=len(shards))
    ray: Any = None
    engine: Engine | None = None
    if placement.ray:
        from ..ray.connect import check_resources, connect

        ray = connect(placement.address, placement.timeout)
        check_resources(ray, placement.cpus_per_worker, placement.gpus_per_worker)
        from ..model.resolve import resolve_model

        model_dir = resolve_model(
            spec.load_args.get("model"), revision=spec.load_args.get("revision")
        )
        from ..model.spec import read_spec
        from ..patterns.bundled import bundled_patterns

        # A bad patterns file fails here, not in every actor.
        rules = Patterns.from_jsonl(**spec.patterns) if spec.patterns else None
        _check_ignore_names(spec, read_spec(model_dir).labels, rules or bundled_patterns(model_dir))
    else:
        # A model or patterns file that cannot load fails before any output.
        engine = load_job_engine(spec.load_args, spec.patterns)
        _check_ignore_names(spec, engine.labels, engine.patterns)
    # Bad option values (a window under 3 or over the model's, a stride that leaves no
    # progress) fail before _job.json exists, so that the corrected command runs as new.
    options = options_from(spec.options)
    if engine is not None:
        engine.text_encoder.settings(options)
    prepare_output(spec, resume)
    totals = Totals()
    todo = pending_shards(spec, shards, totals)
    started = time.perf_counter()
    if ray is not None and todo:
        from ..ray.pipeline import run_ray

        run_ray(
            ray,
            spec,
            todo,
            totals,
            workers=placement.workers,
            cpus_per_worker=placement.cpus_per_worker,
            gpus_per_worker=placement.gpus_per_worker,
            progress=progress,
        )
    elif todo and engine is not None:
        from .local import run_local

        run_local(engine, spec, todo, totals, progress)
    totals.seconds = time.perf_counter() - started
    finish(spec, shards, totals, "ray" if ray is not None else "local")
    return totals


def _check_ignore_names(spec: JobSpec, labels: Sequence[str], patterns: Patterns | None) -> None:
    """An --ignore-labels name the model cannot produce is refused before any output, as
    ``nerve infer`` refuses it (``nerve.decode.ignore_names``)."""
    check_ignore_names(
        spec.options.get("ignore_labels", ()),
        labels,
        [p.label for p in patterns.patterns] if patterns is not None else (),
        str(spec.options.get("aggregation_strategy", DEFAULT_AGGREGATION.value)),
    )
