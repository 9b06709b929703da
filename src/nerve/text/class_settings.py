"""Settings a model's ``tokenizer_config.json`` states that transformers applies over its
``tokenizer.json``.

transformers 5 builds a class-specific tokenizer (``BertTokenizer``, ``RobertaTokenizer``)
from the config's arguments: ``BertTokenizer`` makes a fresh ``BertNormalizer`` from
``do_lower_case``, ``strip_accents`` and ``tokenize_chinese_chars``; ``RobertaTokenizer`` a
fresh ``ByteLevel`` pre-tokenizer and ``RobertaProcessing`` from ``add_prefix_space`` and
``trim_offsets``. When the config states one of these and ``tokenizer.json`` says otherwise,
the pipeline tokenizes by the config, so nerve must too (it read ``tokenizer.json`` alone, and
gave other tokens, hence other entities).

Only keys the config states are applied, onto the component ``tokenizer.json`` already has of
that kind: nerve does not guess the classes' defaults for keys a config leaves out (a
``save_pretrained`` tokenizer writes both files in agreement, so they never disagree there).
"""

from __future__ import annotations

from typing import Any

# tokenizer_config.json "tokenizer_class" values whose classes rebuild these components.
_BERT_CLASSES = frozenset(
    f"{name}{suffix}"
    for name in ("BertTokenizer", "DistilBertTokenizer", "ElectraTokenizer")
    for suffix in ("", "Fast")
)
_ROBERTA_CLASSES = frozenset({"RobertaTokenizer", "RobertaTokenizerFast"})

# config key → the BertNormalizer field it sets.
_BERT_NORMALIZER_KEYS = {
    "do_lower_case": "lowercase",
    "strip_accents": "strip_accents",
    "tokenize_chinese_chars": "handle_chinese_chars",
}


def wants_class_settings(config: dict[str, Any]) -> bool:
    """Whether ``config`` states a setting its class applies (cheap: before tokenizer.json,
    which may be tens of MB, is parsed)."""
    cls = config.get("tokenizer_class")
    if cls in _BERT_CLASSES:
        return any(key in config for key in _BERT_NORMALIZER_KEYS)
    if cls in _ROBERTA_CLASSES:
        return "add_prefix_space" in config or "trim_offsets" in config
    return False


def apply_class_settings(tokenizer_json: dict[str, Any], config: dict[str, Any]) -> list[str]:
    """Set in ``tokenizer_json`` (a parsed tokenizer.json, changed in place) what ``config``
    (a parsed tokenizer_config.json) states otherwise; the changes, as ``key=value``."""
    changed: list[str] = []
    cls = config.get("tokenizer_class")
    if cls in _BERT_CLASSES:
        normalizer = tokenizer_json.get("normalizer")
        if isinstance(normalizer, dict) and normalizer.get("type") == "BertNormalizer":
            for key, field in _BERT_NORMALIZER_KEYS.items():
                _set(normalizer, field, config, key, changed)
    elif cls in _ROBERTA_CLASSES:
        pre = tokenizer_json.get("pre_tokenizer")
        if isinstance(pre, dict) and pre.get("type") == "ByteLevel":
            _set(pre, "add_prefix_space", config, "add_prefix_space", changed)
            _set(pre, "trim_offsets", config, "trim_offsets", changed)
        post = tokenizer_json.get("post_processor")
        if isinstance(post, dict) and post.get("type") == "RobertaProcessing":
            _set(post, "add_prefix_space", config, "add_prefix_space", changed)
            _set(post, "trim_offsets", config, "trim_offsets", changed)
    return sorted(set(changed))


def _set(
    component: dict[str, Any], field: str, config: dict[str, Any], key: str, changed: list[str]
) -> None:
    if key not in config:
        return
    value = config[key]
    if not (value is None or isinstance(value, bool)):
        return  # not a setting these classes take: leave tokenizer.json's
    # None is a value only for strip_accents (it then follows lowercase).
    if (field == "strip_accents" or value is not None) and component.get(field) != value:
        component[field] = value
        changed.append(f"{key}={value}")
