"""An export-only view of nerve's ``TokenClassifier`` that traces into ORT-fusable ONNX.

nerve's inference module fuses Q/K/V into one GEMM and calls ``scaled_dot_product_attention``.
Traced to ONNX that becomes a Split + an SDPA decomposition (scale applied as sqrt on both Q
and K) that ONNX Runtime's transformer optimizer does not recognise, so no Attention fusion
and, later, no QAttention under int8. This module computes exactly the same function in the
textbook BERT formulation the fusions were written for:

* embeddings: ``Gather(word) + Gather(position) [+ Gather(type)] -> LayerNormalization`` with
  positions sliced from a constant ``[1, max_positions]`` row (EmbedLayerNormalization);
* attention: three MatMul+Add projections, ``softmax(QK^T / sqrt(d) + mask) V`` with the
  additive mask ``(1 - mask) * finfo.min`` (Attention);
* ``x + sublayer(x) -> LayerNormalization`` (SkipLayerNormalization), GELU as erf (BiasGelu).

It shares the parameters of the wrapped module except Q/K/V, which are copied out of the
fused projection, so it must be rebuilt if the source module changes.
"""

from __future__ import annotations

import math
from typing import cast

import torch
from torch import nn

from ..encoder.modules import Layer, TokenClassifier, activation_fn
from ..model.spec import EncoderConfig


class _ExportEmbeddings(nn.Module):
    def __init__(self, source: TokenClassifier, with_token_types: bool) -> None:
        super().__init__()
        emb = source.embeddings
        self.cfg: EncoderConfig = source.cfg
        self.word = emb.word
        self.position = emb.position
        self.token_type = emb.token_type
        self.norm = emb.norm
        self.project = emb.project
        self.with_token_types = with_token_types
        # A constant row sliced to the sequence length: the position pattern ORT's
        # EmbedLayerNormalization fusion matches for BERT (and accepts for DistilBERT).
        self.position_ids: torch.Tensor
        self.register_buffer(
            "position_ids", torch.arange(self.cfg.max_positions).unsqueeze(0), persistent=False
        )

    def forward(
        self,
        input_ids: torch.Tensor,
        attention_mask: torch.Tensor,
        token_type_ids: torch.Tensor | None,
    ) -> torch.Tensor:
        if self.cfg.family == "roberta":
            # Same numbering as Embeddings.forward (and transformers): tokens other than the
            # pad token from pad_id + 1, the pad token at pad_id, read from the ids.
            real = input_ids.ne(self.cfg.pad_token_id).to(torch.long)
            positions = torch.cumsum(real, dim=1) * real + self.cfg.pad_token_id
        else:
            positions = self.position_ids[:, : input_ids.shape[1]]
        x = self.word(input_ids) + self.position(positions)
        if self.token_type is not None:
            if self.with_token_types and token_type_ids is not None:
                x = x + self.token_type(token_type_ids)
            else:
                x = x + self.token_type.weight[0]
        x = self.norm(x)
        return x if self.project is None else self.project(x)


class _ExportLayer(nn.Module):
    def __init__(self, layer: Layer, cfg: EncoderConfig) -> None:
        super().__init__()
        h = cfg.hidden_size
        self.num_heads = layer.num_heads
        self.head_dim = layer.head_dim
        self.query, self.key, self.value = (nn.Linear(h, h) for _ in range(3))
        with torch.no_grad():
            # nerve's fused projection stacks the rows of Q, K and V in that order.
            for proj, w, b in zip(
                (self.query, self.key, self.value),
                layer.qkv.weight.chunk(3, dim=0),
                layer.qkv.bias.chunk(3, dim=0),
                strict=True,
            ):
                proj.weight.copy_(w)
                proj.bias.copy_(b)
        self.attn_out = layer.attn_out
        self.attn_norm = layer.attn_norm
        self.ffn_in = layer.ffn_in
        self.ffn_out = layer.ffn_out
        self.ffn_norm = layer.ffn_norm
        self.act = activation_fn(cfg.activation)

    def _heads(self, t: torch.Tensor) -> torch.Tensor:
        # [batch, seq, hidden] -> [batch, heads, seq, head_dim]
        shape = t.size()[:-1] + (self.num_heads, self.head_dim)
        return t.view(shape).permute(0, 2, 1, 3)

    def forward(self, x: torch.Tensor, bias: torch.Tensor) -> torch.Tensor:
        q = self._heads(self.query(x))
        k = self._heads(self.key(x))
        v = self._heads(self.value(x))
        scores = torch.matmul(q, k.transpose(-1, -2)) / math.sqrt(self.head_dim)
        probs = torch.softmax(scores + bias, dim=-1)
        ctx = torch.matmul(probs, v).permute(0, 2, 1, 3).contiguous()
        ctx = ctx.view(ctx.size()[:-2] + (self.num_heads * self.head_dim,))
        x = self.attn_norm(x + self.attn_out(ctx))
        return self.ffn_norm(x + self.ffn_out(self.act(self.ffn_in(x))))


class ExportClassifier(nn.Module):
    """``forward(input_ids, attention_mask[, token_type_ids]) -> logits``, trace-friendly."""

    def __init__(self, source: TokenClassifier, *, with_token_types: bool) -> None:
        super().__init__()
        self.embeddings = _ExportEmbeddings(source, with_token_types)
        self.layers = nn.ModuleList(
            _ExportLayer(cast(Layer, layer), source.cfg) for layer in source.layers
        )
        self.classifier = source.classifier
        self.eval()

    def forward(
        self,
        input_ids: torch.Tensor,
        attention_mask: torch.Tensor,
        token_type_ids: torch.Tensor | None = None,
    ) -> torch.Tensor:
        x = self.embeddings(input_ids, attention_mask, token_type_ids)
        # (1 - mask) * min: 0 for kept keys, a huge negative for padding. Numerically the same
        # softmax as nerve's where()-built bias, in the Sub/Mul form the Attention fusion reads.
        keep = attention_mask[:, None, None, :].to(x.dtype)
        bias = (1.0 - keep) * torch.finfo(x.dtype).min
        for layer in self.layers:
            x = layer(x, bias)
        return self.classifier(x)
