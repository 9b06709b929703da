"""What ``read_spec`` and ``nerve info`` say of the ELECTRA and CamemBERT families, and the
config options nerve refuses rather than run wrongly."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

import nerve
from nerve.errors import UnsupportedArchitecture
from nerve.model.inspect import describe
from nerve.model.spec import read_spec


@pytest.mark.parametrize(
    ("arch", "family", "tokenizer", "embedding_width"),
    [
        ("electra", "electra", "WordPiece", 32),
        ("electra-proj", "electra", "WordPiece", 16),
        ("camembert", "roberta", "Unigram", 32),
    ],
)
def test_spec_and_info(
    tiny_model_dir: Any, arch: str, family: str, tokenizer: str, embedding_width: int
) -> None:
    model_dir = tiny_model_dir(arch)
    spec = read_spec(model_dir)
    assert spec.family == family and spec.encoder.embedding_width == embedding_width
    info = describe(model_dir)
    assert (info["family"], info["tokenizer"], info["max_length"]) == (family, tokenizer, 64)
    assert info["formats"] == ["safetensors"] and info["parameters"] > 10_000


def test_relative_position_embeddings_are_refused_by_name(
    tiny_model_dir: Any, tmp_path: Path
) -> None:
    model_dir = tmp_path / "m"
    shutil.copytree(tiny_model_dir("electra"), model_dir)
    config = json.loads((model_dir / "config.json").read_text())
    config["position_embedding_type"] = "relative_key"
    (model_dir / "config.json").write_text(json.dumps(config))
    with pytest.raises(UnsupportedArchitecture, match="position_embedding_type 'relative_key'"):
        nerve.load(model_dir)
