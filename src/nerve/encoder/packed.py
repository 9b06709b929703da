"""Packed (unpadded) forward: many sequences laid end to end, no padding tokens computed.

Every position-wise part of the encoder (embeddings, projections, FFN, LayerNorm, head) runs
on ``[total_tokens, hidden]``; only attention needs sequence boundaries, given as cumulative
lengths ``cu_seqlens`` (``[n_seqs + 1]``, int32, starting at 0) as varlen kernels expect.

On CUDA in fp16/bf16 attention uses PyTorch's flash-attention varlen kernel
(``aten._flash_attention_forward`` with cumulative lengths); elsewhere it scatters into a
padded block for attention alone, which keeps CPU tests exact (packed == padded).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from .modules import Layer, TokenClassifier, attention_bias


def cu_seqlens_of(lengths: list[int], device: torch.device) -> torch.Tensor:
    cu = torch.zeros(len(lengths) + 1, dtype=torch.int32)
    cu[1:] = torch.cumsum(torch.tensor(lengths, dtype=torch.int32), 0)
    return cu.to(device)


def _seq_index(cu: torch.Tensor, total: int) -> tuple[torch.Tensor, torch.Tensor]:
    """For each packed token: (sequence number, position inside its sequence), both [T]."""
    lengths = (cu[1:] - cu[:-1]).long()
    seq = torch.repeat_interleave(torch.arange(len(lengths), device=cu.device), lengths)
    pos = torch.arange(total, device=cu.device) - cu[:-1].long()[seq]
    return seq, pos


def _roberta_positions(
    ids: torch.Tensor, cu: torch.Tensor, seq: torch.Tensor, pad: int
) -> torch.Tensor:
    """RoBERTa's positions, as the padded path numbers them: within each sequence, the
    tokens other than the pad token count from pad + 1, a pad token (a literal "<pad>" in the
    text) takes the pad position. Fixed shapes only: a CUDA graph can replay it."""
    real = ids.ne(pad).to(torch.long)  # [T]
    counted = torch.cumsum(real, 0)  # [T] real tokens up to each token, all sequences
    before = torch.cat([counted.new_zeros(1), counted])[cu[:-1].long()]  # [n] before each
    return (counted - before[seq]) * real + pad


def _flash_ok(q: torch.Tensor) -> bool:
    return (
        q.is_cuda
        and q.dtype in (torch.float16, torch.bfloat16)
        and hasattr(torch.ops.aten, "_flash_attention_forward")
    )


def varlen_attention(
    q: torch.Tensor,
    k: torch.Tensor,
    v: torch.Tensor,
    cu: torch.Tensor,
    max_len: int,
    seq: torch.Tensor,
    pos: torch.Tensor,
) -> torch.Tensor:
    """q, k, v: [T, heads, head_dim] → [T, heads, head_dim], attention within each sequence."""
    if _flash_ok(q):
        out = torch.ops.aten._flash_attention_forward(
            q, k, v, cu, cu, max_len, max_len, 0.0, False, False
        )
        return out[0]
    n_seqs = cu.numel() - 1
    heads, dim = q.shape[1], q.shape[2]
    block = q.new_zeros((3, n_seqs, max_len, heads, dim))
    block[0, seq, pos], block[1, seq, pos], block[2, seq, pos] = q, k, v
    mask = torch.zeros((n_seqs, max_len), dtype=torch.long, device=q.device)
    mask[seq, pos] = 1
    # [3, n, S, H, d] → [3, n, H, S, d] for SDPA
    qb, kb, vb = block.transpose(2, 3)
    ctx = F.scaled_dot_product_attention(qb, kb, vb, attn_mask=attention_bias(mask, q.dtype))
    return ctx.transpose(1, 2)[seq, pos]


def _layer_packed(
    layer: Layer,
    x: torch.Tensor,
    cu: torch.Tensor,
    max_len: int,
    seq: torch.Tensor,
    pos: torch.Tensor,
) -> torch.Tensor:
    # x: [T, hidden]
    t, h = x.shape
    qkv = layer.qkv(x).view(t, 3, layer.num_heads, layer.head_dim)
    ctx = varlen_attention(qkv[:, 0], qkv[:, 1], qkv[:, 2], cu, max_len, seq, pos)
    x = layer.attn_norm(x + layer.attn_out(ctx.reshape(t, h)))
    return layer.ffn_norm(x + layer.ffn_out(layer.act(layer.ffn_in(x))))


def forward_packed(
    model: TokenClassifier,
    ids: torch.Tensor,
    cu: torch.Tensor,
    max_len: int,
    index: tuple[torch.Tensor, torch.Tensor] | None = None,
) -> torch.Tensor:
    """ids: [T] packed token ids; cu: [n_seqs + 1] int32 → logits [T, num_labels].

    ``index``: each token's (sequence, position), as ``_seq_index`` computes them, when the
    caller has them already: a CUDA graph cannot compute them (their size depends on the
    data), so ``nerve.backends.cuda_graphs`` fills them on the host."""
    emb = model.embeddings
    seq, pos = index if index is not None else _seq_index(cu, ids.numel())
    if model.cfg.family == "roberta":
        positions = _roberta_positions(ids, cu, seq, model.cfg.pad_token_id)
    else:
        positions = pos  # BERT numbers positions from 0
    x = emb.word(ids) + emb.position(positions)
    if emb.token_type is not None:
        x = x + emb.token_type.weight[0]
    x = emb.finish(x)
    for layer in model.layers:
        x = _layer_packed(layer, x, cu, max_len, seq, pos)  # type: ignore[arg-type]
    return model.classifier(x)


def run_packed(
    model: torch.nn.Module,
    ids: torch.Tensor,
    cu: torch.Tensor,
    max_len: int,
    index: tuple[torch.Tensor, torch.Tensor] | None = None,
) -> torch.Tensor:
    """The packed forward of any family: its own where it has one (ModernBERT), else the BERT
    family's above. Arguments as ``forward_packed``'s."""
    own = getattr(model, "forward_packed", None)
    if own is not None:
        return own(ids, cu, max_len, index)  # type: ignore[no-any-return]
    return forward_packed(model, ids, cu, max_len, index)  # type: ignore[arg-type]
