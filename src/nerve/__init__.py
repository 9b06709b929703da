"""nerve: fast, exact named-entity recognition with BERT-family models."""

from __future__ import annotations

from .engine.core import Engine, TokenLogits
from .errors import InputTooLong, InvalidInput, ModelLoadError, NerveError
from .loader import load
from .types import Aggregation, Entity, InferenceOptions, TextResult, WordLabels

__version__ = "0.1.0"

__all__ = [
    "Aggregation",
    "Engine",
    "Entity",
    "InferenceOptions",
    "InputTooLong",
    "InvalidInput",
    "ModelLoadError",
    "NerveError",
    "TextResult",
    "TokenLogits",
    "WordLabels",
    "load",
]
