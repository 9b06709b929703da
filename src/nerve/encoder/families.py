"""Which module implements each encoder family (one line per family).

The BERT family (BERT, RoBERTa/XLM-R, DistilBERT) shares ``modules.TokenClassifier``; families
whose layer differs in kind have their own module with a ``*Classifier`` class (same
``forward(input_ids, attention_mask)`` signature, ``cfg`` and ``classifier`` attributes) and a
``name_map(cfg)`` from nerve's parameter names to the Hugging Face checkpoint's.
"""

from __future__ import annotations

from collections.abc import Callable
from importlib import import_module
from typing import Any

from torch import nn

from ..model.spec import EncoderConfig

# family → (module under nerve.encoder, classifier class name)
OWN_ENCODERS: dict[str, tuple[str, str]] = {
    "deberta-v2": ("deberta", "DebertaClassifier"),
    "modernbert": ("modernbert", "ModernBertClassifier"),
}


def _module(family: str) -> Any:
    return import_module(f"{__package__}.{OWN_ENCODERS[family][0]}")


def build_model(cfg: EncoderConfig, dropout: float = 0.0) -> nn.Module:
    """A freshly initialised classifier of ``cfg``'s family (weights loaded separately)."""
    if cfg.family in OWN_ENCODERS:
        cls: Callable[..., nn.Module] = getattr(_module(cfg.family), OWN_ENCODERS[cfg.family][1])
        return cls(cfg, dropout=dropout)
    from .modules import TokenClassifier

    return TokenClassifier(cfg, dropout=dropout)


def own_name_map(cfg: EncoderConfig) -> dict[str, str | tuple[str, ...]] | None:
    """The name map of a family with its own module; None for the BERT family."""
    if cfg.family not in OWN_ENCODERS:
        return None
    return _module(cfg.family).name_map(cfg)  # type: ignore[no-any-return]


def supports_packed(model: nn.Module) -> bool:
    """Whether ``model`` has a packed (unpadded) forward; the BERT family always has."""
    return bool(getattr(model, "supports_packed", True))
