"""The tokenizer transformers really builds for a model of the BERT or RoBERTa families.

transformers 5 loads such a model's tokenizer as its class (``BertTokenizer``,
``RobertaTokenizer``): the class named by ``tokenizer_config.json``'s ``tokenizer_class``, or,
when none is named, the one that ``config.json``'s ``model_type`` maps to (``bert``,
``distilbert``, ``electra``, ``roberta``... see ``_MODEL_TYPES``). The class takes only the
vocabulary (and merges) from ``tokenizer.json`` and builds the rest afresh from the config's
arguments, with the class's defaults for arguments the config leaves out:

- BERT classes: a ``BertNormalizer`` (``clean_text`` on; ``do_lower_case``, default true;
  ``strip_accents``, default none; ``tokenize_chinese_chars``, default true), a
  ``BertPreTokenizer``, and WordPiece's defaults (``##``, 100 characters a word).
- RoBERTa classes: no normalizer, a ``ByteLevel`` pre-tokenizer with ``add_prefix_space``
  (default false), and ``RobertaProcessing`` with ``trim_offsets`` (default true) and
  ``add_prefix_space``; BPE without dropout, prefixes, suffixes or unknown token.

So a cased ``tokenizer.json`` under a config that leaves ``do_lower_case`` out is lowercased
by the pipeline (transformers 4's ``BertTokenizerFast`` did the same), and nerve, which reads
``tokenizer.json`` itself, must tokenize the same way or give other entities. The
special-token template is left as ``tokenizer.json`` has it: a saved tokenizer writes the
same tokens in both files.
"""

from __future__ import annotations

from typing import Any

# tokenizer_config.json "tokenizer_class" values, by the family of components they rebuild.
_CLASSES = {
    **{
        f"{name}{suffix}": "bert"
        for name in ("BertTokenizer", "DistilBertTokenizer", "ElectraTokenizer")
        for suffix in ("", "Fast")
    },
    "RobertaTokenizer": "roberta",
    "RobertaTokenizerFast": "roberta",
}
# config.json "model_type" values whose AutoTokenizer class (transformers 5.24,
# TOKENIZER_MAPPING_NAMES) is BertTokenizer or RobertaTokenizer, for a tokenizer_config.json
# that names no class. tests/parity/test_tokenizer_class_settings.py checks this table against
# the installed transformers.
_MODEL_TYPES = {
    **dict.fromkeys(
        [
            "align",
            "bark",
            "bert",
            "blip",
            "bros",
            "chinese_clip",
            "convbert",
            "distilbert",
            "electra",
            "ernie",
            "flava",
            "git",
            "grounding-dino",
            "layoutlm",
            "megatron-bert",
            "mm-grounding-dino",
            "nezha",
            "nomic_bert",
            "qdqbert",
            "realm",
            "retribert",
            "squeezebert",
            "tvp",
            "vilt",
            "visual_bert",
        ],
        "bert",
    ),
    **dict.fromkeys(
        [
            "bart",
            "bridgetower",
            "clap",
            "data2vec-text",
            "ibert",
            "lilt",
            "longformer",
            "mega",
            "mra",
            "roberta",
            "roberta-prelayernorm",
        ],
        "roberta",
    ),
}


def tokenizer_family(tokenizer_config: dict[str, Any], model_config: dict[str, Any]) -> str | None:
    """ "bert" or "roberta" when transformers loads this model's tokenizer as a class of that
    family (which rebuilds what ``apply_class_settings`` sets), else None."""
    cls = tokenizer_config.get("tokenizer_class")
    if isinstance(cls, str) and cls:
        return _CLASSES.get(cls)
    model_type = model_config.get("model_type")
    return _MODEL_TYPES.get(model_type) if isinstance(model_type, str) else None


def apply_class_settings(
    tokenizer_json: dict[str, Any], tokenizer_config: dict[str, Any], family: str
) -> bool:
    """Make ``tokenizer_json`` (a parsed tokenizer.json, changed in place) what the ``family``'s
    class builds from ``tokenizer_config``; whether anything changed."""
    before = repr(tokenizer_json)
    if family == "bert":
        _bert(tokenizer_json, tokenizer_config)
    elif family == "roberta":
        _roberta(tokenizer_json, tokenizer_config)
    return repr(tokenizer_json) != before


def _bert(data: dict[str, Any], config: dict[str, Any]) -> None:
    model = data.get("model")
    if not (isinstance(model, dict) and model.get("type") == "WordPiece"):
        return  # not a WordPiece vocabulary: the class would not load it either
    data["normalizer"] = {
        "type": "BertNormalizer",
        "clean_text": True,
        "handle_chinese_chars": _setting(config, "tokenize_chinese_chars", True),
        "strip_accents": _setting(config, "strip_accents", None),
        "lowercase": _setting(config, "do_lower_case", True),
    }
    data["pre_tokenizer"] = {"type": "BertPreTokenizer"}
    model["continuing_subword_prefix"] = "##"
    model["max_input_chars_per_word"] = 100


def _roberta(data: dict[str, Any], config: dict[str, Any]) -> None:
    model = data.get("model")
    if not (isinstance(model, dict) and model.get("type") == "BPE"):
        return
    add_prefix_space = _setting(config, "add_prefix_space", False)
    trim_offsets = _setting(config, "trim_offsets", True)
    data["normalizer"] = None
    data["pre_tokenizer"] = {
        "type": "ByteLevel",
        "add_prefix_space": add_prefix_space,
        "trim_offsets": True,
        "use_regex": True,
    }
    model.update(dropout=None, unk_token=None, continuing_subword_prefix="", end_of_word_suffix="")
    model["fuse_unk"] = False
    post = data.get("post_processor")
    if isinstance(post, dict) and post.get("type") == "RobertaProcessing":
        post["add_prefix_space"] = add_prefix_space
        post["trim_offsets"] = trim_offsets


def _setting(config: dict[str, Any], key: str, default: bool | None) -> bool | None:
    """The config's value for ``key``, or the class's default when it states none, null, or a
    value of another type (which these classes would not take as this setting)."""
    value = config.get(key)
    return value if isinstance(value, bool) else default
