"""What a model directory declares: architecture, labels, encoder shape, window length.

Everything here is read from JSON only (``config.json``, ``tokenizer_config.json``):
nothing is executed and nothing is unpickled.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import ModelLoadError, UnsupportedArchitecture
from ..io.json_problems import json_problem
from .onnx_files import onnx_variants

# Architecture name → encoder family. The family decides weight names and position ids.
SUPPORTED_ARCHITECTURES: dict[str, str] = {
    "BertForTokenClassification": "bert",
    "DistilBertForTokenClassification": "distilbert",
    "RobertaForTokenClassification": "roberta",
    "XLMRobertaForTokenClassification": "roberta",
    "CamembertForTokenClassification": "roberta",  # RoBERTa layout, SentencePiece vocabulary
    "ElectraForTokenClassification": "electra",  # BERT layers, optional embedding projection
    "DebertaV2ForTokenClassification": "deberta-v2",
    "ModernBertForTokenClassification": "modernbert",
}
MODEL_TYPE_TO_ARCH = {
    "bert": "BertForTokenClassification",
    "distilbert": "DistilBertForTokenClassification",
    "roberta": "RobertaForTokenClassification",
    "xlm-roberta": "XLMRobertaForTokenClassification",
    "camembert": "CamembertForTokenClassification",
    "electra": "ElectraForTokenClassification",
    "deberta-v2": "DebertaV2ForTokenClassification",
    "modernbert": "ModernBertForTokenClassification",
}
# Tokenizer configs without a real limit carry this sentinel (transformers' VERY_LARGE_INTEGER).
_NO_LIMIT = 10**12


@dataclass(frozen=True)
class EncoderConfig:
    """The shape of a BERT-family encoder, in nerve's own terms."""

    family: str
    vocab_size: int
    hidden_size: int
    num_layers: int
    num_heads: int
    intermediate_size: int
    max_positions: int
    type_vocab_size: int
    layer_norm_eps: float
    activation: str
    pad_token_id: int
    num_labels: int
    # ELECTRA's embeddings may be narrower than its layers (then projected up); 0 = hidden_size.
    embedding_size: int = 0
    # Family-specific options (DebertaOptions, ModernBertOptions); None for the BERT family.
    variant: Any = None

    @property
    def embedding_width(self) -> int:
        return self.embedding_size or self.hidden_size

    @property
    def position_offset(self) -> int:
        """RoBERTa numbers positions from ``pad_token_id + 1``; BERT and DistilBERT from 0."""
        return self.pad_token_id + 1 if self.family == "roberta" else 0

    @property
    def max_tokens(self) -> int:
        """Longest sequence (specials included) the position table can address."""
        return self.max_positions - self.position_offset

    @property
    def has_position_table(self) -> bool:
        """Whether positions are looked up in a table of ``max_positions`` rows. ModernBERT
        (rotary positions) and DeBERTa without ``position_biased_input`` (relative positions
        only) have none: any length runs, and the tokenizer's limit is their window."""
        if self.family == "modernbert":
            return False
        if self.family == "deberta-v2":
            return bool(getattr(self.variant, "position_biased_input", True))
        return True


@dataclass(frozen=True)
class ModelSpec:
    architecture: str
    labels: tuple[str, ...]
    encoder: EncoderConfig
    max_length: int
    raw_config: dict[str, Any]

    @property
    def family(self) -> str:
        return self.encoder.family


def read_json(path: Path) -> dict[str, Any]:
    try:
        with path.open(encoding="utf-8") as fh:
            data = json.load(fh)
    except FileNotFoundError:
        raise ModelLoadError(f"{path.name} is missing from {path.parent}") from None
    except UnicodeDecodeError as exc:
        raise ModelLoadError(f"{path} is not valid JSON: {exc}") from None
    except ValueError as exc:
        raise ModelLoadError(f"{path} is not valid JSON: {json_problem(exc)}") from None
    if not isinstance(data, dict):
        raise ModelLoadError(f"{path} must hold a JSON object")
    return data


def parse_labels(config: dict[str, Any], where: Path) -> tuple[str, ...]:
    """``id2label`` as a tuple in id order; ids must be exactly 0..n-1."""
    raw = config.get("id2label")
    if not isinstance(raw, dict) or not raw:
        raise ModelLoadError(f"{where}: config.json has no id2label mapping (not a NER model?)")
    try:
        by_id = {int(k): str(v) for k, v in raw.items()}
    except (TypeError, ValueError):
        raise ModelLoadError(f"{where}: id2label keys must be integers, got {list(raw)}") from None
    if sorted(by_id) != list(range(len(by_id))):
        raise ModelLoadError(
            f"{where}: id2label ids must be 0..{len(by_id) - 1}, got {sorted(by_id)}"
        )
    return tuple(by_id[i] for i in range(len(by_id)))


# The family of a token classifier nerve has no encoder for: it runs from its ONNX graph only.
GRAPH_ONLY = ""


def _architecture(config: dict[str, Any], where: Path) -> str:
    archs = config.get("architectures") or []
    if archs:
        arch = str(archs[0])
    else:
        arch = MODEL_TYPE_TO_ARCH.get(str(config.get("model_type")), "")
        if not arch:
            raise UnsupportedArchitecture(
                f"{where}: config.json names no architecture and model_type "
                f"{config.get('model_type')!r} is not supported"
            )
    graph_only = arch.endswith("ForTokenClassification") and bool(onnx_variants(where))
    if arch not in SUPPORTED_ARCHITECTURES and not graph_only:
        supported = ", ".join(SUPPORTED_ARCHITECTURES)
        raise UnsupportedArchitecture(
            f"{where}: architecture {arch!r} is not supported; nerve runs {supported}, and any "
            "other *ForTokenClassification exported to ONNX (model.onnx beside config.json)"
        )
    return arch


def _int(config: dict[str, Any], *keys: str, default: int | None = None) -> int:
    for key in keys:
        if key in config and config[key] is not None:
            value = config[key]
            if isinstance(value, bool) or not isinstance(value, int):
                raise ModelLoadError(f"config.json: {key!r} must be an integer, got {value!r}")
            return value
    if default is None:
        raise ModelLoadError(f"config.json lacks {keys[0]!r}")
    return default


def _graph_only_config(config: dict[str, Any], num_labels: int) -> EncoderConfig:
    """What ``config.json`` says of an encoder nerve only runs as an ONNX graph (for
    ``nerve info`` and the window); 0 where a name is not the usual Hugging Face one."""

    def get(*keys: str) -> int:
        return _int(config, *keys, default=0)

    return EncoderConfig(
        family=GRAPH_ONLY,
        vocab_size=get("vocab_size"),
        hidden_size=get("hidden_size", "dim", "d_model"),
        num_layers=get("num_hidden_layers", "n_layers"),
        num_heads=get("num_attention_heads", "n_heads"),
        intermediate_size=get("intermediate_size", "hidden_dim"),
        max_positions=get("max_position_embeddings"),
        type_vocab_size=get("type_vocab_size"),
        layer_norm_eps=float(config.get("layer_norm_eps", 1e-12)),
        activation=str(config.get("hidden_act", "")),
        pad_token_id=get("pad_token_id"),
        num_labels=num_labels,
    )


def encoder_config(config: dict[str, Any], family: str, num_labels: int) -> EncoderConfig:
    if family == GRAPH_ONLY:
        return _graph_only_config(config, num_labels)
    if family == "modernbert":
        return _modernbert_config(config, num_labels)
    if family == "distilbert":
        hidden = _int(config, "dim")
        return EncoderConfig(
            family=family,
            vocab_size=_int(config, "vocab_size"),
            hidden_size=hidden,
            num_layers=_int(config, "n_layers"),
            num_heads=_int(config, "n_heads"),
            intermediate_size=_int(config, "hidden_dim"),
            max_positions=_int(config, "max_position_embeddings"),
            type_vocab_size=0,
            layer_norm_eps=1e-12,  # DistilBERT hard-codes this epsilon
            activation=str(config.get("activation", "gelu")),
            pad_token_id=_int(config, "pad_token_id", default=0),
            num_labels=num_labels,
        )
    variant = None
    if family == "deberta-v2":
        from .deberta_options import deberta_options

        variant = deberta_options(
            config,
            _int(config, "hidden_size"),
            _int(config, "max_position_embeddings", default=512),
        )
    return EncoderConfig(
        family=family,
        vocab_size=_int(config, "vocab_size"),
        hidden_size=_int(config, "hidden_size"),
        num_layers=_int(config, "num_hidden_layers"),
        num_heads=_int(config, "num_attention_heads"),
        intermediate_size=_int(config, "intermediate_size"),
        max_positions=_int(config, "max_position_embeddings"),
        # DeBERTa-v2's own defaults differ from BERT's: no token types, epsilon 1e-7.
        type_vocab_size=_int(config, "type_vocab_size", default=0 if variant else 2),
        layer_norm_eps=float(config.get("layer_norm_eps", 1e-7 if variant else 1e-12)),
        activation=str(config.get("hidden_act", "gelu")),
        pad_token_id=_int(config, "pad_token_id", default=1 if family == "roberta" else 0),
        num_labels=num_labels,
        embedding_size=_int(config, "embedding_size", default=0) if family == "electra" else 0,
        variant=variant,
    )


def _modernbert_config(config: dict[str, Any], num_labels: int) -> EncoderConfig:
    from .modernbert_options import modernbert_options

    layers = _int(config, "num_hidden_layers")
    return EncoderConfig(
        family="modernbert",
        vocab_size=_int(config, "vocab_size"),
        hidden_size=_int(config, "hidden_size"),
        num_layers=layers,
        num_heads=_int(config, "num_attention_heads"),
        intermediate_size=_int(config, "intermediate_size"),
        max_positions=_int(config, "max_position_embeddings", default=8192),
        type_vocab_size=0,
        layer_norm_eps=float(config.get("norm_eps", 1e-5)),
        activation=str(config.get("hidden_activation", "gelu")),
        pad_token_id=_int(config, "pad_token_id", default=0),
        num_labels=num_labels,
        variant=modernbert_options(config, layers),
    )


# Far beyond any encoder of these families (BERT-large: 1,024 wide, 24 layers, 512 positions):
# a size over it is a broken config, which would otherwise fail as an allocation of terabytes.
_MAX_SIZE = 1 << 20


# The config keys of an encoder's sizes, in every family's naming (DistilBERT: dim, n_layers...).
_SIZE_KEYS = (
    "vocab_size",
    "hidden_size",
    "dim",
    "num_hidden_layers",
    "n_layers",
    "num_attention_heads",
    "n_heads",
    "intermediate_size",
    "hidden_dim",
    "max_position_embeddings",
)


def _check_sizes(config: dict[str, Any]) -> None:
    """The sizes of an encoder nerve builds: each at least 1 and not absurd (a zero head count
    divided by zero, a negative width failed in torch, a huge table as an allocation)."""
    for key in _SIZE_KEYS:
        value = config.get(key)
        if isinstance(value, int) and not 1 <= value <= _MAX_SIZE:
            raise ModelLoadError(
                f"config.json: {key!r} must be between 1 and {_MAX_SIZE:,}, got {value:,}"
            )
    types = config.get("type_vocab_size")
    if isinstance(types, int) and types < 0:
        raise ModelLoadError(f"config.json: 'type_vocab_size' must not be negative, got {types}")


def tokenizer_max_length(model_dir: Path) -> int | None:
    path = model_dir / "tokenizer_config.json"
    if not path.exists():
        return None
    value = read_json(path).get("model_max_length")
    if isinstance(value, (int, float)) and 0 < value < _NO_LIMIT:
        return int(value)
    return None


def read_spec(model_dir: Path) -> ModelSpec:
    """Parse and validate ``config.json`` (+ the tokenizer's length limit) of a model dir."""
    config = read_json(model_dir / "config.json")
    arch = _architecture(config, model_dir)
    family = SUPPORTED_ARCHITECTURES.get(arch, GRAPH_ONLY)
    labels = parse_labels(config, model_dir)
    if family != GRAPH_ONLY:
        _check_sizes(config)  # before the sizes are used (divided, allocated)
    enc = encoder_config(config, family, len(labels))
    positions = config.get("position_embedding_type", "absolute")
    if positions != "absolute" and family != GRAPH_ONLY:
        raise UnsupportedArchitecture(
            f"{model_dir}: position_embedding_type {positions!r} is not supported "
            "(nerve's encoders implement absolute position embeddings)"
        )
    if enc.num_heads and enc.hidden_size % enc.num_heads:
        raise ModelLoadError(
            f"{model_dir}: hidden size {enc.hidden_size} is not divisible by "
            f"{enc.num_heads} attention heads"
        )
    limit = enc.max_tokens
    tok_limit = tokenizer_max_length(model_dir)
    max_length = min(limit, tok_limit) if tok_limit else limit
    if tok_limit and not enc.has_position_table:
        # As the pipeline windows them: max_position_embeddings bounds nothing here.
        max_length = tok_limit
    if family == GRAPH_ONLY:
        # Position numbering is unknown here (MPNet counts from pad_id + 1 like RoBERTa): the
        # tokenizer's own limit, else the position table less that possible offset.
        max_length = tok_limit or limit - (enc.pad_token_id + 1)
    if max_length < 2:
        raise ModelLoadError(
            f"{model_dir}: no usable window length (config.json max_position_embeddings, "
            "tokenizer_config.json model_max_length)"
        )
    return ModelSpec(arch, labels, enc, max_length, config)
