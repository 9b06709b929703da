"""Token classifiers nerve has no own encoder for run from their ONNX graph.

A tiny seeded ALBERT (SentencePiece-style Unigram vocabulary) and MPNet (WordPiece) are
exported with ``torch.onnx`` in the test, into a directory with no safetensors at all; nerve
must read the graph's inputs, check its output against the labels, and give exactly the
transformers pipeline's entities (the pipeline runs the same weights in PyTorch).
"""

from __future__ import annotations

import shutil
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from support.texts import LONG_TEXT, TRICKY_TEXTS
from support.tiny_models import DSLIM_LABELS, _unigram, _wordpiece

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")
pytest.importorskip("onnxruntime")
pytest.importorskip("onnx")

import nerve  # noqa: E402
from nerve.errors import ModelLoadError, UnsupportedArchitecture  # noqa: E402

STRATEGIES = ["none", "simple", "first", "average", "max"]
GRAPH_ONLY = {
    # name: (transformers model class, config class, tokenizer, graph inputs)
    "albert": ("AlbertForTokenClassification", "AlbertConfig", _unigram, 3),
    "mpnet": ("MPNetForTokenClassification", "MPNetConfig", lambda: _wordpiece(False), 2),
}
INPUTS = ("input_ids", "attention_mask", "token_type_ids")


def _export(model: Any, dest: Path, inputs: tuple[str, ...], extra_input: bool = False) -> None:
    """``extra_input``: the graph also takes ``position_ids``, an input nerve does not feed."""
    names = list(inputs) + (["position_ids"] if extra_input else [])

    class Wrapper(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.model = model

        def forward(self, *args: torch.Tensor) -> torch.Tensor:
            return self.model(**dict(zip(names, args, strict=True))).logits

    probe = tuple(torch.ones((1, 5), dtype=torch.long) for _ in names)
    axes = {0: "batch_size", 1: "sequence_length"}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(
            Wrapper(),
            probe,
            str(dest),
            dynamo=False,
            input_names=names,
            output_names=["logits"],
            dynamic_axes={n: axes for n in (*names, "logits")},
            opset_version=17,
        )


def build_graph_only(out: Path, name: str, *, extra_input: bool = False) -> Path:
    """A model dir with config.json, tokenizer files and model.onnx, but no torch weights."""
    model_cls, config_cls, tokenizer, n_inputs = GRAPH_ONLY[name]
    tok, special = tokenizer()
    pad = tok.token_to_id(special["pad_token"])
    torch.manual_seed(0)
    config = getattr(transformers, config_cls)(
        vocab_size=tok.get_vocab_size(),
        hidden_size=32,
        embedding_size=16,  # ALBERT's factorised embeddings; MPNet ignores it
        num_hidden_layers=2,
        num_attention_heads=4,
        intermediate_size=48,
        max_position_embeddings=66 if name == "mpnet" else 64,
        pad_token_id=pad,
        id2label=dict(enumerate(DSLIM_LABELS)),
        label2id={lb: i for i, lb in enumerate(DSLIM_LABELS)},
    )
    model = getattr(transformers, model_cls)(config).eval()
    with torch.no_grad():
        # Random init leaves biases at zero, and the exporter stores equal constants once:
        # noise makes every weight distinct (and the parity check less forgiving).
        for param in model.parameters():
            param.add_(0.02 * torch.randn_like(param))
        model.classifier.weight.mul_(8.0)
    out.mkdir(parents=True)
    reference = out / "reference"  # the pipeline's copy (safetensors), outside the model dir
    model.save_pretrained(reference, safe_serialization=True)
    fast = transformers.PreTrainedTokenizerFast(
        tokenizer_object=tok, model_max_length=64, **special
    )
    fast.save_pretrained(reference)
    model_dir = out / "model"
    model_dir.mkdir()
    for file in reference.iterdir():
        if file.name != "model.safetensors":
            shutil.copy(file, model_dir / file.name)
    _export(model, model_dir / "model.onnx", INPUTS[:n_inputs], extra_input)
    return out


@pytest.fixture(scope="module", params=sorted(GRAPH_ONLY))
def graph_only(request: Any, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_graph_only(tmp_path_factory.mktemp(request.param) / request.param, request.param)


def _pipeline(model_dir: Path, strategy: str) -> Any:
    return transformers.pipeline(
        "token-classification",
        model=transformers.AutoModelForTokenClassification.from_pretrained(model_dir).eval(),
        tokenizer=transformers.AutoTokenizer.from_pretrained(model_dir),
        aggregation_strategy=strategy,
        device="cpu",
    )


def _same(ours: list[dict[str, Any]], theirs: list[dict[str, Any]], text: str) -> None:
    key = "entity" if theirs and "entity" in theirs[0] else "entity_group"
    assert [
        (e.get("entity", e.get("entity_group")), e["start"], e["end"], e["word"]) for e in ours
    ] == [(e[key], e["start"], e["end"], e["word"]) for e in theirs], text
    np.testing.assert_allclose(
        [e["score"] for e in ours], [float(e["score"]) for e in theirs], atol=1e-4, rtol=0
    )


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_graph_only_entities_equal_pipeline(graph_only: Path, strategy: str) -> None:
    engine = nerve.load(graph_only / "model")  # auto: no safetensors, a graph → onnx
    assert engine.backend.name == "onnx"
    pipe = _pipeline(graph_only / "reference", strategy)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for text, ours in zip(
            TRICKY_TEXTS, engine(TRICKY_TEXTS, aggregation_strategy=strategy), strict=True
        ):
            _same(ours.to_pipeline(), pipe(text), text)
        if strategy != "none":  # as in test_engine_vs_pipeline: windows are grouped strategies
            long_ours = engine(LONG_TEXT, aggregation_strategy=strategy, stride=16)
            _same(long_ours.to_pipeline(), pipe(LONG_TEXT, stride=16), LONG_TEXT)


def test_graph_only_info_counts_graph_parameters(graph_only: Path) -> None:
    from nerve.model.inspect import describe

    info = describe(graph_only / "model")
    reference = transformers.AutoModelForTokenClassification.from_pretrained(
        graph_only / "reference"
    )
    assert info["family"].endswith("(ONNX only)") and info["formats"] == ["onnx (model.onnx)"]
    # Every weight is one initializer (ALBERT's shared layer once, as in parameters()).
    assert info["parameters"] == sum(p.numel() for p in reference.parameters())


def test_graph_only_refuses_torch(graph_only: Path) -> None:
    with pytest.raises(UnsupportedArchitecture, match="no own encoder.*--backend onnx"):
        nerve.load(graph_only / "model", backend="torch")


def test_graph_input_nerve_cannot_feed_is_named(tmp_path: Path) -> None:
    out = build_graph_only(tmp_path / "x", "albert", extra_input=True)
    with pytest.raises(ModelLoadError, match=r"\['position_ids'\] cannot be fed"):
        nerve.load(out / "model")


def test_output_width_must_match_labels(graph_only: Path, tmp_path: Path) -> None:
    import json

    model_dir = tmp_path / "m"
    shutil.copytree(graph_only / "model", model_dir)
    config = json.loads((model_dir / "config.json").read_text())
    config["id2label"] = {"0": "O", "1": "B-X", "2": "I-X"}
    config.pop("label2id")
    (model_dir / "config.json").write_text(json.dumps(config))
    with pytest.raises(ModelLoadError, match=r"expected \[batch, sequence, 3\]"):
        nerve.load(model_dir)


def test_unsupported_architecture_without_graph_is_refused(
    graph_only: Path, tmp_path: Path
) -> None:
    model_dir = tmp_path / "m"
    shutil.copytree(graph_only / "reference", model_dir)  # safetensors only, no graph
    with pytest.raises(UnsupportedArchitecture, match="exported to ONNX"):
        nerve.load(model_dir)
