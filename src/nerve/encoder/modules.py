"""nerve's own compact BERT-family token classifier (BERT, RoBERTa/XLM-R/CamemBERT, DistilBERT,
ELECTRA).

One implementation serves all families: they share the post-LayerNorm transformer layer and
differ only in embeddings (token types, position numbering) and weight names (see
``weights.py``). Q, K and V are one fused projection: a single GEMM per layer instead of three.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from ..errors import ModelLoadError
from ..model.spec import EncoderConfig

_ACTIVATIONS = {
    "gelu": lambda x: F.gelu(x),
    "gelu_new": lambda x: F.gelu(x, approximate="tanh"),
    "gelu_pytorch_tanh": lambda x: F.gelu(x, approximate="tanh"),
    "relu": F.relu,
}


def activation_fn(name: str):  # type: ignore[no-untyped-def]
    try:
        return _ACTIVATIONS[name]
    except KeyError:
        # A model error, not a bug: config.json names an activation nerve's encoders lack.
        raise ModelLoadError(
            f"config.json: unsupported activation {name!r}; nerve's encoders know "
            f"{', '.join(sorted(_ACTIVATIONS))}"
        ) from None


class Embeddings(nn.Module):
    def __init__(self, cfg: EncoderConfig) -> None:
        super().__init__()
        self.cfg = cfg
        width = cfg.embedding_width
        self.word = nn.Embedding(cfg.vocab_size, width)
        self.position = nn.Embedding(cfg.max_positions, width)
        self.token_type = nn.Embedding(cfg.type_vocab_size, width) if cfg.type_vocab_size else None
        self.norm = nn.LayerNorm(width, eps=cfg.layer_norm_eps)
        # ELECTRA with embedding_size != hidden_size projects the normed embeddings up.
        self.project = nn.Linear(width, cfg.hidden_size) if width != cfg.hidden_size else None

    def finish(self, x: torch.Tensor) -> torch.Tensor:
        """Summed embeddings → layer input: LayerNorm, then the projection where there is one."""
        x = self.norm(x)
        return x if self.project is None else self.project(x)

    def forward(
        self,
        input_ids: torch.Tensor,
        attention_mask: torch.Tensor,
        token_type_ids: torch.Tensor | None = None,
    ) -> torch.Tensor:
        # input_ids, attention_mask, token_type_ids: [batch, seq]
        if self.cfg.family == "roberta":
            # RoBERTa numbers tokens other than the pad token from pad_id + 1 and gives the
            # pad token the pad position, as transformers does (from the ids, not the mask: a
            # literal "<pad>" in the text is not counted either).
            real = input_ids.ne(self.cfg.pad_token_id).to(torch.long)
            positions = torch.cumsum(real, dim=1) * real + self.cfg.pad_token_id
        else:
            positions = torch.arange(input_ids.shape[1], device=input_ids.device).unsqueeze(0)
        x = self.word(input_ids) + self.position(positions)
        if self.token_type is not None:
            if token_type_ids is None:
                # nerve encodes single sequences: every token has type 0 (one row, no gather).
                x = x + self.token_type.weight[0]
            else:
                x = x + self.token_type(token_type_ids)
        return self.finish(x)


class Layer(nn.Module):
    def __init__(self, cfg: EncoderConfig, dropout: float = 0.0) -> None:
        super().__init__()
        h = cfg.hidden_size
        self.dropout = dropout
        self.num_heads = cfg.num_heads
        self.head_dim = h // cfg.num_heads
        self.qkv = nn.Linear(h, 3 * h)
        self.attn_out = nn.Linear(h, h)
        self.attn_norm = nn.LayerNorm(h, eps=cfg.layer_norm_eps)
        self.ffn_in = nn.Linear(h, cfg.intermediate_size)
        self.ffn_out = nn.Linear(cfg.intermediate_size, h)
        self.ffn_norm = nn.LayerNorm(h, eps=cfg.layer_norm_eps)
        self.act = activation_fn(cfg.activation)

    def forward(self, x: torch.Tensor, bias: torch.Tensor) -> torch.Tensor:
        # x: [batch, seq, hidden]; bias: [batch, 1, 1, seq] additive (0 or -inf-ish)
        b, s, h = x.shape
        qkv = self.qkv(x).view(b, s, 3, self.num_heads, self.head_dim).permute(2, 0, 3, 1, 4)
        # q, k, v: [batch, heads, seq, head_dim]
        p = self.dropout if self.training else 0.0
        ctx = F.scaled_dot_product_attention(qkv[0], qkv[1], qkv[2], attn_mask=bias, dropout_p=p)
        ctx = ctx.transpose(1, 2).reshape(b, s, h)
        # Dropout sits where BERT puts it: on each sub-layer's output, before the residual add.
        x = self.attn_norm(x + F.dropout(self.attn_out(ctx), p, self.training))
        ffn = self.ffn_out(self.act(self.ffn_in(x)))
        return self.ffn_norm(x + F.dropout(ffn, p, self.training))


class TokenClassifier(nn.Module):
    """Encoder + linear head: ``forward(ids, mask) -> logits [batch, seq, num_labels]``."""

    def __init__(self, cfg: EncoderConfig, dropout: float = 0.0) -> None:
        super().__init__()
        self.cfg = cfg
        self.embeddings = Embeddings(cfg)
        self.layers = nn.ModuleList(Layer(cfg, dropout) for _ in range(cfg.num_layers))
        # Dropout is used only by training; inference runs in eval() where it is a no-op.
        self.dropout = nn.Dropout(dropout)
        self.classifier = nn.Linear(cfg.hidden_size, cfg.num_labels)

    def forward(
        self,
        input_ids: torch.Tensor,
        attention_mask: torch.Tensor,
        token_type_ids: torch.Tensor | None = None,
    ) -> torch.Tensor:
        x = self.dropout(self.embeddings(input_ids, attention_mask, token_type_ids))
        bias = attention_bias(attention_mask, x.dtype)
        for layer in self.layers:
            x = layer(x, bias)
        return self.classifier(self.dropout(x))


def attention_bias(attention_mask: torch.Tensor, dtype: torch.dtype) -> torch.Tensor:
    """[batch, seq] 1/0 mask → [batch, 1, 1, seq] additive bias (finite: no NaN on empty rows)."""
    neg = torch.finfo(dtype).min if dtype.is_floating_point else -math.inf
    keep = attention_mask[:, None, None, :].to(torch.bool)
    zero = torch.zeros((), dtype=dtype, device=attention_mask.device)
    return torch.where(keep, zero, torch.full((), neg, dtype=dtype, device=attention_mask.device))
