"""A tokenizer_config.json that states, for a class-specific tokenizer, a setting its
tokenizer.json does not have: transformers tokenizes by the config (it rebuilds the class's
normalizer, pre-tokenizer and post-processor from it), and so must nerve. It read
tokenizer.json alone and gave other tokens, hence other entities."""

from __future__ import annotations

import json
import shutil
import warnings
from pathlib import Path
from typing import Any

import pytest
from test_engine_vs_pipeline import STRATEGIES, _compare, _pipeline  # this folder

from support.texts import TRICKY_TEXTS

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")

import nerve  # noqa: E402

TEXTS = [*TRICKY_TEXTS, "Señor Müller visitó Zürich y São Paulo con Ångström."]
CASES = {
    "roberta-add-prefix-space": (
        "roberta",
        {"tokenizer_class": "RobertaTokenizer", "add_prefix_space": True},
    ),
    "bert-strip-accents-cased": (
        "bert",
        {"tokenizer_class": "BertTokenizer", "do_lower_case": False, "strip_accents": True},
    ),
    "bert-uncased-keeps-accents": (
        "bert-uncased",
        {"tokenizer_class": "BertTokenizerFast", "do_lower_case": True, "strip_accents": False},
    ),
}  # fmt: skip


@pytest.fixture(scope="module")
def configured(tiny_model_dir: Any, tmp_path_factory: pytest.TempPathFactory) -> Any:
    made: dict[str, Path] = {}

    def build(case: str) -> Path:
        if case not in made:
            arch, settings = CASES[case]
            target = tmp_path_factory.mktemp(case) / arch
            shutil.copytree(tiny_model_dir(arch), target)
            path = target / "tokenizer_config.json"
            config = json.loads(path.read_text(encoding="utf-8"))
            path.write_text(json.dumps({**config, **settings}), encoding="utf-8")
            made[case] = target
        return made[case]

    return build


@pytest.mark.parametrize("case", CASES)
def test_tokens_follow_the_config(configured: Any, case: str) -> None:
    model_dir = configured(case)
    reference = transformers.AutoTokenizer.from_pretrained(model_dir)
    engine = nerve.load(model_dir, backend="torch")
    changed = 0
    for text, view in zip(TEXTS, engine.encode(TEXTS), strict=True):
        ids = reference(text, truncation=True)["input_ids"]
        assert view.ids.tolist() == ids, text
        plain = transformers.PreTrainedTokenizerFast(
            tokenizer_file=str(model_dir / "tokenizer.json")
        )
        changed += plain(text, truncation=True)["input_ids"] != ids
    assert changed, "the setting changes no text's tokens: the case tests nothing"


@pytest.mark.parametrize("case", CASES)
@pytest.mark.parametrize("strategy", STRATEGIES)
def test_entities_equal_pipeline(configured: Any, case: str, strategy: str) -> None:
    model_dir = configured(case)
    engine = nerve.load(model_dir, backend="torch")
    pipe = _pipeline(model_dir, strategy)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for text, ours in zip(TEXTS, engine(TEXTS, aggregation_strategy=strategy), strict=True):
            _compare(ours.to_pipeline(), pipe(text), text)
