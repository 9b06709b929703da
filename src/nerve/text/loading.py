"""Load a ``tokenizer.json`` with nerve in charge of padding and truncation."""

from __future__ import annotations

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
