"""The model a bench runs: a given directory, or a random-weight model of a standard shape.

Speed does not depend on weight values, so ``--shape`` measures a size class (MiniLM-L6 for
the default model, BERT-base for dslim/bert-base-NER) without downloading anything: random
weights of that shape, saved as a Hugging Face directory (for the pipeline peer) and exported
to ONNX int8 with ``nerve.export`` (what nerve runs on CPU).
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import InvalidInput, ModelLoadError
from ..model.resolve import resolve_model

# family, hidden size, layers, attention heads, FFN size
SHAPES = {
    "minilm": ("bert", 384, 6, 12, 1536),
    "bert-base": ("bert", 768, 12, 12, 3072),
    "deberta-v3-small": ("deberta-v2", 768, 6, 12, 3072),
    "modernbert-base": ("modernbert", 768, 22, 12, 1152),
}
# What makes each family's random model the shape of its published checkpoints, beyond size:
# DeBERTa-v3's relative attention, ModernBERT's 8,192-token window with local layers.
_FAMILY_CONFIG: dict[str, dict[str, Any]] = {
    "bert": {"max_position_embeddings": 512},
    "deberta-v2": {
        "max_position_embeddings": 512,
        "relative_attention": True,
        "position_biased_input": False,
        "position_buckets": 256,
        "share_att_key": True,
        "pos_att_type": "p2c|c2p",
        "norm_rel_ebd": "layer_norm",
        "layer_norm_eps": 1e-7,
    },
    "modernbert": {
        "max_position_embeddings": 8192,
        "local_attention": 128,
        "global_attn_every_n_layers": 3,
        "bos_token_id": None,
        "eos_token_id": None,
        "cls_token_id": None,
        "sep_token_id": None,
    },
}
_HF_CLASSES = {
    "bert": ("BertConfig", "BertForTokenClassification"),
    "deberta-v2": ("DebertaV2Config", "DebertaV2ForTokenClassification"),
    "modernbert": ("ModernBertConfig", "ModernBertForTokenClassification"),
}
CONLL_LABELS = ("O", "B-MISC", "I-MISC", "B-PER", "I-PER", "B-ORG", "I-ORG", "B-LOC", "I-LOC")
TOKENIZER_FILES = (
    "tokenizer.json",
    "tokenizer_config.json",
    "special_tokens_map.json",
    "vocab.txt",
)


@dataclass(frozen=True)
class BenchModel:
    nerve_dir: Path  # what nerve loads (its auto backend picks ONNX on CPU when present)
    hf_dir: Path | None  # safetensors directory for the transformers pipeline, if any
    description: str

    @property
    def tokenizer_file(self) -> Path:
        return self.nerve_dir / "tokenizer.json"

    def nerve_dir_on(self, device: str) -> Path:
        """What nerve loads on ``device``: on an accelerator nerve runs torch, which needs the
        safetensors weights (a random shape's ONNX export has none)."""
        if device != "cpu" and self.hf_dir is not None:
            return self.hf_dir
        return self.nerve_dir


def bench_model(model: str | Path | None, shape: str | None, workdir: Path) -> BenchModel:
    """``model`` as given (None: the embedded default), or with ``shape`` a random model of
    that shape using ``model``'s tokenizer, built under ``workdir``."""
    source = resolve_model(model)
    if shape is None:
        hf_dir = source if (source / "model.safetensors").is_file() else None
        return BenchModel(source, hf_dir, str(source))
    if shape not in SHAPES:
        raise InvalidInput(f"unknown shape {shape!r}; expected one of {sorted(SHAPES)}")
    hf_dir = build_random_model(shape, source, workdir / f"{shape}-hf")
    onnx_dir = workdir / f"{shape}-onnx-int8"
    from ..export import export_onnx

    export_onnx(hf_dir, onnx_dir, quantize="int8")
    return BenchModel(onnx_dir, hf_dir, f"random {shape} ({source.name}'s tokenizer)")


def build_random_model(shape: str, tokenizer_dir: Path, out: Path, seed: int = 0) -> Path:
    """A token classifier of ``shape`` (its family and size) with seeded random weights and
    the tokenizer of ``tokenizer_dir``, saved as a Hugging Face directory. The tokenizer's
    ``model_max_length`` is set to the family's window (512, or ModernBERT's 8,192)."""
    import torch
    import transformers

    if not (tokenizer_dir / "tokenizer.json").is_file():
        raise ModelLoadError(f"{tokenizer_dir} has no tokenizer.json to build a {shape} model")
    from tokenizers import Tokenizer

    tokenizer = Tokenizer.from_file(str(tokenizer_dir / "tokenizer.json"))
    family, hidden, layers, heads, ffn = SHAPES[shape]
    assert isinstance(family, str)
    config_cls, model_cls = (getattr(transformers, name) for name in _HF_CLASSES[family])
    pad = next((i for t in ("[PAD]", "<pad>") if (i := tokenizer.token_to_id(t)) is not None), 0)
    config = config_cls(
        vocab_size=tokenizer.get_vocab_size(with_added_tokens=True),
        hidden_size=hidden,
        num_hidden_layers=layers,
        num_attention_heads=heads,
        intermediate_size=ffn,
        id2label=dict(enumerate(CONLL_LABELS)),
        label2id={label: i for i, label in enumerate(CONLL_LABELS)},
        pad_token_id=pad,
        **_FAMILY_CONFIG[family],
    )
    torch.manual_seed(seed)
    model = model_cls(config).eval()
    out.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(out, safe_serialization=True)
    for name in TOKENIZER_FILES:
        if (tokenizer_dir / name).is_file():
            shutil.copy2(tokenizer_dir / name, out / name)
    if family != "bert":  # the BERT shapes keep the tokenizer's own limit
        _set_model_max_length(out, int(_FAMILY_CONFIG[family]["max_position_embeddings"]))
    return out


def _set_model_max_length(model_dir: Path, length: int) -> None:
    import json

    path = model_dir / "tokenizer_config.json"
    config = json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}
    config["model_max_length"] = length
    path.write_text(json.dumps(config, indent=2) + "\n", encoding="utf-8")
