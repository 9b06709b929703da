"""A BERT- or RoBERTa-family tokenizer whose tokenizer.json says otherwise than its class would
build: transformers rebuilds the class's normalizer, pre-tokenizer and post-processor from
tokenizer_config.json, with the class's defaults for what it leaves out (and picks the class
from config.json's model_type when tokenizer_config.json names none), and so must nerve. It
read tokenizer.json alone and gave other tokens, hence other entities."""

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
# case: (architecture, settings to write into tokenizer_config.json (None: remove the key),
#        changes to tokenizer.json's components)
CASES = {
    "roberta-add-prefix-space": (
        "roberta",
        {"tokenizer_class": "RobertaTokenizer", "add_prefix_space": True},
        {},
    ),
    "bert-strip-accents-cased": (
        "bert",
        {"tokenizer_class": "BertTokenizer", "do_lower_case": False, "strip_accents": True},
        {},
    ),
    "bert-uncased-keeps-accents": (
        "bert-uncased",
        {"tokenizer_class": "BertTokenizerFast", "do_lower_case": True, "strip_accents": False},
        {},
    ),
    # Defaults: a cased tokenizer.json, a config that states no case and names no class. The
    # class comes from config.json's model_type, and lowercases by its default.
    "bert-class-from-model-type-lowercases": (
        "bert",
        {"tokenizer_class": None, "do_lower_case": None, "strip_accents": None},
        {"normalizer": {"type": "BertNormalizer", "clean_text": False,
                        "handle_chinese_chars": False, "strip_accents": None,
                        "lowercase": False},
         "pre_tokenizer": {"type": "Whitespace"}},
    ),
    # The class's defaults drop a normalizer and the prefix space tokenizer.json has.
    "roberta-defaults-over-tokenizer-json": (
        "roberta",
        {"tokenizer_class": "RobertaTokenizerFast", "add_prefix_space": None,
         "trim_offsets": None},
        {"normalizer": {"type": "Lowercase"},
         "pre_tokenizer": {"type": "ByteLevel", "add_prefix_space": True,
                           "trim_offsets": True, "use_regex": True}},
    ),
}  # fmt: skip


@pytest.fixture(scope="module")
def configured(tiny_model_dir: Any, tmp_path_factory: pytest.TempPathFactory) -> Any:
    made: dict[str, Path] = {}

    def build(case: str) -> Path:
        if case not in made:
            arch, settings, components = CASES[case]
            target = tmp_path_factory.mktemp(case) / arch
            shutil.copytree(tiny_model_dir(arch), target)
            path = target / "tokenizer_config.json"
            config = {**json.loads(path.read_text(encoding="utf-8")), **settings}
            config = {key: value for key, value in config.items() if value is not None}
            path.write_text(json.dumps(config), encoding="utf-8")
            path = target / "tokenizer.json"
            tokenizer = {**json.loads(path.read_text(encoding="utf-8")), **components}
            path.write_text(json.dumps(tokenizer), encoding="utf-8")
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


def test_the_model_type_table_is_transformers_own() -> None:
    from transformers.models.auto.tokenization_auto import TOKENIZER_MAPPING_NAMES

    from nerve.text.class_settings import _MODEL_TYPES

    families = {"BertTokenizer": "bert", "RobertaTokenizer": "roberta"}
    theirs = {
        model_type: families[name]
        for model_type, name in TOKENIZER_MAPPING_NAMES.items()
        if isinstance(name, str) and name in families
    }
    assert theirs == _MODEL_TYPES
