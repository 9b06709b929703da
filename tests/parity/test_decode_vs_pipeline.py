"""nerve.decode must give what transformers' TokenClassificationPipeline gives.

Tiny seeded models and tokenizers are built here (nothing is downloaded). The same model
computes the logits for both sides, so any difference is a decoding difference.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pytest

transformers = pytest.importorskip("transformers")
torch = pytest.importorskip("torch")

from tokenizers import (  # noqa: E402
    Encoding,
    Tokenizer,
    decoders,
    models,
    normalizers,
    pre_tokenizers,
    processors,
    trainers,
)

from nerve.decode import (  # noqa: E402
    DecodeContext,
    WindowTokens,
    decode_text,
    softmax,
)
from nerve.types import Aggregation, Entity  # noqa: E402

# The pipeline warns on every word for first/average/max with non-WordPiece tokenizers.
pytestmark = pytest.mark.filterwarnings("ignore:Tokenizer does not support real words")

BIO = ("O", "B-MISC", "I-MISC", "B-PER", "I-PER", "B-ORG", "I-ORG", "B-LOC", "I-LOC")
# Labels without B-/I- count as I-; "DATE-TIME" / "E-ORG" are named "TIME" / "ORG" in groups.
MIXED = ("O", "PER", "B-LOC", "I-LOC", "DATE-TIME", "E-ORG", "ORG")
# The pipeline's strategies; nerve's own "word" has no pipeline counterpart.
STRATEGIES = [a.value for a in Aggregation if a is not Aggregation.WORD]

TEXTS = [
    "John Smith lives in New York.",
    "Microsoft was founded by Bill Gates in Albuquerque, New Mexico, in 1975!",
    "  leading and trailing spaces  ",
    "café Müller moved to Zürich; Ärger über Öl.",
    "東京 is in Japan (日本) and Berlin is in Germany.",
    "emoji 😀 party 🎉! and 👍🏽 thumbs",
    "repeated repeated repeated words words words",
    "numbers 12345 and 3.14159, 42% or $1,000,000.",
    "unknown chars ☃ ∑ ¤ McDonald's QWERTYuiop",
    "hyphen-ated words (parenthesized) 'quoted' \"double\" a/b",
    "tab\tseparated\nnew line\r\nand  double  spaces",
    "a",
    ".",
    " ",
    "",
    "John",
    "Paris Paris Paris Paris",
]

LONG_TEXTS = [
    " ".join(TEXTS[:11]),
    "In 1975 Bill Gates and Paul Allen founded Microsoft in Albuquerque. "
    "Later the company moved to Redmond, Washington, near Seattle; "
    "John Smith from New York and Marie Curie from Paris visited Berlin, Zürich and 東京 😀🎉 "
    "before returning to London in 2021.",
]


# ----------------------------------------------------------------------------- tokenizers


def _wordpiece(lowercase: bool) -> Tokenizer:
    specials = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    lower = "abcdefghijklmnopqrstuvwxyz"
    pieces = (
        list(lower)
        + list(lower.upper())
        + [f"##{c}" for c in lower]  # no "##" capitals: "McDonald" is one [UNK]
        + list("0123456789")
        + [f"##{d}" for d in "0123456789"]
        + list(".,;:!?'\"()-/$%&")
        + ["é", "##é", "ü", "##ü", "Ü", "東", "京", "日"]  # "本", "☃", emoji: [UNK]
        + ["John", "Smith", "lives", "in", "New", "York", "Paris", "Berlin", "the", "and", "was"]
        + ["by", "of", "is"]
        + ["Micro", "##soft", "Ge", "##rman", "##y", "Ba", "##ll", "words", "##ords", "rep"]
        + ["##eat", "##ed", "numbers", "##123", "##45"]
    )
    if lowercase:
        pieces = [p.lower() for p in pieces]
    vocab = {tok: i for i, tok in enumerate(dict.fromkeys(specials + pieces))}
    tok = Tokenizer(models.WordPiece(vocab, unk_token="[UNK]", max_input_chars_per_word=100))
    tok.normalizer = normalizers.BertNormalizer(lowercase=lowercase)
    tok.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    tok.post_processor = processors.BertProcessing(
        ("[SEP]", vocab["[SEP]"]), ("[CLS]", vocab["[CLS]"])
    )
    tok.decoder = decoders.WordPiece(prefix="##", cleanup=True)
    return tok


_CORPUS = [
    "John Smith lives in New York and works for Microsoft.",
    "Paris is the capital of France, Berlin the capital of Germany.",
    "Bill Gates founded Microsoft in 1975 in Albuquerque, New Mexico.",
    "The weather in London was rainy, repeated words words words.",
    "café Müller moved to Zürich 😀 and emoji 🎉 party.",
]


def _byte_level_bpe() -> Tokenizer:
    """RoBERTa-style: byte-level BPE, no continuing_subword_prefix, so the space heuristic."""
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=330,
        special_tokens=["<s>", "<pad>", "</s>", "<unk>", "<mask>"],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tok.train_from_iterator(_CORPUS, trainer)
    tok.post_processor = processors.RobertaProcessing(
        ("</s>", tok.token_to_id("</s>")),
        ("<s>", tok.token_to_id("<s>")),
        trim_offsets=True,
        add_prefix_space=False,
    )
    return tok


def _char_bpe_with_unk() -> Tokenizer:
    """Plain BPE with an unknown token and NO decoder (so words are " ".join(tokens))."""
    tok = Tokenizer(models.BPE(unk_token="<unk>"))
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    trainer = trainers.BpeTrainer(
        vocab_size=120, special_tokens=["<s>", "<pad>", "</s>", "<unk>"], show_progress=False
    )
    tok.train_from_iterator([t.encode("ascii", "ignore").decode() for t in _CORPUS], trainer)
    tok.post_processor = processors.TemplateProcessing(
        single="<s> $A </s>",
        special_tokens=[("<s>", tok.token_to_id("<s>")), ("</s>", tok.token_to_id("</s>"))],
    )
    return tok


_SPECIALS = {
    "wordpiece": dict(
        unk_token="[UNK]", cls_token="[CLS]", sep_token="[SEP]", pad_token="[PAD]",
        mask_token="[MASK]",
    ),
    "roberta": dict(
        unk_token="<unk>", cls_token="<s>", sep_token="</s>", pad_token="<pad>",
        mask_token="<mask>", bos_token="<s>", eos_token="</s>",
    ),
    "plain_bpe": dict(
        unk_token="<unk>", cls_token="<s>", sep_token="</s>", pad_token="<pad>",
        bos_token="<s>", eos_token="</s>",
    ),
}  # fmt: skip


@dataclass
class Setup:
    """One tokenizer + model pair, as the pipeline sees it and as nerve sees it."""

    hf_tokenizer: Any  # transformers.PreTrainedTokenizerFast
    model: Any  # transformers.BertForTokenClassification
    backend: Tokenizer  # nerve's own copy: no truncation, no padding
    ctx: DecodeContext

    def pipeline(self) -> Any:
        return transformers.pipeline(
            "token-classification", model=self.model, tokenizer=self.hf_tokenizer, device="cpu"
        )

    def probs(self, window: WindowTokens) -> np.ndarray:
        ids = torch.tensor(window.ids[None, :])
        with torch.no_grad():
            logits = self.model(input_ids=ids, attention_mask=torch.ones_like(ids)).logits
        return softmax(logits[0].float().numpy())


def _setup(build: Callable[[], Tokenizer], specials: str, labels: tuple[str, ...],
           seed: int, max_length: int = 128) -> Setup:  # fmt: skip
    tok = build()
    hf = transformers.PreTrainedTokenizerFast(
        tokenizer_object=tok, model_max_length=max_length, **_SPECIALS[specials]
    )
    torch.manual_seed(seed)
    config = transformers.BertConfig(
        vocab_size=tok.get_vocab_size(),
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=48,
        max_position_embeddings=160,
        id2label=dict(enumerate(labels)),
        label2id={label: i for i, label in enumerate(labels)},
    )
    model = transformers.BertForTokenClassification(config).eval()
    with torch.no_grad():
        # Random models are nearly uniform; sharpen them so labels vary from token to token.
        model.classifier.weight.mul_(20.0)
        model.classifier.bias.normal_(0.0, 1.0)
    backend = Tokenizer.from_str(hf.backend_tokenizer.to_str())
    backend.no_truncation()
    backend.no_padding()
    ctx = DecodeContext.from_tokenizer(backend, labels, _SPECIALS[specials]["unk_token"])
    return Setup(hf, model, backend, ctx)


_BUILDERS: dict[str, Callable[[int], Setup]] = {
    "wordpiece-cased": lambda n: _setup(lambda: _wordpiece(False), "wordpiece", BIO, 1, n),
    "wordpiece-uncased": lambda n: _setup(lambda: _wordpiece(True), "wordpiece", BIO, 2, n),
    "wordpiece-mixed-labels": lambda n: _setup(lambda: _wordpiece(False), "wordpiece", MIXED, 3, n),
    "byte-level-bpe": lambda n: _setup(_byte_level_bpe, "roberta", BIO, 4, n),
    "plain-bpe-unk": lambda n: _setup(_char_bpe_with_unk, "plain_bpe", MIXED, 5, n),
}  # fmt: skip
_CACHE: dict[tuple[str, int], Setup] = {}


def setup_for(name: str, max_length: int = 128) -> Setup:
    key = (name, max_length)
    if key not in _CACHE:
        _CACHE[key] = _BUILDERS[name](max_length)
    return _CACHE[key]


@pytest.fixture(autouse=True, scope="module")
def _one_torch_thread() -> Any:
    """The models are tiny: extra intra-op threads only contend with other work."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


# ----------------------------------------------------------------------------- comparison


def assert_same(ours: list[Entity], theirs: list[dict[str, Any]], where: str) -> None:
    mine = [e.to_pipeline_dict() for e in ours]
    exact = [{k: v for k, v in d.items() if k != "score"} for d in mine]
    expected = [{k: v for k, v in d.items() if k != "score"} for d in theirs]
    assert exact == expected, where
    for a, b in zip(mine, theirs, strict=True):
        assert abs(a["score"] - float(b["score"])) <= 1e-5, (where, a, b)


def _window(setup: Setup, encoding: Encoding) -> WindowTokens:
    return WindowTokens.from_encoding(encoding, setup.backend.id_to_token)


@pytest.mark.parametrize("name", list(_BUILDERS))
def test_setup_is_meaningful(name: str) -> None:
    """The fixtures must exercise what they are meant to: varied labels, sub-words, unk."""
    setup = setup_for(name)
    windows = [_window(setup, setup.backend.encode(t)) for t in TEXTS]
    predicted = {int(p.argmax()) for w in windows for p in setup.probs(w)}
    assert len(predicted) >= 4, predicted
    flat_ids = np.concatenate([w.ids for w in windows])
    assert setup.ctx.wordpiece_subwords == name.startswith("wordpiece")
    if name != "byte-level-bpe":
        assert setup.ctx.unk_id is not None and setup.ctx.unk_id in flat_ids
    # HF's tokenizer yields the very windows nerve builds from the backend copy.
    for text, w in zip(TEXTS, windows, strict=True):
        hf = setup.hf_tokenizer(text, return_offsets_mapping=True)
        assert hf["input_ids"] == w.ids.tolist()
        assert [tuple(o) for o in hf["offset_mapping"]] == [tuple(o) for o in w.offsets.tolist()]


@pytest.mark.parametrize("strategy", STRATEGIES)
@pytest.mark.parametrize("name", list(_BUILDERS))
def test_matches_pipeline(name: str, strategy: str) -> None:
    setup = setup_for(name)
    pipe = setup.pipeline()
    windows = [_window(setup, setup.backend.encode(t)) for t in TEXTS]
    probs = [setup.probs(w) for w in windows]
    for ignore in (["O"], []):
        expected = pipe(list(TEXTS), aggregation_strategy=strategy, ignore_labels=ignore)
        for text, w, p, theirs in zip(TEXTS, windows, probs, expected, strict=True):
            ours = decode_text(text, [w], [p], strategy, ignore, setup.ctx)
            assert_same(ours, theirs, f"{name}/{strategy}/ignore={ignore}: {text!r}")


def _overflow_windows(setup: Setup, text: str, max_length: int, stride: int) -> list[WindowTokens]:
    backend = Tokenizer.from_str(setup.backend.to_str())
    backend.enable_truncation(max_length, stride=stride)
    encoding = backend.encode(text)
    return [_window(setup, e) for e in [encoding, *encoding.overflowing]]


@pytest.mark.parametrize("stride", [0, 3, 8])
@pytest.mark.parametrize("name", ["wordpiece-cased", "byte-level-bpe", "wordpiece-mixed-labels"])
def test_matches_pipeline_with_stride(name: str, stride: int) -> None:
    max_length = 24
    setup = setup_for(name, max_length)
    pipe = setup.pipeline()
    for text in LONG_TEXTS:
        windows = _overflow_windows(setup, text, max_length, stride)
        assert len(windows) >= 4
        # The pipeline's preprocess makes exactly these windows (padded; pads are special).
        hf = setup.hf_tokenizer(
            text, truncation=True, return_overflowing_tokens=True, stride=stride, padding=True,
            return_special_tokens_mask=True, return_offsets_mapping=True,
        )  # fmt: skip
        assert len(hf["input_ids"]) == len(windows)
        for row, mask, offsets, w in zip(
            hf["input_ids"], hf["attention_mask"], hf["offset_mapping"], windows, strict=True
        ):
            n = sum(mask)
            assert row[:n] == w.ids.tolist()
            assert [tuple(o) for o in offsets[:n]] == [tuple(o) for o in w.offsets.tolist()]
        probs = [setup.probs(w) for w in windows]
        # Keeping "O" gives the merge the most overlapping entities; one run checks filtering.
        runs = [(s, []) for s in STRATEGIES[1:]] + [("first", ["O"])]
        for strategy, ignore in runs:
            theirs = pipe(text, aggregation_strategy=strategy, ignore_labels=ignore, stride=stride)
            ours = decode_text(text, windows, probs, strategy, ignore, setup.ctx)
            assert_same(ours, theirs, f"{name}/{strategy}/stride={stride}/ignore={ignore}")


@pytest.mark.parametrize("stride", [0, 1, 2, 5, 9])
@pytest.mark.parametrize("name", ["wordpiece-cased", "byte-level-bpe"])
def test_none_over_windows_keeps_each_token_once(name: str, stride: int) -> None:
    """The pipeline refuses ``none`` with stride; nerve returns the text's tokens once each."""
    setup = setup_for(name)
    # Many multi-byte characters so that windows cut through their byte pieces.
    text = LONG_TEXTS[1] + " 😀🎉👍🏽 東京 " * 3
    whole = _window(setup, setup.backend.encode(text))
    windows = _overflow_windows(setup, text, 16, stride)
    rng = np.random.default_rng(stride)
    probs = [softmax(rng.normal(size=(len(w), len(BIO))).astype(np.float32)) for w in windows]
    ours = decode_text(text, windows, probs, "none", [], setup.ctx)
    content = np.flatnonzero(~whole.special)
    assert [e.index for e in ours] == content.tolist()
    assert [e.token_id for e in ours] == whole.ids[content].tolist()
    assert [(e.start, e.end) for e in ours] == [tuple(o) for o in whole.offsets[content].tolist()]
