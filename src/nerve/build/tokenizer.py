"""encoderfile's ``tokenizer:`` settings, applied to the staged model directory.

``max_length`` is nerve's window length: it is written as ``model_max_length`` into the
staged ``tokenizer_config.json``, which is where nerve (and encoderfile) read it. The other
settings only decide how encoderfile truncates and pads; nerve neither truncates (a text
longer than the window is tagged in overlapping windows) nor lets padding reach the answers,
so for those the build says what nerve does instead.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from ..errors import NerveError
from ..model.spec import read_spec
from .config import TokenizerSettings
from .errors import BuildError

Say = Callable[[str], None]


def apply_tokenizer_settings(settings: TokenizerSettings, model_dir: Path, say: Say) -> None:
    if settings.max_length is not None:
        _set_max_length(settings.max_length, model_dir)
    if settings.truncation_side is not None or settings.truncation_strategy is not None:
        say(
            "note: encoderfile.tokenizer truncation settings: nerve does not truncate; a text "
            "longer than the window is tagged in overlapping windows (docs/build.md)"
        )
    if settings.stride is not None:
        say(
            "note: encoderfile.tokenizer.stride: nerve's windows overlap by a quarter of the "
            "window unless a request sets `stride`"
        )
    if settings.pad_fixed is not None:
        say(
            f"note: encoderfile.tokenizer.pad_strategy fixed {settings.pad_fixed}: nerve pads "
            "each batch to its longest text (padding never changes the answers)"
        )


def _set_max_length(max_length: int, model_dir: Path) -> None:
    limit = read_spec(model_dir).encoder.max_tokens  # the position table, not the old setting
    if max_length > limit:
        raise BuildError(
            f"encoderfile.tokenizer.max_length {max_length} exceeds the model's limit of "
            f"{limit} tokens"
        )
    # The window holds the tokenizer's special tokens ([CLS], [SEP], ...) plus at least one
    # token of text; a smaller one could tag nothing.
    specials = _special_tokens(model_dir)
    if max_length <= specials:
        raise BuildError(
            f"encoderfile.tokenizer.max_length {max_length} leaves no room for text next to "
            f"the model's {specials} special tokens; the smallest allowed is {specials + 1}"
        )
    path = model_dir / "tokenizer_config.json"
    data = json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}
    if not isinstance(data, dict):
        raise BuildError(f"{path} must hold a JSON object")
    data["model_max_length"] = max_length
    path.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def _special_tokens(model_dir: Path) -> int:
    from ..text.loading import load_tokenizer

    try:
        tokenizer = load_tokenizer(model_dir)
    except NerveError as exc:
        raise BuildError(exc.message) from None
    return int(tokenizer.num_special_tokens_to_add(False))
