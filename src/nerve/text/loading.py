"""Load a ``tokenizer.json`` with nerve in charge of padding and truncation."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tokenizers import Tokenizer

from ..errors import ModelLoadError
from .class_settings import apply_class_settings, tokenizer_family


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
        overridden = _with_class_settings(model_dir, path)
        if overridden is not None:
            tokenizer = Tokenizer.from_str(overridden)
        else:
            tokenizer = Tokenizer.from_file(str(path))
    except ModelLoadError:
        raise
    except Exception as exc:  # the Rust side raises a bare Exception for a bad file
        raise ModelLoadError(f"{path} cannot be loaded: {exc}") from None
    tokenizer.no_padding()
    tokenizer.no_truncation()
    return tokenizer


def _with_class_settings(model_dir: Path, path: Path) -> str | None:
    """tokenizer.json as transformers' class for this model rebuilds it
    (``nerve.text.class_settings``), or None when that changes nothing or no such class
    applies (the file is then loaded as it is)."""
    tokenizer_config = _json_object(model_dir / "tokenizer_config.json")
    family = tokenizer_family(tokenizer_config, _json_object(model_dir / "config.json"))
    if family is None:
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise ModelLoadError(f"{path} cannot be loaded: {exc}") from None
    if not isinstance(data, dict) or not apply_class_settings(data, tokenizer_config, family):
        return None
    return json.dumps(data)


def _json_object(path: Path) -> dict[str, Any]:
    """A JSON object file's content; {} when it is absent or unreadable (it is read, and
    reported, where nerve needs its values)."""
    try:
        value = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError):
        return {}
    return value if isinstance(value, dict) else {}


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
