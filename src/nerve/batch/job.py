"""A corpus job: its settings, the checks on its output directory, which shards are left,
and the manifest written when it completes."""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

from .. import __version__
from ..errors import InvalidInput
from .fs import filesystem, join, pyarrow_fs
from .plan import Shard
from .shards import ERRORS_DIR, STATS_DIR, part_name, read_stats, write_atomic
from .sources import InputFile

if TYPE_CHECKING:
    from ..engine.core import Engine

JOB_FILE = "_job.json"
SUCCESS_FILE = "_SUCCESS"


@dataclass(frozen=True)
class JobSpec:
    """Everything that decides the job's output; two runs with equal specs write equal shards."""

    inputs: tuple[InputFile, ...]
    output: str
    format: str  # jsonl | parquet
    text_field: str
    id_field: str
    whole_files: bool
    shard_rows: int
    shard_bytes: int
    load_args: dict[str, Any]  # nerve.load arguments (what a worker loads)
    options: dict[str, Any]  # inference options
    n_shards: int = 0
    # Entity patterns: Patterns.from_jsonl's arguments (path, overlap, ignore_case), kept as
    # data so that _job.json records them and each worker reads the file itself; None: none.
    patterns: dict[str, Any] | None = None

    def identity(self) -> dict[str, Any]:
        """What --resume compares: the output directory and run placement are not part of it."""
        data = asdict(self)
        data.pop("output")
        data["load_args"] = {k: v for k, v in self.load_args.items() if k not in ("threads",)}
        data["inputs"] = [asdict(f) for f in self.inputs]
        data["nerve"] = __version__
        return data


def load_job_engine(load_args: dict[str, Any], patterns: dict[str, Any] | None) -> Engine:
    """The engine a job's worker tags with: ``nerve.load`` with the job's patterns."""
    from ..loader import load
    from ..patterns import Patterns

    rules = Patterns.from_jsonl(**patterns) if patterns else None
    return load(**load_args, patterns=rules)


@dataclass
class Totals:
    documents: int = 0
    tokens: int = 0
    entities: int = 0
    failures: int = 0
    shards: int = 0
    shards_skipped: int = 0  # complete before this run (--resume)
    tokens_this_run: int = 0  # what tok/s is computed from
    seconds: float = 0.0

    def add(self, stats: dict[str, int], *, skipped: bool = False) -> None:
        if skipped:
            self.shards_skipped += 1
        else:
            self.tokens_this_run += stats["tokens"]
        self.documents += stats["documents"]
        self.tokens += stats["tokens"]
        self.entities += stats["entities"]
        self.failures += stats["failures"]
        self.shards += 1

    def summary(self) -> str:
        rate = self.tokens_this_run / self.seconds if self.seconds > 0 else 0.0
        skipped = f" ({self.shards_skipped} already complete)" if self.shards_skipped else ""
        return (
            f"{self.documents} documents, {self.tokens} tokens, {self.entities} entities, "
            f"{self.failures} failures in {self.shards} shards{skipped}; "
            f"{self.seconds:.1f} s, {rate:,.0f} tok/s"
        )


def _exists(location: str) -> bool:
    fs, path = filesystem(location)
    return bool(fs.get_file_info(path).type != pyarrow_fs().FileType.NotFound)


def _read_json(location: str) -> Any:
    fs, path = filesystem(location)
    with fs.open_input_stream(path) as fh:
        return json.loads(bytes(fh.read()))


def _has_parts(output: str) -> bool:
    pafs = pyarrow_fs()
    fs, path = filesystem(output)
    info = fs.get_file_info(path)
    if info.type == pafs.FileType.NotFound:
        return False
    if info.type != pafs.FileType.Directory:
        raise InvalidInput(f"--output {output} exists and is not a directory")
    names = [i.base_name for i in fs.get_file_info(pafs.FileSelector(path))]
    return any(n.startswith("part-") for n in names)


def prepare_output(spec: JobSpec, resume: bool) -> None:
    """Refuse a directory that holds another job's shards; with --resume, the job must match."""
    job_file = join(spec.output, JOB_FILE)
    if _exists(job_file):
        if not resume:
            raise InvalidInput(
                f"--output {spec.output} already holds a job's output ({JOB_FILE}); "
                "add --resume to finish that job, or choose an empty directory"
            )
        previous = _read_json(job_file)
        current = json.loads(json.dumps(spec.identity()))
        if previous != current:
            differ = sorted(k for k in current if previous.get(k) != current[k])
            raise InvalidInput(
                f"--resume: {spec.output} holds a different job (it differs in: "
                f"{', '.join(differ)}); rerun with the same inputs and options, or choose "
                "another --output"
            )
        return
    if _has_parts(spec.output):
        raise InvalidInput(
            f"--output {spec.output} holds shards (part-*) of an unknown job; choose an "
            "empty directory"
        )
    write_atomic(job_file, json.dumps(spec.identity(), indent=2, sort_keys=True).encode())


def pending_shards(spec: JobSpec, shards: list[Shard], totals: Totals) -> list[Shard]:
    """Shards whose part file is not there yet; complete ones add their counts to totals.
    A part whose counts file is gone or unreadable (removed by hand, a damaged copy) is run
    again: its part is replaced, and the job's totals stay whole."""
    left = []
    for shard in shards:
        if _exists(join(spec.output, part_name(shard.name, spec.format))):
            try:
                stats = read_stats(spec.output, shard.name)
            except (OSError, ValueError):
                left.append(shard)
                continue
            totals.add(stats, skipped=True)
        else:
            left.append(shard)
    return left


def finish(spec: JobSpec, shards: list[Shard], totals: Totals, mode: str) -> None:
    """Check that every shard is there, drop leftover temporary files, write _SUCCESS."""
    missing = [
        s.name for s in shards if not _exists(join(spec.output, part_name(s.name, spec.format)))
    ]
    if missing:
        raise RuntimeError(f"shards missing after the run: {', '.join(missing[:5])}")
    _remove_temporaries(spec.output)
    manifest = {
        "documents": totals.documents,
        "tokens": totals.tokens,
        "entities": totals.entities,
        "failures": totals.failures,
        "shards": len(shards),
        "format": spec.format,
        "parts": [part_name(s.name, spec.format) for s in shards],
        "errors_dir": ERRORS_DIR,
        "mode": mode,
        "seconds": round(totals.seconds, 3),
        "completed_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    write_atomic(join(spec.output, SUCCESS_FILE), json.dumps(manifest, indent=2).encode())


def _remove_temporaries(output: str) -> None:
    """Temp files of writers that died (a killed worker's half-written shard)."""
    pafs = pyarrow_fs()
    fs, path = filesystem(output)
    for sub in ("", f"/{ERRORS_DIR}", f"/{STATS_DIR}"):
        infos = fs.get_file_info(pafs.FileSelector(path + sub, allow_not_found=True))
        for info in infos:
            if info.base_name.startswith(".") and info.base_name.endswith(".tmp"):
                fs.delete_file(info.path)
