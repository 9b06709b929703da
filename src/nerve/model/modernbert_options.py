"""ModernBERT options read from ``config.json`` (both the original and transformers 5 layouts).

Layers alternate between global attention and a sliding local window: the original configs
say ``global_attn_every_n_layers`` and ``global_rope_theta``/``local_rope_theta``; configs
saved by transformers 5 spell the same as ``layer_types`` and ``rope_parameters``. Rotary
scaling (``rope_type`` other than ``default``) is not implemented and is refused by name.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..errors import ModelLoadError, UnsupportedArchitecture

GLOBAL, LOCAL = "full_attention", "sliding_attention"


@dataclass(frozen=True)
class ModernBertOptions:
    global_layers: tuple[bool, ...]  # per layer: True = global attention, False = local window
    local_attention: int  # total local window; a token sees neighbours within half of it
    global_theta: float
    local_theta: float
    norm_bias: bool
    attention_bias: bool
    mlp_bias: bool
    classifier_bias: bool
    classifier_activation: str

    @property
    def half_window(self) -> int:
        return self.local_attention // 2


def _layer_types(config: dict[str, Any], layers: int) -> tuple[bool, ...]:
    types = config.get("layer_types")
    if types is None:
        every = int(config.get("global_attn_every_n_layers") or 3)
        return tuple(i % every == 0 for i in range(layers))
    if len(types) != layers or any(t not in (GLOBAL, LOCAL) for t in types):
        raise ModelLoadError(
            f"config.json layer_types must list {layers} of {GLOBAL!r}/{LOCAL!r}, got {types}"
        )
    return tuple(t == GLOBAL for t in types)


def _theta(config: dict[str, Any], kind: str, legacy_key: str, default: float) -> float:
    params = (config.get("rope_parameters") or {}).get(kind) or {}
    rope_type = params.get("rope_type", "default")
    scaling = config.get("rope_scaling")
    if rope_type != "default" or scaling:
        named = f"rope_type={rope_type}" if rope_type != "default" else f"rope_scaling={scaling}"
        raise UnsupportedArchitecture(
            f"ModernBERT option {named} "
            "(rotary scaling) is not implemented by nerve; this checkpoint is refused rather "
            "than run without it"
        )
    return float(params.get("rope_theta") or config.get(legacy_key) or default)


def modernbert_options(config: dict[str, Any], layers: int) -> ModernBertOptions:
    local = int(config.get("local_attention") or 128)
    if local < 2:
        raise ModelLoadError(f"config.json local_attention must be at least 2, got {local}")
    return ModernBertOptions(
        global_layers=_layer_types(config, layers),
        local_attention=local,
        global_theta=_theta(config, GLOBAL, "global_rope_theta", 160_000.0),
        local_theta=_theta(config, LOCAL, "local_rope_theta", 10_000.0),
        norm_bias=bool(config.get("norm_bias", False)),
        attention_bias=bool(config.get("attention_bias", False)),
        mlp_bias=bool(config.get("mlp_bias", False)),
        classifier_bias=bool(config.get("classifier_bias", False)),
        classifier_activation=str(config.get("classifier_activation", "gelu")),
    )
