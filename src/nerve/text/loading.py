"""Load a ``tokenizer.json`` with nerve in charge of padding and truncation."""

from __future__ import annotations

import json
from pathlib import Path

from tokenizers import Tokenizer

from ..errors import ModelLoadError


def load_tokenizer(model_dir: Path) -> Tokenizer:
    """The fast tokenizer of a model dir, with its own padding/truncation switched off.

    Some tokenizer.json files carry a fixed padding (MiniLM's pads every text to 128) or a
    truncation; nerve decides both itself, per request.
    """
    path = model_dir / "tokenizer.json"
    if not path.exists():
        raise ModelLoadError(
            f"{model_dir}: tokenizer.json is missing (nerve needs a fast tokenizer; save one "
            "with transformers' AutoTokenizer.from_pretrained(...).save_pretrained(dir))"
        )
    try:
        tokenizer = Tokenizer.from_file(str(path))
    except Exception as exc:  # the Rust side raises a bare Exception for a bad file
        raise ModelLoadError(f"{path} cannot be loaded: {exc}") from None
    tokenizer.no_padding()
    tokenizer.no_truncation()
    return tokenizer


def unk_token(model_dir: Path, tokenizer: Tokenizer) -> str | None:
    """The unknown token as transformers sees it: the tokenizer config's ``unk_token``
    (a string or an AddedToken dict), else special_tokens_map.json, else the model's own."""
    for name in ("tokenizer_config.json", "special_tokens_map.json"):
        path = model_dir / name
        if not path.exists():
            continue
        try:
            value = json.loads(path.read_text(encoding="utf-8")).get("unk_token")
        except (json.JSONDecodeError, UnicodeDecodeError):
            raise ModelLoadError(f"{path} is not valid JSON") from None
        if isinstance(value, dict):
            value = value.get("content")
        if isinstance(value, str):
            return value
    model = tokenizer.model
    token = getattr(model, "unk_token", None)
    if token is None and getattr(model, "unk_id", None) is not None:
        token = tokenizer.id_to_token(model.unk_id)
    return token
