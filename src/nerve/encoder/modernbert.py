"""nerve's own ModernBERT token classifier: pre-norm layers, rotary positions, GeGLU, and
attention that alternates between global layers and a sliding local window.

* no position table: queries and keys are rotated by their position (rotary), with one
  base (theta) for global layers and another for local ones;
* pre-norm without biases (by default): ``x + attn(norm(x))``, ``x + mlp(norm(x))``, the first
  layer's attention norm is the identity (the embeddings are normed already);
* GeGLU MLP: ``Wo(gelu(a) * g)`` with ``[a, g] = Wi(x)``;
* local layers see keys within ``local_attention // 2`` positions on either side;
* head: ``final_norm`` → ``dense → act → norm`` → classifier.

The packed (unpadded) path runs every position-wise part on ``[total_tokens, hidden]`` with
per-sequence rotary positions; attention uses the flash varlen kernel on CUDA fp16/bf16
(with a symmetric window for local layers) and an exact padded fallback elsewhere.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ..errors import ModelLoadError
from ..model.modernbert_options import ModernBertOptions
from ..model.spec import EncoderConfig
from .modules import activation_fn, attention_bias
from .packed import _flash_ok, _seq_index


def options_of(cfg: EncoderConfig) -> ModernBertOptions:
    assert isinstance(cfg.variant, ModernBertOptions), "a ModernBERT config carries its options"
    return cfg.variant


def _activation(name: str):  # type: ignore[no-untyped-def]
    try:
        return activation_fn(name)
    except ValueError as exc:
        raise ModelLoadError(f"config.json: {exc}") from None


def _norm(cfg: EncoderConfig) -> nn.LayerNorm:
    return nn.LayerNorm(cfg.hidden_size, eps=cfg.layer_norm_eps, bias=options_of(cfg).norm_bias)


def rotary_tables(
    positions: torch.Tensor, theta: float, head_dim: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """cos, sin for ``positions`` (any shape) → shape + [head_dim], in float32."""
    inv_freq = 1.0 / (theta ** (torch.arange(0, head_dim, 2, dtype=torch.float) / head_dim))
    freqs = positions[..., None].float() * inv_freq.to(positions.device)
    emb = torch.cat((freqs, freqs), dim=-1)
    return emb.cos(), emb.sin()


def rotate(x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor) -> torch.Tensor:
    """Rotary embedding in float32 (as the reference computes it), back in x's dtype."""
    xf = x.float()
    half = xf.shape[-1] // 2
    rotated = torch.cat((-xf[..., half:], xf[..., :half]), dim=-1)
    return (xf * cos + rotated * sin).to(x.dtype)


class ModernBertLayer(nn.Module):
    def __init__(self, cfg: EncoderConfig, index: int) -> None:
        super().__init__()
        opts = options_of(cfg)
        h = cfg.hidden_size
        self.num_heads = cfg.num_heads
        self.head_dim = h // cfg.num_heads
        self.is_global = opts.global_layers[index]
        # Local layers: keys within this many positions on either side (None: global).
        self.window: int | None = None if self.is_global else opts.half_window
        self.attn_norm: nn.Module = nn.Identity() if index == 0 else _norm(cfg)
        self.qkv = nn.Linear(h, 3 * h, bias=opts.attention_bias)
        self.attn_out = nn.Linear(h, h, bias=opts.attention_bias)
        self.mlp_norm = _norm(cfg)
        self.mlp_in = nn.Linear(h, 2 * cfg.intermediate_size, bias=opts.mlp_bias)
        self.mlp_out = nn.Linear(cfg.intermediate_size, h, bias=opts.mlp_bias)
        self.act = _activation(cfg.activation)

    def mlp(self, x: torch.Tensor) -> torch.Tensor:
        value, gate = self.mlp_in(self.mlp_norm(x)).chunk(2, dim=-1)
        return self.mlp_out(self.act(value) * gate)

    def forward(
        self, x: torch.Tensor, bias: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor
    ) -> torch.Tensor:
        # x: [b, s, hidden]; bias: [b, 1, s or 1, s]; cos, sin: [1, 1, s, head_dim]
        b, s, h = x.shape
        qkv = self.qkv(self.attn_norm(x)).view(b, s, 3, self.num_heads, self.head_dim)
        q, k, v = qkv.permute(2, 0, 3, 1, 4)  # each [b, H, s, d]
        q, k = rotate(q, cos, sin), rotate(k, cos, sin)
        ctx = F.scaled_dot_product_attention(q, k, v, attn_mask=bias)
        x = x + self.attn_out(ctx.transpose(1, 2).reshape(b, s, h))
        return x + self.mlp(x)


class ModernBertClassifier(nn.Module):
    """ModernBERT encoder + prediction head + linear classifier."""

    supports_packed = True

    def __init__(self, cfg: EncoderConfig, dropout: float = 0.0) -> None:
        super().__init__()
        opts = options_of(cfg)
        self.cfg = cfg
        self.opts = opts
        self.head_dim = cfg.hidden_size // cfg.num_heads
        self.word = nn.Embedding(cfg.vocab_size, cfg.hidden_size)
        self.embed_norm = _norm(cfg)
        self.layers = nn.ModuleList(ModernBertLayer(cfg, i) for i in range(cfg.num_layers))
        self.final_norm = _norm(cfg)
        self.head_dense = nn.Linear(cfg.hidden_size, cfg.hidden_size, bias=opts.classifier_bias)
        self.head_act = _activation(opts.classifier_activation)
        self.head_norm = _norm(cfg)
        self.dropout = nn.Dropout(dropout)
        self.classifier = nn.Linear(cfg.hidden_size, cfg.num_labels)

    def _head(self, x: torch.Tensor) -> torch.Tensor:
        x = self.head_norm(self.head_act(self.head_dense(self.final_norm(x))))
        return self.classifier(self.dropout(x))

    def forward(
        self,
        input_ids: torch.Tensor,
        attention_mask: torch.Tensor,
        token_type_ids: torch.Tensor | None = None,
    ) -> torch.Tensor:
        s = input_ids.shape[1]
        positions = torch.arange(s, device=input_ids.device)
        x = self.dropout(self.embed_norm(self.word(input_ids)))
        padding = attention_bias(attention_mask, x.dtype)  # [b, 1, 1, s]
        distance = (positions[:, None] - positions[None, :]).abs()
        local = padding.masked_fill(distance > self.opts.half_window, torch.finfo(x.dtype).min)
        tables = {
            True: rotary_tables(positions, self.opts.global_theta, self.head_dim),
            False: rotary_tables(positions, self.opts.local_theta, self.head_dim),
        }
        for layer in self.layers:
            is_global = bool(layer.is_global)
            cos, sin = tables[is_global]
            x = layer(x, padding if is_global else local, cos, sin)
        return self._head(x)

    def forward_packed(
        self,
        ids: torch.Tensor,
        cu: torch.Tensor,
        max_len: int,
        index: tuple[torch.Tensor, torch.Tensor] | None = None,
    ) -> torch.Tensor:
        """ids: [T] packed token ids; cu: [n + 1] int32 cumulative lengths → logits [T, labels].
        ``index``: each token's (sequence, position) when the caller has them (as in
        ``nerve.encoder.packed.forward_packed``)."""
        seq, pos = index if index is not None else _seq_index(cu, ids.numel())
        x = self.embed_norm(self.word(ids))
        tables = {
            True: rotary_tables(pos, self.opts.global_theta, self.head_dim),
            False: rotary_tables(pos, self.opts.local_theta, self.head_dim),
        }
        for layer in self.layers:
            assert isinstance(layer, ModernBertLayer)
            x = _layer_packed(layer, x, tables[layer.is_global], cu, max_len, seq, pos)
        return self._head(x)


def _layer_packed(
    layer: ModernBertLayer,
    x: torch.Tensor,
    table: tuple[torch.Tensor, torch.Tensor],
    cu: torch.Tensor,
    max_len: int,
    seq: torch.Tensor,
    pos: torch.Tensor,
) -> torch.Tensor:
    t, h = x.shape
    qkv = layer.qkv(layer.attn_norm(x)).view(t, 3, layer.num_heads, layer.head_dim)
    cos, sin = (part[:, None, :] for part in table)  # [T, 1, d]: broadcast over heads
    q, k = rotate(qkv[:, 0], cos, sin), rotate(qkv[:, 1], cos, sin)
    ctx = windowed_varlen_attention(q, k, qkv[:, 2], cu, max_len, seq, pos, layer.window)
    x = x + layer.attn_out(ctx.reshape(t, h))
    return x + layer.mlp(x)


def windowed_varlen_attention(
    q: torch.Tensor,
    k: torch.Tensor,
    v: torch.Tensor,
    cu: torch.Tensor,
    max_len: int,
    seq: torch.Tensor,
    pos: torch.Tensor,
    window: int | None,
) -> torch.Tensor:
    """q, k, v: [T, H, d] → [T, H, d]; attention within each sequence, and within ``window``
    positions on either side when given (a local layer)."""
    if _flash_ok(q):
        side = -1 if window is None else window
        out = torch.ops.aten._flash_attention_forward(
            q, k, v, cu, cu, max_len, max_len, 0.0, False, False,
            window_size_left=side, window_size_right=side,
        )  # fmt: skip
        return out[0]  # type: ignore[no-any-return]
    n_seqs = cu.numel() - 1
    heads, dim = q.shape[1], q.shape[2]
    block = q.new_zeros((3, n_seqs, max_len, heads, dim))
    block[0, seq, pos], block[1, seq, pos], block[2, seq, pos] = q, k, v
    mask = torch.zeros((n_seqs, max_len), dtype=torch.long, device=q.device)
    mask[seq, pos] = 1
    bias = attention_bias(mask, q.dtype)
    if window is not None:
        ar = torch.arange(max_len, device=q.device)
        far = (ar[:, None] - ar[None, :]).abs() > window
        bias = bias.masked_fill(far, torch.finfo(q.dtype).min)
    qb, kb, vb = block.transpose(2, 3)
    ctx = F.scaled_dot_product_attention(qb, kb, vb, attn_mask=bias)
    return ctx.transpose(1, 2)[seq, pos]


def name_map(cfg: EncoderConfig) -> dict[str, str | tuple[str, ...]]:
    """Every nerve parameter name → the HF ``ModernBertForTokenClassification`` name."""
    opts = options_of(cfg)
    mapping: dict[str, str | tuple[str, ...]] = {
        "word.weight": "model.embeddings.tok_embeddings.weight",
        "head_dense.weight": "head.dense.weight",
        "classifier.weight": "classifier.weight",
        "classifier.bias": "classifier.bias",
    }
    norms = {
        "embed_norm": "model.embeddings.norm",
        "final_norm": "model.final_norm",
        "head_norm": "head.norm",
    }
    linears: dict[str, tuple[str, bool]] = {}
    if opts.classifier_bias:
        mapping["head_dense.bias"] = "head.dense.bias"
    for i in range(cfg.num_layers):
        p = f"model.layers.{i}."
        if i:
            norms[f"layers.{i}.attn_norm"] = p + "attn_norm"
        norms[f"layers.{i}.mlp_norm"] = p + "mlp_norm"
        linears[f"layers.{i}.qkv"] = (p + "attn.Wqkv", opts.attention_bias)
        linears[f"layers.{i}.attn_out"] = (p + "attn.Wo", opts.attention_bias)
        linears[f"layers.{i}.mlp_in"] = (p + "mlp.Wi", opts.mlp_bias)
        linears[f"layers.{i}.mlp_out"] = (p + "mlp.Wo", opts.mlp_bias)
    for ours, theirs in norms.items():
        mapping[f"{ours}.weight"] = f"{theirs}.weight"
        if opts.norm_bias:
            mapping[f"{ours}.bias"] = f"{theirs}.bias"
    for ours, (theirs, has_bias) in linears.items():
        mapping[f"{ours}.weight"] = f"{theirs}.weight"
        if has_bias:
            mapping[f"{ours}.bias"] = f"{theirs}.bias"
    return mapping
