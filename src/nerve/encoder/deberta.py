"""nerve's own DeBERTa-v2/v3 token classifier: disentangled attention over relative positions.

Each layer adds to the content scores ``QKᵀ`` two position terms computed against a table of
relative-position embeddings: content→position (``c2p``: each query against the embedding of
its distance to each key) and position→content (``p2c``: each key against the embedding of
the query's distance). Distances beyond ``position_buckets / 2`` are log-bucketed. Both terms
are one matrix product against the (small) table and a gather, then they enter attention as an
additive bias, so the softmax and the weighted sum run in ``scaled_dot_product_attention``.

There is no packed (unpadded) path: the position terms form a dense ``[query, key]`` bias per
head, which the varlen flash kernels cannot take, and materialising it per packed sequence is
the padded computation again. On CUDA DeBERTa runs padded batches (SDPA's memory-efficient
kernel accepts the bias).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from ..errors import ModelLoadError
from ..model.deberta_options import DebertaOptions
from ..model.spec import EncoderConfig
from .modules import activation_fn

# (c2p index, p2c index), each [s, s]: row = query (c2p) or key (p2c), value = table row.
RelativeIndex = tuple[torch.Tensor, torch.Tensor]


def options_of(cfg: EncoderConfig) -> DebertaOptions:
    assert isinstance(cfg.variant, DebertaOptions), "a DeBERTa config carries DebertaOptions"
    return cfg.variant


def log_bucket(relative: torch.Tensor, buckets: int, max_position: int) -> torch.Tensor:
    """DeBERTa's bucketing: distances below ``buckets // 2`` kept, longer ones log-scaled.

    Written as the same float32 operations as the reference (``ceil`` of a log ratio), so
    that the bucket boundaries fall on exactly the same distances.
    """
    sign = torch.sign(relative)
    mid = buckets // 2
    near = (relative < mid) & (relative > -mid)
    magnitude = torch.where(near, torch.tensor(mid - 1).type_as(relative), torch.abs(relative))
    log_ratio = torch.log(magnitude / mid) / torch.log(torch.tensor((max_position - 1) / mid))
    log_pos = torch.ceil(log_ratio * (mid - 1)) + mid
    return torch.where(magnitude <= mid, relative.type_as(log_pos), log_pos * sign).long()


def relative_positions(length: int, opts: DebertaOptions, device: torch.device) -> torch.Tensor:
    """[length, length] (bucketed) distance ``query - key``."""
    ids = torch.arange(length, dtype=torch.long, device=device)
    rel = ids[:, None] - ids[None, :]
    if opts.position_buckets > 0 and opts.max_relative_positions > 0:
        rel = log_bucket(rel, opts.position_buckets, opts.max_relative_positions)
    return rel


def _activation(name: str):  # type: ignore[no-untyped-def]
    try:
        return activation_fn(name)
    except ValueError as exc:
        raise ModelLoadError(f"config.json: {exc}") from None


class DebertaEmbeddings(nn.Module):
    def __init__(self, cfg: EncoderConfig) -> None:
        super().__init__()
        opts = options_of(cfg)
        size = opts.embedding_size
        self.word = nn.Embedding(cfg.vocab_size, size)
        self.position = (
            nn.Embedding(cfg.max_positions, size) if opts.position_biased_input else None
        )
        self.token_type = nn.Embedding(cfg.type_vocab_size, size) if cfg.type_vocab_size else None
        self.proj = (
            nn.Linear(size, cfg.hidden_size, bias=False) if size != cfg.hidden_size else None
        )
        self.norm = nn.LayerNorm(cfg.hidden_size, eps=cfg.layer_norm_eps)

    def forward(self, input_ids: torch.Tensor, positions: torch.Tensor) -> torch.Tensor:
        # input_ids: [..., seq]; positions: broadcastable to input_ids
        x = self.word(input_ids)
        if self.position is not None:
            x = x + self.position(positions)
        if self.token_type is not None:
            x = x + self.token_type.weight[0]  # single sequences: every token has type 0
        if self.proj is not None:
            x = self.proj(x)
        return self.norm(x)


class DebertaLayer(nn.Module):
    def __init__(self, cfg: EncoderConfig, dropout: float = 0.0) -> None:
        super().__init__()
        opts = options_of(cfg)
        h = cfg.hidden_size
        self.opts = opts
        self.dropout = dropout
        self.num_heads = cfg.num_heads
        self.head_dim = h // cfg.num_heads
        self.scale = math.sqrt(self.head_dim * opts.scale_factor)
        self.qkv = nn.Linear(h, 3 * h)
        separate = opts.relative_attention and not opts.share_att_key
        self.pos_key = nn.Linear(h, h) if separate and "c2p" in opts.pos_att_type else None
        self.pos_query = nn.Linear(h, h) if separate and "p2c" in opts.pos_att_type else None
        self.attn_out = nn.Linear(h, h)
        self.attn_norm = nn.LayerNorm(h, eps=cfg.layer_norm_eps)
        self.ffn_in = nn.Linear(h, cfg.intermediate_size)
        self.ffn_out = nn.Linear(cfg.intermediate_size, h)
        self.ffn_norm = nn.LayerNorm(h, eps=cfg.layer_norm_eps)
        self.act = _activation(cfg.activation)

    def _heads(self, t: torch.Tensor) -> torch.Tensor:
        # [..., rows, hidden] -> [..., heads, rows, head_dim]
        t = t.unflatten(-1, (self.num_heads, self.head_dim))
        return t.transpose(-3, -2)

    def _position_projections(
        self, rel: torch.Tensor
    ) -> tuple[torch.Tensor | None, torch.Tensor | None]:
        """The relative table projected as keys (for c2p) and queries (for p2c)."""
        h = rel.shape[-1]
        if self.opts.share_att_key:
            w, b = self.qkv.weight, self.qkv.bias
            pos_q = F.linear(rel, w[:h], b[:h]) if "p2c" in self.opts.pos_att_type else None
            pos_k = (
                F.linear(rel, w[h : 2 * h], b[h : 2 * h])
                if "c2p" in self.opts.pos_att_type
                else None
            )
            return pos_k, pos_q
        pos_k = self.pos_key(rel) if self.pos_key is not None else None
        pos_q = self.pos_query(rel) if self.pos_query is not None else None
        return pos_k, pos_q

    def position_bias(
        self, q: torch.Tensor, k: torch.Tensor, rel: torch.Tensor, index: RelativeIndex
    ) -> torch.Tensor:
        """q, k: [b, H, s, d]; rel: [2·span, hidden] → [b, H, s, s] additive scores
        (c2p + p2c), already divided by the scale."""
        pos_k, pos_q = self._position_projections(rel)
        c2p_index, p2c_index = index
        shape = q.shape[:2] + c2p_index.shape
        score = torch.zeros((), dtype=q.dtype, device=q.device)
        if pos_k is not None:
            c2p = torch.matmul(q, self._heads(pos_k).transpose(-1, -2))  # [b, H, s, 2span]
            score = score + torch.gather(c2p, -1, c2p_index.expand(shape)) / self.scale
        if pos_q is not None:
            # Rows are keys here: gather by the key→query distance, then transpose back.
            p2c = torch.matmul(k, self._heads(pos_q).transpose(-1, -2))  # [b, H, s(key), 2span]
            p2c = torch.gather(p2c, -1, p2c_index.expand(shape)).transpose(-1, -2)
            score = score + p2c / self.scale
        return score

    def forward(
        self,
        x: torch.Tensor,
        keep: torch.Tensor,
        rel: torch.Tensor | None,
        index: RelativeIndex | None,
    ) -> torch.Tensor:
        # x: [b, s, hidden]; keep: [b, 1, 1, s] bool, False for padding keys
        b, s, h = x.shape
        qkv = self.qkv(x).view(b, s, 3, self.num_heads, self.head_dim).permute(2, 0, 3, 1, 4)
        q, k, v = qkv[0], qkv[1], qkv[2]
        lowest = torch.finfo(x.dtype).min
        if rel is not None and index is not None:
            # Padding keys get exactly the lowest value (as the reference's masked_fill): adding
            # it to the position scores could overflow to -inf in float16.
            bias = self.position_bias(q, k, rel, index).masked_fill(~keep, lowest)
        else:
            bias = torch.zeros((), dtype=x.dtype, device=x.device).masked_fill(~keep, lowest)
        p = self.dropout if self.training else 0.0
        ctx = F.scaled_dot_product_attention(
            q, k, v, attn_mask=bias, dropout_p=p, scale=1 / self.scale
        )
        ctx = ctx.transpose(1, 2).reshape(b, s, h)
        x = self.attn_norm(x + F.dropout(self.attn_out(ctx), p, self.training))
        ffn = self.ffn_out(self.act(self.ffn_in(x)))
        return self.ffn_norm(x + F.dropout(ffn, p, self.training))


class DebertaClassifier(nn.Module):
    """DeBERTa-v2/v3 encoder + linear head: ``forward(ids, mask) -> logits``."""

    supports_packed = False  # see the module docstring

    def __init__(self, cfg: EncoderConfig, dropout: float = 0.0) -> None:
        super().__init__()
        self.cfg = cfg
        self.opts = options_of(cfg)
        self.embeddings = DebertaEmbeddings(cfg)
        self.layers = nn.ModuleList(DebertaLayer(cfg, dropout) for _ in range(cfg.num_layers))
        if self.opts.relative_attention:
            self.rel_embeddings: nn.Embedding | None = nn.Embedding(
                2 * self.opts.att_span, cfg.hidden_size
            )
            self.rel_norm = (
                nn.LayerNorm(cfg.hidden_size, eps=cfg.layer_norm_eps)
                if self.opts.norm_rel_ebd
                else None
            )
        else:
            self.rel_embeddings, self.rel_norm = None, None
        self.dropout = nn.Dropout(dropout)
        self.classifier = nn.Linear(cfg.hidden_size, cfg.num_labels)

    def _relative(
        self, length: int, device: torch.device
    ) -> tuple[torch.Tensor, RelativeIndex] | tuple[None, None]:
        """The (normalised) relative table and the gather indexes, shared by all layers."""
        if self.rel_embeddings is None:
            return None, None
        rel = self.rel_embeddings.weight
        if self.rel_norm is not None:
            rel = self.rel_norm(rel)
        span = self.opts.att_span
        delta = relative_positions(length, self.opts, device)
        c2p = torch.clamp(delta + span, 0, 2 * span - 1)
        p2c = torch.clamp(span - delta, 0, 2 * span - 1)
        return rel, (c2p, p2c)

    def forward(
        self,
        input_ids: torch.Tensor,
        attention_mask: torch.Tensor,
        token_type_ids: torch.Tensor | None = None,
    ) -> torch.Tensor:
        # token_type_ids is accepted for the common signature; single sequences are all type 0.
        s = input_ids.shape[1]
        positions = torch.arange(s, device=input_ids.device).unsqueeze(0)
        x = self.dropout(self.embeddings(input_ids, positions))
        keep = attention_mask[:, None, None, :].to(torch.bool)
        rel, index = self._relative(s, input_ids.device)
        for layer in self.layers:
            x = layer(x, keep, rel, index)
        return self.classifier(self.dropout(x))


def name_map(cfg: EncoderConfig) -> dict[str, str | tuple[str, ...]]:
    """Every nerve parameter name → the HF ``DebertaV2ForTokenClassification`` name(s)."""
    opts = options_of(cfg)
    mapping: dict[str, str | tuple[str, ...]] = {
        "embeddings.word.weight": "deberta.embeddings.word_embeddings.weight",
        "embeddings.norm.weight": "deberta.embeddings.LayerNorm.weight",
        "embeddings.norm.bias": "deberta.embeddings.LayerNorm.bias",
        "classifier.weight": "classifier.weight",
        "classifier.bias": "classifier.bias",
    }
    if opts.position_biased_input:
        mapping["embeddings.position.weight"] = "deberta.embeddings.position_embeddings.weight"
    if cfg.type_vocab_size:
        mapping["embeddings.token_type.weight"] = "deberta.embeddings.token_type_embeddings.weight"
    if opts.embedding_size != cfg.hidden_size:
        mapping["embeddings.proj.weight"] = "deberta.embeddings.embed_proj.weight"
    if opts.relative_attention:
        mapping["rel_embeddings.weight"] = "deberta.encoder.rel_embeddings.weight"
        if opts.norm_rel_ebd:
            mapping["rel_norm.weight"] = "deberta.encoder.LayerNorm.weight"
            mapping["rel_norm.bias"] = "deberta.encoder.LayerNorm.bias"
    for i in range(cfg.num_layers):
        p = f"deberta.encoder.layer.{i}."
        parts: dict[str, str | tuple[str, ...]] = {
            "qkv": tuple(p + f"attention.self.{n}_proj" for n in ("query", "key", "value")),
            "attn_out": p + "attention.output.dense",
            "attn_norm": p + "attention.output.LayerNorm",
            "ffn_in": p + "intermediate.dense",
            "ffn_out": p + "output.dense",
            "ffn_norm": p + "output.LayerNorm",
        }
        if opts.relative_attention and not opts.share_att_key:
            if "c2p" in opts.pos_att_type:
                parts["pos_key"] = p + "attention.self.pos_key_proj"
            if "p2c" in opts.pos_att_type:
                parts["pos_query"] = p + "attention.self.pos_query_proj"
        for ours, theirs in parts.items():
            for sfx in ("weight", "bias"):
                if isinstance(theirs, tuple):
                    mapping[f"layers.{i}.{ours}.{sfx}"] = tuple(f"{t}.{sfx}" for t in theirs)
                else:
                    mapping[f"layers.{i}.{ours}.{sfx}"] = f"{theirs}.{sfx}"
    return mapping
