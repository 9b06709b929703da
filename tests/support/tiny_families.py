"""Tiny seeded random DeBERTa-v2/v3 and ModernBERT token classifiers, built locally.

``FAMILY_CONFIGS`` holds the model configs the parity tests run: several per family, chosen
so that every option nerve implements differs somewhere (shared or separate position
projections, log buckets or plain clamped distances, c2p/p2c, absolute positions, embedding
projection; local windows shorter than the text, biases, rotary bases, one long window).

Tokenizers (frozen in ``tokenizers/``, see ``tiny_models``): DeBERTa-v3's kind, a
SentencePiece-style Unigram with byte fallback, Metaspace ``▁`` word starts and DeBERTa's
normalizer (strip, collapse runs of spaces), ``[CLS] $A [SEP]``; ModernBERT's kind, a
byte-level BPE (``Ġ``) with ``[CLS] $A [SEP]`` and untrimmed offsets, as ModernBERT ships.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from .tiny_models import CORPUS, DSLIM_LABELS, _frozen

_BRACKETED = {
    "cls_token": "[CLS]",
    "sep_token": "[SEP]",
    "pad_token": "[PAD]",
    "unk_token": "[UNK]",
    "mask_token": "[MASK]",
}
_SHAPE = {"hidden_size": 32, "num_attention_heads": 4, "intermediate_size": 48}

# v3 layout: shared keys, log buckets (8 buckets: distances past 4 are log-scaled), both
# position terms, LayerNorm on the relative table, no absolute positions.
_DEBERTA_V3: dict[str, Any] = {
    "num_hidden_layers": 2,
    "relative_attention": True,
    "position_biased_input": False,
    "position_buckets": 8,
    "max_relative_positions": 64,
    "share_att_key": True,
    "pos_att_type": "p2c|c2p",
    "norm_rel_ebd": "layer_norm",
    "max_position_embeddings": 64,
}

# name → (family, HF config overrides, tokenizer model_max_length)
FAMILY_CONFIGS: dict[str, tuple[str, dict[str, Any], int]] = {
    # v3 layout: shared keys, log buckets (8 buckets: distances past 4 are log-scaled),
    # both position terms, LayerNorm on the relative table, no absolute positions.
    "deberta-v3": (
        "deberta-v2",
        _DEBERTA_V3,
        64,
    ),
    # v2 layout: separate position projections, plain distances clamped at ±16, absolute
    # positions added to the input too, no LayerNorm on the table.
    "deberta-v2-separate": (
        "deberta-v2",
        {
            "num_hidden_layers": 2,
            "relative_attention": True,
            "position_biased_input": True,
            "max_relative_positions": 16,
            "share_att_key": False,
            "pos_att_type": ["c2p", "p2c"],
            "max_position_embeddings": 64,
        },
        64,
    ),
    # One position term (p2c), 16 buckets, an embedding projection (24 → 32), token types.
    "deberta-p2c-proj": (
        "deberta-v2",
        {
            "num_hidden_layers": 2,
            "relative_attention": True,
            "position_biased_input": False,
            "position_buckets": 16,
            "max_relative_positions": 128,
            "share_att_key": False,
            "pos_att_type": "p2c",
            "embedding_size": 24,
            "type_vocab_size": 2,
            "max_position_embeddings": 64,
        },
        64,
    ),
    # Global, local, local; local layers see ±8 tokens, shorter than most texts.
    "modernbert": (
        "modernbert",
        {"num_hidden_layers": 3, "global_attn_every_n_layers": 3, "local_attention": 16},
        64,
    ),
    # Biases everywhere, other rotary bases, global every 2nd layer, ±4-token local window.
    "modernbert-bias": (
        "modernbert",
        {
            "num_hidden_layers": 4,
            "global_attn_every_n_layers": 2,
            "local_attention": 8,
            "global_rope_theta": 1000.0,
            "local_rope_theta": 500.0,
            "norm_bias": True,
            "attention_bias": True,
            "mlp_bias": True,
            "classifier_bias": True,
            "classifier_activation": "gelu_new",
        },
        64,
    ),
    # No position table (relative positions only, rotary positions) and a tokenizer limit far
    # past max_position_embeddings: the pipeline windows at the tokenizer's limit, and so must
    # nerve (it capped the window at the 64 positions the model never looks up).
    "deberta-v3-long": (
        "deberta-v2",
        _DEBERTA_V3,
        4096,
    ),
    "modernbert-table-64-long": (
        "modernbert",
        {
            "num_hidden_layers": 3,
            "global_attn_every_n_layers": 3,
            "local_attention": 16,
            "max_position_embeddings": 64,
        },
        4096,
    ),
    # The model's own 8,192-token window (texts of thousands of tokens in one window).
    "modernbert-long": (
        "modernbert",
        {"num_hidden_layers": 3, "global_attn_every_n_layers": 3, "local_attention": 32},
        8192,
    ),
}
FAMILY_ARCHS = tuple(FAMILY_CONFIGS)


def _train_unigram_bytes():  # type: ignore[no-untyped-def]
    from tokenizers import (
        Regex,
        Tokenizer,
        decoders,
        models,
        normalizers,
        pre_tokenizers,
        processors,
    )
    from tokenizers.trainers import UnigramTrainer

    specials = ["[PAD]", "[CLS]", "[SEP]", "[UNK]", "[MASK]"]
    trainer = UnigramTrainer(vocab_size=200, special_tokens=specials, unk_token="[UNK]")
    base = Tokenizer(models.Unigram())
    base.pre_tokenizer = pre_tokenizers.Metaspace()
    base.train_from_iterator(CORPUS, trainer)
    # Byte fallback: the 256 byte pieces (as SentencePiece names them) after the learnt ones,
    # so characters the corpus never showed (emoji, Korean) become bytes, not [UNK].
    learnt = _unigram_pieces(base)
    pieces = learnt + [(f"<0x{b:02X}>", -100.0) for b in range(256)]
    tok = Tokenizer(models.Unigram(pieces, unk_id=specials.index("[UNK]"), byte_fallback=True))
    tok.add_special_tokens(specials)
    tok.normalizer = normalizers.Sequence(
        [normalizers.Strip(left=True, right=True), normalizers.Replace(Regex(" {2,}"), " ")]
    )
    tok.pre_tokenizer = pre_tokenizers.Metaspace(replacement="▁", prepend_scheme="always")
    tok.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]",
        special_tokens=[("[CLS]", tok.token_to_id("[CLS]")), ("[SEP]", tok.token_to_id("[SEP]"))],
    )
    tok.decoder = decoders.Sequence([decoders.ByteFallback(), decoders.Metaspace()])
    return tok


def _unigram_pieces(tok: Any) -> list[tuple[str, float]]:
    """(piece, score) in id order, read from the trained model's JSON."""
    import json

    return [(p, float(s)) for p, s in json.loads(tok.to_str())["model"]["vocab"]]


def _train_modernbert_bpe():  # type: ignore[no-untyped-def]
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors
    from tokenizers.trainers import BpeTrainer

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    specials = ["[UNK]", "[CLS]", "[SEP]", "[PAD]", "[MASK]"]
    trainer = BpeTrainer(
        vocab_size=400,
        special_tokens=specials,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
    )
    tok.train_from_iterator(CORPUS, trainer)
    tok.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]",
        special_tokens=[("[CLS]", tok.token_to_id("[CLS]")), ("[SEP]", tok.token_to_id("[SEP]"))],
    )
    tok.decoder = decoders.ByteLevel()
    return tok


def family_tokenizer(family: str):  # type: ignore[no-untyped-def]
    if family == "deberta-v2":
        return _frozen("unigram-byte-fallback", _train_unigram_bytes)
    return _frozen("modernbert-bpe", _train_modernbert_bpe)


def hf_config(name: str, vocab: int, pad_id: int, labels: list[str]) -> Any:
    import transformers as tf

    family, overrides, _ = FAMILY_CONFIGS[name]
    common = {
        "id2label": dict(enumerate(labels)),
        "label2id": {lb: i for i, lb in enumerate(labels)},
        "vocab_size": vocab,
        "pad_token_id": pad_id,
        **_SHAPE,
        **overrides,
    }
    if family == "deberta-v2":
        return tf.DebertaV2Config(**common), tf.DebertaV2ForTokenClassification
    ids = {k: None for k in ("bos_token_id", "eos_token_id", "cls_token_id", "sep_token_id")}
    return tf.ModernBertConfig(**ids, **common), tf.ModernBertForTokenClassification


def make_family_model(
    out: Path,
    name: str,
    *,
    seed: int = 0,
    labels: list[str] | None = None,
    head_scale: float = 8.0,
) -> Path:
    """Write a tiny model directory of config ``name`` (a key of FAMILY_CONFIGS)."""
    import torch
    from transformers import PreTrainedTokenizerFast

    family, _, max_length = FAMILY_CONFIGS[name]
    labels = labels or DSLIM_LABELS
    tok = family_tokenizer(family)
    config, model_cls = hf_config(name, tok.get_vocab_size(), tok.token_to_id("[PAD]"), labels)
    torch.manual_seed(seed)
    model = model_cls(config).eval()
    with torch.no_grad():
        model.classifier.weight.mul_(head_scale)
    out.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(out, safe_serialization=True)
    fast = PreTrainedTokenizerFast(tokenizer_object=tok, model_max_length=max_length, **_BRACKETED)
    fast.save_pretrained(out)
    return out
