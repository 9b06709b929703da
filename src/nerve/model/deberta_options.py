"""DeBERTa-v2/v3 options read from ``config.json``, with the variants nerve refuses named.

nerve implements disentangled attention (content→position ``c2p`` and position→content
``p2c``) over relative positions, with or without log buckets (``position_buckets``), shared
or separate position projections (``share_att_key``), a LayerNorm on the relative embeddings
(``norm_rel_ebd``), optional absolute positions (``position_biased_input``) and an embedding
projection (``embedding_size``). The convolution branch of the v2 xlarge models
(``conv_kernel_size``) is not implemented: such a checkpoint is refused, never run without it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..errors import UnsupportedArchitecture

POS_ATT_TYPES = ("c2p", "p2c")
NORM_REL_EBD = ("none", "layer_norm")


@dataclass(frozen=True)
class DebertaOptions:
    relative_attention: bool
    position_biased_input: bool
    position_buckets: int  # > 0: log-bucketed relative positions; <= 0: plain distances
    max_relative_positions: int  # already resolved (-1 in config → max_position_embeddings)
    share_att_key: bool  # position projections reuse the content query/key projections
    pos_att_type: tuple[str, ...]  # a subset of POS_ATT_TYPES
    norm_rel_ebd: bool  # LayerNorm over the relative embedding table
    embedding_size: int

    @property
    def att_span(self) -> int:
        """Half the number of relative-embedding rows a layer uses (k in the paper)."""
        return self.position_buckets if self.position_buckets > 0 else self.max_relative_positions

    @property
    def scale_factor(self) -> int:
        """Scores are divided by sqrt(head_size * (1 + number of position terms))."""
        return 1 + len(self.pos_att_type)


def _split(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return [x.strip() for x in value.lower().split("|") if x.strip()]
    return [str(x).strip().lower() for x in value]


def deberta_options(config: dict[str, Any], hidden: int, max_pos: int) -> DebertaOptions:
    def refuse(option: str, detail: str) -> UnsupportedArchitecture:
        return UnsupportedArchitecture(
            f"DeBERTa option {option} {detail} is not implemented by nerve; "
            "this checkpoint is refused rather than run without it"
        )

    if int(config.get("conv_kernel_size") or 0) > 0:
        raise refuse(f"conv_kernel_size={config['conv_kernel_size']}", "(the ConvLayer branch)")
    pos_att = _split(config.get("pos_att_type"))
    unknown = [p for p in pos_att if p not in POS_ATT_TYPES]
    if unknown:
        raise refuse(f"pos_att_type={unknown}", f"(nerve implements {', '.join(POS_ATT_TYPES)})")
    norm = _split(config.get("norm_rel_ebd", "none")) or ["none"]
    if any(n not in NORM_REL_EBD for n in norm):
        raise refuse(
            f"norm_rel_ebd={config.get('norm_rel_ebd')!r}", "(nerve knows none, layer_norm)"
        )
    head_size = config.get("attention_head_size")
    if (
        head_size is not None
        and int(head_size) * int(config.get("num_attention_heads") or 0) != hidden
    ):
        raise refuse(f"attention_head_size={head_size}", "(heads × head size ≠ hidden size)")
    max_rel = int(config.get("max_relative_positions") or -1)
    return DebertaOptions(
        relative_attention=bool(config.get("relative_attention", False)),
        position_biased_input=bool(config.get("position_biased_input", True)),
        position_buckets=int(config.get("position_buckets") or -1),
        max_relative_positions=max_rel if max_rel >= 1 else max_pos,
        share_att_key=bool(config.get("share_att_key", False)),
        pos_att_type=tuple(p for p in POS_ATT_TYPES if p in pos_att),
        norm_rel_ebd="layer_norm" in norm,
        embedding_size=int(config.get("embedding_size") or hidden),
    )
