"""Write a trained model directory atomically, loadable by nerve and by transformers.

Everything is written into a hidden sibling directory first and renamed into place at the
end, so an interrupted run never leaves a half-written model at ``--out``.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import TYPE_CHECKING

import torch
from tokenizers import Tokenizer

from ..encoder.modules import TokenClassifier
from ..encoder.weights import save_model
from ..errors import InvalidInput
from ..io.atomic import fresh_sibling_dir, new_file_mode
from ..io.destination import check_creatable
from ..model.spec import MODEL_TYPE_TO_ARCH, read_json

if TYPE_CHECKING:
    from .trainer import TrainConfig, TrainResult

_COPIED = (
    "special_tokens_map.json",
    "vocab.txt",
    "merges.txt",
    "vocab.json",
    "sentencepiece.bpe.model",
)
_DTYPES = {"float32": torch.float32, "float16": torch.float16, "bfloat16": torch.bfloat16}


def check_out_dir(out: Path, overwrite: bool) -> None:
    if out.exists() and not out.is_dir():
        raise InvalidInput(f"{out} exists and is not a directory (--out)")
    if out.exists() and any(out.iterdir()) and not overwrite:
        raise InvalidInput(
            f"{out} already exists and is not empty (pass --overwrite to replace it)"
        )
    check_creatable(out, "output directory")


def _config(base: Path, labels: tuple[str, ...], dtype: str) -> dict[str, object]:
    config = read_json(base / "config.json")
    config["architectures"] = [MODEL_TYPE_TO_ARCH[str(config["model_type"])]]
    config["id2label"] = {str(i): label for i, label in enumerate(labels)}
    config["label2id"] = {label: i for i, label in enumerate(labels)}
    config["torch_dtype"] = dtype
    return config


def _tokenizer_config(base: Path, max_length: int) -> dict[str, object]:
    """The base's tokenizer config with ``model_max_length`` set to the training length.

    A model fine-tuned on inputs of at most ``max_length`` tokens has only ever seen that much
    context: on running text, 512-token windows cost the default model about 4 F1 points
    against 128-token ones (docs/default-model.md, "Long inputs"). So its window (in nerve) and its
    truncation length (in transformers) become the length it was trained at.
    """
    path = base / "tokenizer_config.json"
    config = read_json(path) if path.exists() else {}
    config["model_max_length"] = max_length
    return config


def write_model_dir(
    model: TokenClassifier,
    cfg: TrainConfig,
    labels: tuple[str, ...],
    tok: Tokenizer,
    result: TrainResult,
) -> None:
    if cfg.save_dtype not in _DTYPES:
        raise InvalidInput(f"save dtype must be one of {sorted(_DTYPES)}, got {cfg.save_dtype!r}")
    check_out_dir(cfg.out, cfg.overwrite)
    cfg.out.parent.mkdir(parents=True, exist_ok=True)
    tmp = fresh_sibling_dir(cfg.out, "partial")
    try:
        save_model(model, tmp / "model.safetensors", _DTYPES[cfg.save_dtype])
        # safetensors writes its file 0600: the model is to be served, maybe by another user,
        # so it gets what any new file gets (0666 minus the umask), as export's files do.
        os.chmod(tmp / "model.safetensors", new_file_mode())
        (tmp / "config.json").write_text(
            json.dumps(_config(cfg.base, labels, cfg.save_dtype), indent=2) + "\n"
        )
        # The tokenizer as nerve uses it: no built-in padding or truncation.
        tok.save(str(tmp / "tokenizer.json"))
        (tmp / "tokenizer_config.json").write_text(
            json.dumps(_tokenizer_config(cfg.base, cfg.max_length), indent=2) + "\n"
        )
        for name in _COPIED:
            if (cfg.base / name).exists():
                shutil.copy2(cfg.base / name, tmp / name)
        meta = {
            "train_config": cfg.to_dict(),
            "best_epoch": result.best_epoch,
            "dev_f1_per_epoch": result.dev_f1,
            "labels": list(labels),
        }
        (tmp / "training.json").write_text(json.dumps(meta, indent=2) + "\n")
        if cfg.out.exists():
            shutil.rmtree(cfg.out)
        os.replace(tmp, cfg.out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
