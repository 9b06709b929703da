"""``decode_many`` (all windows of a call in one array pass) == ``decode`` text by text."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import nerve
from nerve.engine.core import options_from
from support.texts import LONG_TEXT, TRICKY_TEXTS

TEXTS = [*TRICKY_TEXTS, LONG_TEXT, "", LONG_TEXT + " " + LONG_TEXT]


def _logits(engine: Any, encoded: list[Any], seed: int, peaked: bool) -> list[list[np.ndarray]]:
    """Random logits per window; ``peaked`` makes most tokens ``O`` like a trained model."""
    rng = np.random.default_rng(seed)
    out = []
    for e in encoded:
        windows = []
        for w in e.windows:
            x = rng.standard_normal((len(w), len(engine.labels))).astype(np.float32)
            if peaked:
                x[:, 0] += np.where(rng.random(len(w)) < 0.8, 5.0, -5.0)
            windows.append(x)
        out.append(windows)
    return out


@pytest.mark.parametrize("arch", ["bert", "roberta", "xlm-roberta"])
@pytest.mark.parametrize("strategy", ["simple", "first", "none"])
@pytest.mark.parametrize("ignore", [("O",), (), ("O", "PER", "B-PER")])
def test_decode_many_equals_per_text_decode(
    tiny_model_dir: Any, arch: str, strategy: str, ignore: tuple[str, ...]
) -> None:
    engine = nerve.load(tiny_model_dir(arch), backend="torch")
    opts = options_from({"aggregation_strategy": strategy, "ignore_labels": list(ignore)})
    encoded = engine.tokenize(TEXTS, opts)
    assert any(len(e.windows) > 1 for e in encoded)  # windows are exercised
    for seed, peaked in [(0, False), (1, True)]:
        logits = _logits(engine, encoded, seed, peaked)
        expected = [engine.decode(e, lg, opts) for e, lg in zip(encoded, logits, strict=True)]
        assert engine.decode_many(encoded, logits, opts) == expected


def test_decode_many_with_raw_scores_and_nan(tiny_model_dir: Any) -> None:
    engine = nerve.load(tiny_model_dir("bert"), backend="torch")
    opts = options_from({"raw_scores": True})
    encoded = engine.tokenize(TEXTS, opts)
    logits = _logits(engine, encoded, 2, peaked=True)
    logits[0][0][1, :] = np.nan  # a NaN row: argmax and nanmean semantics must agree
    expected = [engine.decode(e, lg, opts) for e, lg in zip(encoded, logits, strict=True)]
    got = engine.decode_many(encoded, logits, opts)
    # NaN != NaN: compare the repr, which spells NaN the same on both sides.
    assert repr(got) == repr(expected)


def test_decode_many_rejects_mismatched_logits(tiny_model_dir: Any) -> None:
    engine = nerve.load(tiny_model_dir("bert"), backend="torch")
    opts = options_from({})
    encoded = engine.tokenize(["Peter met Angela in Berlin."], opts)
    bad = [[np.zeros((3, len(engine.labels)), dtype=np.float32)]]
    with pytest.raises(nerve.errors.InvalidInput):
        engine.decode_many(encoded, bad, opts)
