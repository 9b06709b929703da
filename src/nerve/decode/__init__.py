"""Per-token probabilities to entities, with the transformers pipeline's exact semantics.

Vectorized with numpy: per-token work is array operations; Python loops run only over the
entities (or words) produced.
"""

from __future__ import annotations

from .aggregate import decode_window
from .probs import softmax
from .tokens import DecodeContext, WindowTokens, split_tag
from .windows import decode_text, filter_ignored, merge_windows
from .wordlabels import first_subword_labels

__all__ = [
    "DecodeContext",
    "WindowTokens",
    "decode_text",
    "decode_window",
    "filter_ignored",
    "first_subword_labels",
    "merge_windows",
    "softmax",
    "split_tag",
]
