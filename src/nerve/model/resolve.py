"""Where a model comes from: a local directory, the embedded default, or a Hub id.

Hub downloads are restricted to safe files (JSON, tokenizer, safetensors, ONNX): a pickle is
never fetched, and no remote code is ever run.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

from ..bundle import resolve_bundle
from ..errors import ModelLoadError

# Files worth fetching from the Hub; everything else (pickles, TF/Flax weights) is skipped.
HUB_PATTERNS = [
    "config.json",
    "tokenizer.json",
    "tokenizer_config.json",
    "special_tokens_map.json",
    "vocab.txt",
    "vocab.json",
    "merges.txt",
    "model.safetensors",
    "model.onnx",
    "onnx/model.onnx",
]
_HUB_ID = re.compile(r"^[A-Za-z0-9][\w.-]*/[\w.-]+$")

Resolver = Callable[..., str]


def default_model_dir() -> Path:
    """The model shipped inside the package (MiniLM-L6 fine-tuned on CoNLL-2003)."""
    return Path(__file__).resolve().parent.parent / "models" / "default"


def _hub_download(repo_id: str, revision: str | None) -> str:
    try:
        from huggingface_hub import snapshot_download
    except ImportError:  # pragma: no cover - huggingface_hub is a base dependency
        raise ModelLoadError("huggingface_hub is needed to load models by Hub id") from None
    return snapshot_download(repo_id, revision=revision, allow_patterns=HUB_PATTERNS)


def resolve_model(
    model: str | Path | None,
    *,
    revision: str | None = None,
    resolver: Resolver | None = None,
) -> Path:
    """A local directory holding the model's files.

    ``None`` → the embedded default model. An existing path → itself. ``owner/name`` → a Hub
    snapshot (through ``resolver``, which tests replace; default: huggingface_hub).
    """
    if model is None:
        path = default_model_dir()
        if not (path / "config.json").exists():
            raise ModelLoadError(
                f"the embedded default model is missing from {path}; pass --model DIR"
            )
        return path
    path = resolve_bundle(Path(model).expanduser())  # a .nerve archive → its verified dir
    if path.exists():
        if not path.is_dir():
            raise ModelLoadError(f"{path} is a file; a model is a directory with config.json")
        return path
    text = str(model)
    if _HUB_ID.match(text) and not text.startswith((".", "/", "~")):
        try:
            local = (resolver or _hub_download)(text, revision=revision)
        except ModelLoadError:
            raise
        except Exception as exc:  # network, auth, missing repo: report, don't crash
            # "models/my-ner" reads as a Hub id too: say it is not a local path either, and
            # point at a local folder it may have been meant in.
            head = Path(text.split("/", 1)[0])
            local_hint = (
                f" (./{head} is a local directory: is the model elsewhere in it?)"
                if head.is_dir()
                else ""
            )
            raise ModelLoadError(
                f"{text!r} is not a local directory{local_hint}, and cannot be fetched from "
                f"the Hugging Face Hub: {exc}"
            ) from None
        onnx_sub = Path(local) / "onnx"
        if not (Path(local) / "model.safetensors").exists() and (onnx_sub / "model.onnx").exists():
            return onnx_sub if (onnx_sub / "config.json").exists() else Path(local)
        return Path(local)
    raise ModelLoadError(f"model {text!r} is neither a directory nor a Hub id (owner/name)")
