"""Tiny seeded random token-classification models, built locally (never downloaded).

``make_model(dir, arch)`` writes a complete Hugging Face model directory (config.json,
model.safetensors, tokenizer.json, tokenizer_config.json, special_tokens_map.json) for one of
the supported architectures, with a WordPiece (cased or uncased; BERT, DistilBERT, ELECTRA),
byte-level BPE (RoBERTa) or Unigram/Metaspace (XLM-R, CamemBERT) tokenizer trained on a small
corpus.

The tokenizers are trained once and frozen in ``tests/support/tokenizers/``: the `tokenizers`
trainers are not deterministic (WordPiece picks different pieces, Unigram different ids and
scores from run to run), and a fixture that changes between runs makes any test that compares
two different inputs flaky. Delete a file there to train that tokenizer afresh.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

DSLIM_LABELS = ["O", "B-MISC", "I-MISC", "B-PER", "I-PER", "B-ORG", "I-ORG", "B-LOC", "I-LOC"]

CORPUS = [
    "Apple is looking at buying U.K. startup for $1 billion",
    "Mozilla is headquartered in San Francisco, CA",
    "Yvon Chouinard founded Patagonia in 1957.",
    "The Eiffel Tower is located in Paris, France.",
    "EU rejects German call to boycott British lamb.",
    "Peter Blackburn met Angela Merkel in Berlin on Monday.",
    "Zürich and São Paulo are cities; café crème costs 4.50 euros.",
    "東京 is the capital of Japan and 北京 of China.",
    "Tim Cook presented the new iPhone at Apple Park in California.",
    "Marie Curie won the Nobel Prize in Physics in 1903!",
    "the quick brown fox jumps over the lazy dog again and again",
    "New York New York is a song; Washington Washington is not.",
]
ARCHS = (
    "bert",
    "bert-uncased",
    "distilbert",
    "roberta",
    "xlm-roberta",
    "camembert",
    "electra",
    "electra-proj",  # ELECTRA with embedding_size < hidden_size: the embeddings_project path
)
# Special tokens of the RoBERTa-style tokenizers (byte-level BPE and Unigram alike).
_SENTENCE_MARKS = {
    "bos_token": "<s>",
    "eos_token": "</s>",
    "cls_token": "<s>",
    "sep_token": "</s>",
    "pad_token": "<pad>",
    "unk_token": "<unk>",
    "mask_token": "<mask>",
}


_FROZEN = Path(__file__).parent / "tokenizers"


def _frozen(name: str, train: Callable[[], Any]) -> Any:
    """The tokenizer saved as ``tokenizers/<name>.json``; trained and saved if missing."""
    from tokenizers import Tokenizer

    path = _FROZEN / f"{name}.json"
    if path.exists():
        return Tokenizer.from_file(str(path))
    tok = train()
    _FROZEN.mkdir(exist_ok=True)
    tok.save(str(path))
    return tok


def _wordpiece(lowercase: bool):  # type: ignore[no-untyped-def]
    name = "wordpiece-uncased" if lowercase else "wordpiece-cased"
    tok = _frozen(name, lambda: _train_wordpiece(lowercase))
    return tok, {
        "cls_token": "[CLS]",
        "sep_token": "[SEP]",
        "pad_token": "[PAD]",
        "unk_token": "[UNK]",
        "mask_token": "[MASK]",
    }


def _train_wordpiece(lowercase: bool):  # type: ignore[no-untyped-def]
    from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, processors
    from tokenizers.trainers import WordPieceTrainer

    tok = Tokenizer(models.WordPiece(unk_token="[UNK]", max_input_chars_per_word=100))
    tok.normalizer = normalizers.BertNormalizer(lowercase=lowercase, strip_accents=lowercase)
    tok.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    specials = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    # A small vocabulary forces many ## pieces; no emoji in the corpus → [UNK] occurs.
    trainer = WordPieceTrainer(vocab_size=180, special_tokens=specials, min_frequency=1)
    tok.train_from_iterator(CORPUS, trainer)
    cls_id, sep_id = tok.token_to_id("[CLS]"), tok.token_to_id("[SEP]")
    tok.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]", special_tokens=[("[CLS]", cls_id), ("[SEP]", sep_id)]
    )
    tok.decoder = decoders.WordPiece(prefix="##")
    return tok


def _byte_bpe():  # type: ignore[no-untyped-def]
    return _frozen("byte-level-bpe", _train_byte_bpe), dict(_SENTENCE_MARKS)


def _train_byte_bpe():  # type: ignore[no-untyped-def]
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors
    from tokenizers.trainers import BpeTrainer

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    specials = ["<s>", "<pad>", "</s>", "<unk>", "<mask>"]
    trainer = BpeTrainer(
        vocab_size=400,
        special_tokens=specials,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
    )
    tok.train_from_iterator(CORPUS, trainer)
    tok.post_processor = processors.RobertaProcessing(
        ("</s>", tok.token_to_id("</s>")),
        ("<s>", tok.token_to_id("<s>")),
        trim_offsets=True,
        add_prefix_space=False,
    )
    tok.decoder = decoders.ByteLevel()
    return tok


def _unigram():  # type: ignore[no-untyped-def]
    return _frozen("unigram", _train_unigram), dict(_SENTENCE_MARKS)


def _train_unigram():  # type: ignore[no-untyped-def]
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors
    from tokenizers.trainers import UnigramTrainer

    tok = Tokenizer(models.Unigram())
    tok.pre_tokenizer = pre_tokenizers.Metaspace()
    specials = ["<s>", "<pad>", "</s>", "<unk>", "<mask>"]
    trainer = UnigramTrainer(vocab_size=220, special_tokens=specials, unk_token="<unk>")
    tok.train_from_iterator(CORPUS, trainer)
    tok.post_processor = processors.TemplateProcessing(
        single="<s> $A </s>",
        special_tokens=[("<s>", tok.token_to_id("<s>")), ("</s>", tok.token_to_id("</s>"))],
    )
    tok.decoder = decoders.Metaspace()
    return tok


def _hf_model(arch: str, vocab: int, pad_id: int, labels: list[str], max_pos: int):  # type: ignore[no-untyped-def]
    import transformers as tf

    common = {
        "id2label": dict(enumerate(labels)),
        "label2id": {lb: i for i, lb in enumerate(labels)},
        "vocab_size": vocab,
        "pad_token_id": pad_id,
    }
    if arch == "distilbert":
        cfg = tf.DistilBertConfig(
            dim=32, n_layers=2, n_heads=4, hidden_dim=48, max_position_embeddings=max_pos, **common
        )
        return tf.DistilBertForTokenClassification(cfg)
    shape = {
        "hidden_size": 32,
        "num_hidden_layers": 2,
        "num_attention_heads": 4,
        "intermediate_size": 48,
    }
    if arch.startswith("electra"):
        # "electra-proj": narrower embeddings, projected up to the hidden size.
        width = 16 if arch == "electra-proj" else 32
        cfg = tf.ElectraConfig(
            embedding_size=width, max_position_embeddings=max_pos, **shape, **common
        )
        return tf.ElectraForTokenClassification(cfg)
    roberta_like = {
        "roberta": (tf.RobertaConfig, tf.RobertaForTokenClassification),
        "xlm-roberta": (tf.XLMRobertaConfig, tf.XLMRobertaForTokenClassification),
        "camembert": (tf.CamembertConfig, tf.CamembertForTokenClassification),
    }
    if arch in roberta_like:
        cls, model_cls = roberta_like[arch]
        cfg = cls(
            max_position_embeddings=max_pos + pad_id + 1, type_vocab_size=1, **shape, **common
        )
        return model_cls(cfg)
    cfg = tf.BertConfig(max_position_embeddings=max_pos, **shape, **common)
    return tf.BertForTokenClassification(cfg)


def make_model(
    out: Path,
    arch: str = "bert",
    *,
    seed: int = 0,
    labels: list[str] | None = None,
    max_length: int = 64,
    head_scale: float = 8.0,
) -> Path:
    """Write a tiny model directory; ``head_scale`` sharpens the random head so that labels
    vary from token to token (otherwise a random model predicts one label everywhere)."""
    import torch
    from transformers import PreTrainedTokenizerFast

    labels = labels or DSLIM_LABELS
    if arch in ("bert", "bert-uncased", "distilbert", "electra", "electra-proj"):
        tok, special = _wordpiece(lowercase=arch == "bert-uncased")
    elif arch == "roberta":
        tok, special = _byte_bpe()
    elif arch in ("xlm-roberta", "camembert"):
        tok, special = _unigram()
    else:
        raise ValueError(f"unknown tiny architecture {arch!r}")
    pad_id = tok.token_to_id(special["pad_token"])
    torch.manual_seed(seed)
    model = _hf_model(
        arch.replace("-uncased", ""), tok.get_vocab_size(), pad_id, labels, max_length
    ).eval()
    with torch.no_grad():
        model.classifier.weight.mul_(head_scale)
    out.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(out, safe_serialization=True)
    fast = PreTrainedTokenizerFast(tokenizer_object=tok, model_max_length=max_length, **special)
    fast.save_pretrained(out)
    return out
