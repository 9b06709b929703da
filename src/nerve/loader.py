"""``nerve.load``: resolve a model, pick a backend, build an ``Engine``."""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

from .backends.base import Backend
from .backends.ort_options import OrtOptions
from .engine.core import Engine
from .errors import InvalidInput, ModelLoadError
from .model.onnx_files import onnx_variants
from .model.resolve import Resolver, default_model_dir, resolve_model
from .model.spec import ModelSpec, read_spec
from .patterns import Patterns
from .patterns.bundled import bundled_patterns
from .text.loading import load_tokenizer
from .transform import with_model_transform

BACKENDS = ("auto", "torch", "onnx")


# The devices nerve's backends run on (torch would take more names, and fail on most later).
_DEVICE = re.compile(r"cpu|cuda(?::\d+)?")


def check_device(device: object) -> None:
    if not isinstance(device, str) or not _DEVICE.fullmatch(device):
        raise InvalidInput(f"device (--device) must be cpu, cuda or cuda:N, got {device!r}")


def usable_cpus() -> int:
    """The CPUs this process may run on (its affinity mask where the OS has one)."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def _torch_available() -> bool:
    try:
        import torch  # noqa: F401
    except ImportError:
        return False
    return True


def check_run_settings(*, backend: object, device: object, threads: object) -> None:
    """The settings of how a model runs, checked before anything is read: ``load`` checks
    them first, and so does whatever defers loading (the spaCy component)."""
    if not isinstance(backend, str) or backend not in BACKENDS:
        raise InvalidInput(f"unknown backend {backend!r}; expected one of {BACKENDS}")
    check_device(device)
    if isinstance(threads, bool):
        raise InvalidInput("threads takes a number, not True/False")
    if threads is not None and (not isinstance(threads, int) or threads < 1):
        raise InvalidInput(f"threads must be a positive integer, got {threads!r}")
    if threads is not None and threads > (cpus := usable_cpus()):
        # More threads than CPUs only contend, and a count in the thousands makes OpenMP fail
        # to start them ("libgomp: Thread creation failed") or torch crash outright.
        raise InvalidInput(
            f"threads (--threads) must be at most the {cpus} CPUs this process may use, "
            f"got {threads}"
        )


def choose_backend(
    model_dir: Path,
    backend: str,
    device: str,
    onnx_file: str | None = None,
    dtype: str | None = None,
) -> str:
    """``auto``: a named ONNX file → onnx; CUDA → torch; a torch precision asked for
    (``dtype`` float32/float16/bfloat16) with safetensors weights → torch; an ONNX graph
    present (here or in ``onnx/``) → onnx (fast on CPU, no torch needed); else torch on the
    safetensors weights."""
    if backend not in BACKENDS:
        raise InvalidInput(f"unknown backend {backend!r}; expected one of {BACKENDS}")
    if onnx_file is not None:
        if backend == "torch":
            raise InvalidInput("--onnx-file names an ONNX graph: use it with --backend onnx")
        return "onnx"
    has_onnx = bool(onnx_variants(model_dir))
    has_st = (model_dir / "model.safetensors").exists()
    if backend != "auto":
        return backend
    if device.startswith("cuda"):
        return "torch"
    if dtype in ("float32", "float16", "bfloat16") and has_st and _torch_available():
        return "torch"  # the precision asked for, not the graph's fixed one
    if has_onnx:
        return "onnx"
    if has_st and _torch_available():
        return "torch"
    if has_st:
        raise ModelLoadError(
            f"{model_dir} has safetensors weights but torch is not installed: "
            "`pip install 'nerve[torch]'`, or convert once with `nerve export`"
        )
    if (model_dir / "pytorch_model.bin").exists():
        raise ModelLoadError(
            f"{model_dir} holds only pytorch_model.bin, a pickle nerve never loads; convert it "
            "to model.safetensors with transformers (save_pretrained(..., safe_serialization=True))"
        )
    raise ModelLoadError(
        f"{model_dir} has neither model.safetensors nor an ONNX graph (model*.onnx, here or "
        "in onnx/)"
    )


def make_backend(
    kind: str,
    model_dir: Path,
    spec: ModelSpec,
    device: str,
    dtype: str | None,
    threads: int | None,
    ort_options: OrtOptions | None = None,
    onnx_file: str | None = None,
    cuda_graphs: bool | None = None,
) -> Backend:
    if ort_options is not None and not ort_options.is_default and kind != "onnx":
        raise InvalidInput(
            "--execution-provider and the other ONNX Runtime options need the onnx backend "
            "(--backend onnx, with an ONNX export)"
        )
    if kind == "onnx":
        if cuda_graphs:
            raise InvalidInput(
                "--cuda-graphs on needs the torch backend on a GPU (--backend torch "
                "--device cuda); the onnx backend runs on the CPU"
            )
        if device != "cpu":
            raise InvalidInput(f"the onnx backend runs on cpu only, not {device!r}")
        if dtype not in (None, "float32", "int8"):
            raise InvalidInput(
                f"the onnx backend's precision is fixed by its file; got dtype {dtype!r}"
            )
        from .backends.onnx_backend import OnnxBackend

        onnx = OnnxBackend(
            model_dir, spec, threads=threads, ort_options=ort_options, onnx_file=onnx_file
        )
        if dtype is not None and dtype != onnx.dtype:
            # Not run silently at another precision than the one asked for.
            raise InvalidInput(
                f"dtype {dtype!r} asked, but the onnx backend runs {onnx.path.name} in "
                f"{onnx.dtype} (its precision is fixed by the file): choose a graph with "
                "--onnx-file, or the torch backend for float32/float16/bfloat16"
            )
        return onnx
    from .backends.torch_backend import TorchBackend

    return TorchBackend(
        model_dir,
        spec,
        device=device,
        dtype=dtype or "float32",
        threads=threads,
        cuda_graphs=cuda_graphs,
    )


def load(
    model: str | Path | None = None,
    *,
    backend: str = "auto",
    device: str = "cpu",
    dtype: str | None = None,
    threads: int | None = None,
    max_batch_tokens: int = 16384,
    revision: str | None = None,
    resolver: Resolver | None = None,
    model_id: str | None = None,
    ort_options: OrtOptions | None = None,
    patterns: str | Path | Patterns | None = None,
    onnx_file: str | None = None,
    cuda_graphs: bool | None = None,
) -> Engine:
    """Load a token-classification model.

    ``model``: a local directory (HF safetensors or ONNX export), a Hub id, or None for the
    embedded default model. ``backend``: auto/torch/onnx. ``device``: cpu/cuda[:N].
    ``dtype`` (torch): float32/float16/bfloat16. ``patterns``: entity patterns merged into
    every aggregated result, a JSONL file (default overlap policy) or a
    ``nerve.patterns.Patterns``; None: those of a built model, if it has any.
    ``dtype`` (torch): float32/float16/bfloat16. ``onnx_file`` (onnx): which graph to run, a
    path inside the model dir (``onnx/model_q4.onnx``) or a variant name (``q4``); default:
    the most exact one present (see ``nerve.model.onnx_files``). ``cuda_graphs`` (torch on
    CUDA): replay recorded CUDA graphs for small batches; None: wherever they can be recorded
    (half precision on a GPU), see ``nerve.backends.cuda_graphs``.
    """
    check_run_settings(backend=backend, device=device, threads=threads)
    if model is not None and not isinstance(model, (str, os.PathLike)):
        raise InvalidInput(
            f"model must be a directory, a .nerve bundle or a Hub id, got {type(model).__name__}"
        )
    if onnx_file is not None and not isinstance(onnx_file, str):
        raise InvalidInput(f"onnx_file must be a file name or a variant, got {onnx_file!r}")
    if isinstance(max_batch_tokens, bool):
        raise InvalidInput("max_batch_tokens takes a number, not True/False")
    if not isinstance(max_batch_tokens, int) or max_batch_tokens < 1:
        raise InvalidInput(f"max_batch_tokens must be a positive integer, got {max_batch_tokens!r}")
    model_dir = resolve_model(model, revision=revision, resolver=resolver)
    rules = _patterns(patterns, model_dir)  # before the model: a bad file fails fast
    spec = read_spec(model_dir)
    tokenizer = load_tokenizer(model_dir)
    vocab = tokenizer.get_vocab_size(with_added_tokens=True)
    # (A graph-only config may not name its vocabulary size: 0, nothing to compare.)
    if 0 < spec.encoder.vocab_size < vocab:
        raise ModelLoadError(
            f"{model_dir}: tokenizer has {vocab} tokens but the model's embedding table has "
            f"{spec.encoder.vocab_size}: tokenizer and weights do not belong together"
        )
    kind = choose_backend(model_dir, backend, device, onnx_file, dtype)
    backend_ = make_backend(
        kind, model_dir, spec, device, dtype, threads, ort_options, onnx_file, cuda_graphs
    )
    # A built model (nerve build) may declare a Lua transform of the logits: apply it here so
    # every command honours it.
    engine_backend = with_model_transform(model_dir, backend_)
    embedded = model_dir == default_model_dir()
    hub_id = model is not None and not Path(str(model)).exists()
    if model_id is None:
        model_id = "nerve-default" if embedded else (str(model) if hub_id else model_dir.name)
    engine = Engine(
        spec=spec,
        tokenizer=tokenizer,
        backend=engine_backend,
        model_dir=model_dir,
        model_id=model_id,
        max_batch_tokens=max_batch_tokens,
    )
    engine.patterns = rules
    # How to load it again: pickling an engine (multiprocessing, Ray) ships these, not the
    # sessions and weights, and the receiving process loads the model itself. The embedded
    # default model is named by None so that it resolves inside the receiver's own install.
    engine.load_args = {
        # A Hub id stays an id (the receiver resolves it through its own cache).
        "model": None if embedded else (str(model) if hub_id else str(model_dir)),
        "revision": revision if hub_id else None,
        "backend": kind,
        "device": device,
        "dtype": dtype,
        "threads": threads,
        "max_batch_tokens": max_batch_tokens,
        "model_id": model_id,
        "ort_options": ort_options,
        "cuda_graphs": cuda_graphs,
        # Explicit patterns travel as their pattern list; a built model's are read again.
        "patterns": engine.patterns if patterns is not None else None,
        "onnx_file": onnx_file,
    }
    return engine


def _patterns(patterns: str | Path | Patterns | None, model_dir: Path) -> Patterns | None:
    if isinstance(patterns, Patterns):
        return patterns
    if patterns is not None:
        if not isinstance(patterns, (str, Path)):
            raise InvalidInput(
                f"patterns must be a file path or a nerve.patterns.Patterns, got "
                f"{type(patterns).__name__}"
            )
        return Patterns.from_jsonl(patterns)
    return bundled_patterns(model_dir)


def reload(load_args: dict[str, Any]) -> Engine:
    """``nerve.load`` from an engine's ``load_args`` (what unpickling an engine calls)."""
    return load(**load_args)
