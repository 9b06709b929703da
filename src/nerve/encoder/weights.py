"""Map Hugging Face checkpoint names ↔ nerve's module names, with shape validation.

Only safetensors are read: a pickle (``pytorch_model.bin``) can execute code when loaded.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import cast

import torch
from safetensors.torch import load_file, save_file

from ..errors import ModelLoadError, UnsupportedArchitecture
from ..model.spec import GRAPH_ONLY, EncoderConfig
from .families import build_model, own_name_map
from .modules import TokenClassifier

# The attribute holding the encoder inside each HF *ForTokenClassification class.
HF_PREFIX = {
    "bert": "bert",
    "roberta": "roberta",
    "distilbert": "distilbert",
    "electra": "electra",
    "deberta-v2": "deberta",
    "modernbert": "model",
}
# Top-level HF weights outside the encoder (a bare encoder checkpoint has none of them).
_HEAD_PREFIXES = ("classifier.", "head.")


def _layer_names(family: str, i: int) -> dict[str, str | tuple[str, str, str]]:
    """nerve name (inside layers.{i}) → HF name; qkv maps to the three HF projections."""
    if family == "distilbert":
        p = f"transformer.layer.{i}."
        return {
            "qkv": (p + "attention.q_lin", p + "attention.k_lin", p + "attention.v_lin"),
            "attn_out": p + "attention.out_lin",
            "attn_norm": p + "sa_layer_norm",
            "ffn_in": p + "ffn.lin1",
            "ffn_out": p + "ffn.lin2",
            "ffn_norm": p + "output_layer_norm",
        }
    p = f"encoder.layer.{i}."
    return {
        "qkv": (p + "attention.self.query", p + "attention.self.key", p + "attention.self.value"),
        "attn_out": p + "attention.output.dense",
        "attn_norm": p + "attention.output.LayerNorm",
        "ffn_in": p + "intermediate.dense",
        "ffn_out": p + "output.dense",
        "ffn_norm": p + "output.LayerNorm",
    }


def name_map(cfg: EncoderConfig) -> dict[str, str | tuple[str, ...]]:
    """Every nerve parameter name → the HF checkpoint name(s) it comes from."""
    own = own_name_map(cfg)
    if own is not None:
        return own
    pre = HF_PREFIX[cfg.family] + "."
    emb = {
        "embeddings.word": pre + "embeddings.word_embeddings",
        "embeddings.position": pre + "embeddings.position_embeddings",
        "embeddings.norm": pre + "embeddings.LayerNorm",
    }
    if cfg.type_vocab_size:
        emb["embeddings.token_type"] = pre + "embeddings.token_type_embeddings"
    if cfg.embedding_width != cfg.hidden_size:
        emb["embeddings.project"] = pre + "embeddings_project"
    mapping: dict[str, str | tuple[str, ...]] = {}
    for ours, emb_name in emb.items():
        with_bias = ours.endswith(("norm", "project"))
        suffixes = ("weight", "bias") if with_bias else ("weight",)
        for sfx in suffixes:
            mapping[f"{ours}.{sfx}"] = f"{emb_name}.{sfx}"
    for i in range(cfg.num_layers):
        for ours, theirs in _layer_names(cfg.family, i).items():
            for sfx in ("weight", "bias"):
                key = f"layers.{i}.{ours}.{sfx}"
                if isinstance(theirs, tuple):
                    q, k, v = (f"{pre}{t}.{sfx}" for t in theirs)
                    mapping[key] = (q, k, v)
                else:
                    mapping[key] = f"{pre}{theirs}.{sfx}"
    mapping["classifier.weight"] = "classifier.weight"
    mapping["classifier.bias"] = "classifier.bias"
    return mapping


def _legacy_norm_names(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Old TF-converted BERT checkpoints name LayerNorm parameters gamma/beta."""
    out = {}
    for key, value in state.items():
        if key.endswith(".gamma"):
            key = key[: -len("gamma")] + "weight"
        elif key.endswith(".beta"):
            key = key[: -len("beta")] + "bias"
        out[key] = value
    return out


def _take(state: Mapping[str, torch.Tensor], name: str, where: Path) -> torch.Tensor:
    try:
        return state[name]
    except KeyError:
        raise ModelLoadError(f"{where}: weight {name!r} is missing from the checkpoint") from None


def _with_prefix(state: dict[str, torch.Tensor], family: str) -> dict[str, torch.Tensor]:
    """A bare encoder checkpoint (``BertModel``) names weights without the ``bert.`` prefix."""
    pre = HF_PREFIX[family] + "."
    if any(k.startswith(pre) for k in state):
        return state
    return {(k if k.startswith(_HEAD_PREFIXES) else pre + k): v for k, v in state.items()}


def convert_hf_state(
    state: dict[str, torch.Tensor], cfg: EncoderConfig, where: Path, *, with_head: bool = True
) -> dict[str, torch.Tensor]:
    """HF state dict → nerve state dict (q/k/v fused). ``with_head=False`` for bare encoders."""
    state = _with_prefix(_legacy_norm_names(state), cfg.family)
    out: dict[str, torch.Tensor] = {}
    for ours, theirs in name_map(cfg).items():
        if not with_head and ours.startswith("classifier."):
            continue
        if isinstance(theirs, tuple):
            out[ours] = torch.cat([_take(state, t, where) for t in theirs], dim=0)
        else:
            out[ours] = _take(state, theirs, where)
    return out


def to_hf_state(model: torch.nn.Module) -> dict[str, torch.Tensor]:
    """nerve module → HF-named tensors (q/k/v split), loadable by transformers unchanged."""
    ours = model.state_dict()
    out: dict[str, torch.Tensor] = {}
    for name, theirs in name_map(model.cfg).items():  # type: ignore[arg-type]
        tensor = ours[name]
        if isinstance(theirs, tuple):
            for part, hf_name in zip(tensor.chunk(len(theirs), dim=0), theirs, strict=True):
                out[hf_name] = part.contiguous()
        else:
            out[theirs] = tensor.contiguous()
    return out


def read_safetensors(path: Path) -> dict[str, torch.Tensor]:
    try:
        return load_file(str(path))
    except Exception as exc:  # safetensors raises several types for a corrupt file
        raise ModelLoadError(f"{path} cannot be read as safetensors: {exc}") from None


def load_model(
    model_dir: Path, cfg: EncoderConfig, *, with_head: bool = True, dropout: float = 0.0
) -> TokenClassifier:
    """Build a TokenClassifier and fill it from ``model.safetensors`` (validating every shape).

    ``with_head=False`` loads a bare encoder and leaves the classifier freshly initialised
    (the start of fine-tuning).
    """
    if cfg.family == GRAPH_ONLY:
        raise UnsupportedArchitecture(
            f"{model_dir}: nerve has no own encoder for this architecture; it runs only from "
            "its ONNX graph (--backend onnx)"
        )
    path = model_dir / "model.safetensors"
    if not path.exists():
        if (model_dir / "pytorch_model.bin").exists():
            raise ModelLoadError(
                f"{model_dir} holds only pytorch_model.bin, a pickle that nerve never loads "
                "(it can run arbitrary code). Convert it once, where you trust the file, "
                "with: python -c "
                '"from transformers import AutoModelForTokenClassification as M; '
                f"M.from_pretrained('{model_dir}').save_pretrained('{model_dir}', "
                'safe_serialization=True)"'
            )
        raise ModelLoadError(f"{model_dir}: model.safetensors is missing")
    state = convert_hf_state(read_safetensors(path), cfg, model_dir, with_head=with_head)
    # Every family's classifier shares TokenClassifier's interface (forward(ids, mask), cfg,
    # classifier); the type names the BERT one for the callers written against it.
    model = cast(TokenClassifier, build_model(cfg, dropout=dropout))
    expected = model.state_dict()
    for name, tensor in state.items():
        if tuple(tensor.shape) != tuple(expected[name].shape):
            raise ModelLoadError(
                f"{model_dir}: weight {name_map(cfg)[name]!r} has shape {tuple(tensor.shape)}, "
                f"config.json implies {tuple(expected[name].shape)}"
                + (" (labels in id2label vs classifier size)" if "classifier" in name else "")
            )
    model.load_state_dict({k: v.float() for k, v in state.items()}, strict=with_head)
    return model.eval()


def save_model(model: TokenClassifier, path: Path, dtype: torch.dtype = torch.float32) -> None:
    tensors = {k: v.detach().to("cpu", dtype) for k, v in to_hf_state(model).items()}
    save_file(tensors, str(path), metadata={"format": "pt"})
