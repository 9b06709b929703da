"""End to end parity: nerve.load(dir)(text) == transformers pipeline("ner") on the same dir.

Parametrized over the four architectures (cased and uncased WordPiece, byte-level BPE,
Unigram/Metaspace), five strategies, tricky texts and texts longer than the window.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import pytest

from support.texts import LONG_TEXT, TRICKY_TEXTS
from support.tiny_models import ARCHS

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")

import nerve  # noqa: E402

STRATEGIES = ["none", "simple", "first", "average", "max"]


def _pipeline(model_dir: Any, strategy: str) -> Any:
    tok = transformers.AutoTokenizer.from_pretrained(model_dir)
    model = transformers.AutoModelForTokenClassification.from_pretrained(model_dir).eval()
    return transformers.pipeline(
        "token-classification",
        model=model,
        tokenizer=tok,
        aggregation_strategy=strategy,
        device="cpu",
    )


def _compare(ours: list[dict[str, Any]], theirs: list[dict[str, Any]], text: str) -> None:
    key = "entity" if theirs and "entity" in theirs[0] else "entity_group"
    assert [(e[key], e["start"], e["end"], e["word"]) for e in theirs] == [
        (e.get("entity", e.get("entity_group")), e["start"], e["end"], e["word"]) for e in ours
    ], text
    np.testing.assert_allclose(
        [e["score"] for e in ours], [float(e["score"]) for e in theirs], atol=1e-4, rtol=0
    )


@pytest.mark.parametrize("arch", ARCHS)
@pytest.mark.parametrize("strategy", STRATEGIES)
def test_entities_equal_pipeline(tiny_model_dir: Any, arch: str, strategy: str) -> None:
    model_dir = tiny_model_dir(arch)
    engine = nerve.load(model_dir, backend="torch")
    pipe = _pipeline(model_dir, strategy)
    results = engine(TRICKY_TEXTS, aggregation_strategy=strategy)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the pipeline's "fallback heuristic" warning
        for text, ours in zip(TRICKY_TEXTS, results, strict=True):
            _compare(ours.to_pipeline(), pipe(text), text)


@pytest.mark.parametrize("arch", ARCHS)
@pytest.mark.parametrize("strategy", ["simple", "first", "average", "max"])
@pytest.mark.parametrize("stride", [8, 20])
def test_long_text_windows_equal_pipeline_stride(
    tiny_model_dir: Any, arch: str, strategy: str, stride: int
) -> None:
    model_dir = tiny_model_dir(arch)
    engine = nerve.load(model_dir, backend="torch")
    ours = engine(LONG_TEXT, aggregation_strategy=strategy, stride=stride)
    assert len(engine.tokenize([LONG_TEXT], nerve.InferenceOptions(stride=stride))[0].windows) > 2
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        theirs = _pipeline(model_dir, strategy)(LONG_TEXT, stride=stride)
    _compare(ours.to_pipeline(), theirs, LONG_TEXT)


@pytest.mark.parametrize("arch", ARCHS)
def test_encode_logits_equal_transformers(tiny_model_dir: Any, arch: str) -> None:
    model_dir = tiny_model_dir(arch)
    engine = nerve.load(model_dir, backend="torch")
    tok = transformers.AutoTokenizer.from_pretrained(model_dir)
    model = transformers.AutoModelForTokenClassification.from_pretrained(model_dir).eval()
    for text, view in zip(TRICKY_TEXTS, engine.encode(TRICKY_TEXTS), strict=True):
        enc = tok(text, return_tensors="pt", truncation=True)
        assert view.ids.tolist() == enc["input_ids"][0].tolist()
        with torch.no_grad():
            ref = model(**enc).logits[0].numpy()
        np.testing.assert_allclose(view.logits, ref, atol=1e-4, rtol=0)
