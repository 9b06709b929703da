"""DeBERTa-v2/v3 and ModernBERT: nerve's own encoders against transformers, end to end.

Every config of ``support.tiny_families`` (shared/separate position keys, log buckets or
clamped distances, c2p/p2c; local windows shorter than the text, biases, rotary bases, the
8,192-token window) is compared on logits, on entities for all five strategies over the
tricky texts, and on long texts cut into windows.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import pytest

from support.texts import LONG_TEXT, TRICKY_TEXTS
from support.tiny_families import FAMILY_ARCHS

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")

import nerve  # noqa: E402

STRATEGIES = ["none", "simple", "first", "average", "max"]
# Configs with the tiny 64-token window (the long-window config has its own tests).
WINDOWED = tuple(name for name in FAMILY_ARCHS if not name.endswith("-long"))
# About 2,500 tokens: many local windows (±16) and one model window of 8,192.
LONG_DOCUMENT = " ".join([LONG_TEXT] * 5)


def _pipeline(model_dir: Any, strategy: str) -> Any:
    tok = transformers.AutoTokenizer.from_pretrained(model_dir)
    model = transformers.AutoModelForTokenClassification.from_pretrained(model_dir).eval()
    return transformers.pipeline(
        "token-classification", model=model, tokenizer=tok, aggregation_strategy=strategy
    )


def _compare(ours: list[dict[str, Any]], theirs: list[dict[str, Any]], text: str) -> None:
    key = "entity" if theirs and "entity" in theirs[0] else "entity_group"
    assert [(e[key], e["start"], e["end"], e["word"]) for e in theirs] == [
        (e.get("entity", e.get("entity_group")), e["start"], e["end"], e["word"]) for e in ours
    ], text
    np.testing.assert_allclose(
        [e["score"] for e in ours], [float(e["score"]) for e in theirs], atol=1e-4, rtol=0
    )


def _reference_logits(model_dir: Any, texts: list[str]) -> list[tuple[list[int], np.ndarray]]:
    tok = transformers.AutoTokenizer.from_pretrained(model_dir)
    model = transformers.AutoModelForTokenClassification.from_pretrained(model_dir).eval()
    out = []
    for text in texts:
        enc = tok(text, return_tensors="pt", truncation=True)
        with torch.no_grad():
            out.append((enc["input_ids"][0].tolist(), model(**enc).logits[0].numpy()))
    return out


@pytest.mark.parametrize("name", FAMILY_ARCHS)
def test_encode_logits_equal_transformers(family_model_dir: Any, name: str) -> None:
    model_dir = family_model_dir(name)
    engine = nerve.load(model_dir, backend="torch")
    texts = [*TRICKY_TEXTS, LONG_DOCUMENT] if name.endswith("-long") else list(TRICKY_TEXTS)
    views = engine.encode(texts)
    for text, view, (ids, ref) in zip(
        texts, views, _reference_logits(model_dir, texts), strict=True
    ):
        assert view.ids.tolist() == ids, text
        np.testing.assert_allclose(view.logits, ref, atol=1e-4, rtol=0, err_msg=text[:40])
    if name.endswith("-long"):
        assert len(views[-1].ids) > 2000  # the whole document in one window


@pytest.mark.parametrize("name", WINDOWED)
@pytest.mark.parametrize("strategy", STRATEGIES)
def test_entities_equal_pipeline(family_model_dir: Any, name: str, strategy: str) -> None:
    model_dir = family_model_dir(name)
    engine = nerve.load(model_dir, backend="torch")
    pipe = _pipeline(model_dir, strategy)
    results = engine(TRICKY_TEXTS, aggregation_strategy=strategy)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the pipeline's "fallback heuristic" warning
        for text, ours in zip(TRICKY_TEXTS, results, strict=True):
            _compare(ours.to_pipeline(), pipe(text), text)


@pytest.mark.parametrize("name", WINDOWED)
@pytest.mark.parametrize("strategy", ["simple", "first", "average", "max"])
def test_long_text_windows_equal_pipeline(family_model_dir: Any, name: str, strategy: str) -> None:
    model_dir = family_model_dir(name)
    engine = nerve.load(model_dir, backend="torch")
    stride = 8 if strategy != "first" else 20
    windows = engine.tokenize([LONG_TEXT], nerve.InferenceOptions(stride=stride))[0].windows
    assert len(windows) > 2
    ours = engine(LONG_TEXT, aggregation_strategy=strategy, stride=stride)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        theirs = _pipeline(model_dir, strategy)(LONG_TEXT, stride=stride)
    _compare(ours.to_pipeline(), theirs, LONG_TEXT)


@pytest.mark.parametrize("strategy", ["simple", "max"])
def test_long_document_in_one_modernbert_window(family_model_dir: Any, strategy: str) -> None:
    """ModernBERT's own 8,192-token window: a 2,500-token document is one window, and the
    entities equal the pipeline's (which also runs it whole)."""
    model_dir = family_model_dir("modernbert-long")
    engine = nerve.load(model_dir, backend="torch")
    assert engine.max_length == 8192
    assert len(engine.tokenize([LONG_DOCUMENT], nerve.InferenceOptions())[0].windows) == 1
    ours = engine(LONG_DOCUMENT, aggregation_strategy=strategy)
    assert ours.entities
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        theirs = _pipeline(model_dir, strategy)(LONG_DOCUMENT)
    _compare(ours.to_pipeline(), theirs, LONG_DOCUMENT[:60])
