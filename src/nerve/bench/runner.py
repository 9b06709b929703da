"""Run nerve and its peers on the same workloads, each system in its own fresh process."""

from __future__ import annotations

import datetime
import json
import platform
import subprocess
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from ..backends.base import DTYPES
from ..errors import InvalidInput, NerveError
from .models import BenchModel, bench_model
from .peers import (
    NERVE,
    PIPELINE_BATCHES,
    SystemSpec,
    expand_peers,
    nerve_host_system,
    nerve_window_system,
    unavailable,
)
from .report import BenchReport, SystemResult
from .workloads import WORKLOADS, Workload, build_workloads, default_conll_file, read_sentences


class BenchError(NerveError):
    """A system's measuring process failed."""

    code = "bench_error"


@dataclass(frozen=True)
class BenchConfig:
    model: str | Path | None = None  # None: the embedded default model
    shape: str | None = None  # "minilm" | "bert-base": random weights of that shape
    workloads: tuple[str, ...] = WORKLOADS
    limit: int | None = None  # texts per workload (None: each workload's default)
    peers: tuple[str, ...] = ("pipeline", "spacy")
    device: str = "cpu"
    repeats: int = 3
    warmup: int = 32  # texts of the warm-up call
    latency_texts: int = 200  # texts timed one by one for p50/p99 (fewer if the workload is)
    conll: Path | None = None  # CoNLL file the texts come from (default: eng.testb)
    # Extra nerve rows with windows of these lengths (e.g. 512 beside ModernBERT's 8,192).
    nerve_windows: tuple[int, ...] = ()
    # An extra nerve row with tokenizing and decoding in this many worker processes
    # (nerve.hostpool); 0: none.
    host_workers: int = 0
    # torch precision of nerve and of the pipeline peer (None: nerve's default for the
    # backend, the pipeline in float32, the reference precision).
    dtype: str | None = None

    def __post_init__(self) -> None:
        if self.repeats < 1:
            raise InvalidInput(f"repeats must be >= 1, got {self.repeats}")
        if self.limit is not None and self.limit < 1:
            raise InvalidInput(f"limit must be >= 1, got {self.limit}")
        if self.latency_texts < 0:
            raise InvalidInput(f"latency_texts must be >= 0, got {self.latency_texts}")
        if self.dtype is not None and self.dtype not in DTYPES:
            raise InvalidInput(f"--dtype must be one of {', '.join(DTYPES)}, got {self.dtype!r}")
        if self.host_workers < 0:
            raise InvalidInput(f"--host-workers must be >= 0, got {self.host_workers}")
        if any(w < 3 for w in self.nerve_windows):  # the engine's least window
            raise InvalidInput(
                f"--nerve-windows must be token counts >= 3, got {self.nerve_windows}"
            )


Progress = Callable[[str], None]


def run_bench(config: BenchConfig, progress: Progress | None = None) -> BenchReport:
    say = progress or (lambda _msg: None)
    windowed = {nerve_window_system(w): w for w in config.nerve_windows}
    pooled = (nerve_host_system(config.host_workers),) if config.host_workers else ()
    systems = (NERVE, *windowed, *pooled, *expand_peers(config.peers))
    with tempfile.TemporaryDirectory(prefix="nerve-bench-") as tmp:
        work = Path(tmp)
        if config.shape:
            say(f"building a random {config.shape} model (HF + ONNX int8)")
        model = bench_model(config.model, config.shape, work)
        _check_windows(config.nerve_windows, model)  # before any system is measured
        sentences = read_sentences(config.conll or default_conll_file())
        workloads = build_workloads(config.workloads, sentences, model.tokenizer_file, config.limit)
        skipped = {s: why for s in systems if (why := unavailable(s, model.hf_dir))}
        results: list[SystemResult] = []
        for system in (s for s in systems if s not in skipped):
            say(f"measuring {system}")
            spec = _system_spec(system, model, config.device, windowed.get(system))
            spec = replace(spec, dtype=config.dtype)
            if system in pooled:
                spec = replace(spec, host_workers=config.host_workers)
            results.extend(_measure(spec, workloads, config, work))
    meta = _meta(config, model)
    return BenchReport(meta, tuple(workloads), tuple(results), skipped)


def _check_windows(windows: tuple[int, ...], model: BenchModel) -> None:
    from ..model.spec import read_spec

    limit = read_spec(model.nerve_dir).max_length
    too_long = [w for w in windows if w > limit]
    if too_long:
        raise InvalidInput(
            f"--nerve-windows {', '.join(map(str, too_long))}: over the model's window limit "
            f"of {limit} tokens"
        )


def _system_spec(
    system: str, model: BenchModel, device: str, window: int | None = None
) -> SystemSpec:
    if system in PIPELINE_BATCHES:
        assert model.hf_dir is not None  # checked by unavailable()
        return SystemSpec(system, str(model.hf_dir), device, stride=_nerve_stride(model))
    return SystemSpec(system, str(model.nerve_dir_on(device)), device, window=window)


def _nerve_stride(model: BenchModel) -> int:
    """The overlap nerve's default windows use, so that the pipeline windows long texts the
    same way (nerve's windows are the pipeline's with this ``stride``)."""
    from tokenizers import Tokenizer

    from ..model.spec import read_spec
    from ..text.encode import TextEncoder
    from ..types import InferenceOptions

    tokenizer = Tokenizer.from_file(str(model.tokenizer_file))
    encoder = TextEncoder(tokenizer, read_spec(model.nerve_dir).max_length)
    return encoder.settings(InferenceOptions())[1]


def _measure(
    spec: SystemSpec, workloads: list[Workload], config: BenchConfig, work: Path
) -> list[SystemResult]:
    job = {
        "system": spec.to_json(),
        "workloads": [{"name": w.name, "texts": list(w.texts)} for w in workloads],
        "repeats": config.repeats,
        "warmup": config.warmup,
        "latency_texts": config.latency_texts,
    }
    job_file, out_file = work / f"{spec.name}.job.json", work / f"{spec.name}.out.json"
    job_file.write_text(json.dumps(job), encoding="utf-8")
    proc = subprocess.run(
        [sys.executable, "-m", "nerve.bench.child", str(job_file), str(out_file)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    if proc.returncode != 0 or not out_file.is_file():
        tail = "\n".join(proc.stderr.strip().splitlines()[-15:])
        raise BenchError(f"measuring {spec.name} failed (exit {proc.returncode}):\n{tail}")
    out = json.loads(out_file.read_text(encoding="utf-8"))
    return [
        SystemResult(
            system=spec.name,
            workload=w.name,
            seconds=tuple(out["results"][w.name]["seconds"]),
            latencies=tuple(out["results"][w.name]["latencies"]),
            tokens=w.tokens,
            texts=len(w.texts),
            words=w.words,
            peak_rss_mb=out["peak_rss_mb"],
            info={**out["info"], "load_s": f"{out['load_s']:.2f}"},
        )
        for w in workloads
    ]


def _meta(config: BenchConfig, model: BenchModel) -> dict[str, Any]:
    from .. import __version__

    return {
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "cpu": cpu_model(),
        "python": platform.python_version(),
        "nerve": __version__,
        "model": model.description,
        "shape": config.shape,
        "nerve_windows": list(config.nerve_windows),
        "host_workers": config.host_workers,
        "dtype": config.dtype,
        "device": config.device,
        "repeats": config.repeats,
        "latency_texts": config.latency_texts,
        "rss": "peak RSS (VmHWM) of a fresh process per system: load + all workloads",
    }


def cpu_model() -> str:
    """The CPU's model name as lscpu shows it (``/proc/cpuinfo``), else ``platform``'s."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()
