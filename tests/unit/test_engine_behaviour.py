"""Engine behaviour that is nerve's own: invariance, offsets, bad input, model errors."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from support.texts import LONG_TEXT, TRICKY_TEXTS

pytest.importorskip("torch")

import nerve  # noqa: E402
from nerve.decode.words import words_of  # noqa: E402
from nerve.errors import InputTooLong, InvalidInput, ModelLoadError, UnsupportedArchitecture  # noqa: E402

STRATEGIES = ["none", "simple", "first", "average", "max"]


@pytest.fixture(scope="module")
def engine(tiny_model_dir: Any) -> nerve.Engine:
    return nerve.load(tiny_model_dir("bert"), backend="torch", max_batch_tokens=256)


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_text_alone_equals_text_in_mixed_batch(engine: nerve.Engine, strategy: str) -> None:
    batch = TRICKY_TEXTS * 4 + [LONG_TEXT] * 3
    together = engine(batch, aggregation_strategy=strategy)
    for text, result in zip(batch, together, strict=True):
        alone = engine(text, aggregation_strategy=strategy)
        assert [(e.label, e.start, e.end, e.word) for e in alone.entities] == [
            (e.label, e.start, e.end, e.word) for e in result.entities
        ]
        assert [e.score for e in alone.entities] == pytest.approx(
            [e.score for e in result.entities], abs=1e-5
        )


@pytest.mark.parametrize("arch", ["bert", "roberta", "xlm-roberta", "bert-uncased"])
def test_offsets_slice_the_surface_text(tiny_model_dir: Any, arch: str) -> None:
    eng = nerve.load(tiny_model_dir(arch), backend="torch")
    for strategy in STRATEGIES:
        for result in eng([*TRICKY_TEXTS, LONG_TEXT], aggregation_strategy=strategy):
            for e in result.entities:
                # Byte-level BPE has pure-space pieces whose trimmed span is empty.
                assert 0 <= e.start <= e.end <= len(result.text)
                if arch == "bert":
                    # Cased WordPiece: the decoded pieces spell exactly the surface text.
                    surface = "".join(result.text[e.start : e.end].split())
                    assert surface == "".join(e.word.replace("##", "").split())


def test_empty_string_has_no_entities(engine: nerve.Engine) -> None:
    assert engine("").entities == ()
    assert engine(["", "  "], aggregation_strategy="none", ignore_labels=[])[0].entities == ()


@pytest.mark.parametrize("bad", [None, 3, b"bytes", ["ok", None], [1.5]])
def test_non_string_input_is_refused(engine: nerve.Engine, bad: Any) -> None:
    with pytest.raises(InvalidInput, match="string"):
        engine(bad)


def test_unknown_aggregation_is_named(engine: nerve.Engine) -> None:
    with pytest.raises(InvalidInput, match="'maximum'.*none, simple, first, average, max"):
        engine("x", aggregation_strategy="maximum")


def test_unknown_option_is_named(engine: nerve.Engine) -> None:
    with pytest.raises(InvalidInput, match="aggregation"):
        engine("x", aggregation="simple")


def test_bad_direction_and_stride(engine: nerve.Engine) -> None:
    with pytest.raises(InvalidInput, match="truncation_direction"):
        engine("x", truncation_direction="up")
    with pytest.raises(InvalidInput, match="stride 62 must be smaller"):
        engine("x", stride=62)


def test_truncate_cuts_and_windows_keep_everything(engine: nerve.Engine) -> None:
    windowed = engine(LONG_TEXT, aggregation_strategy="none", ignore_labels=[])
    right = engine(LONG_TEXT, aggregation_strategy="none", ignore_labels=[], truncate=True)
    left = engine(
        LONG_TEXT,
        aggregation_strategy="none",
        ignore_labels=[],
        truncate=True,
        truncation_direction="Left",
    )
    assert len(right.entities) == len(left.entities) == engine.max_length - 2
    assert right.entities[0].start == 0 and left.entities[-1].end == len(LONG_TEXT.rstrip())
    # Windows cover the whole text: the last token ends at the end of the text.
    assert windowed.entities[-1].end == len(LONG_TEXT.rstrip())
    covered = {(e.start, e.end) for e in windowed.entities}
    assert {(e.start, e.end) for e in right.entities} <= covered


def test_windows_can_be_forbidden(engine: nerve.Engine) -> None:
    with pytest.raises(InputTooLong, match="longer than the model's window"):
        engine(LONG_TEXT, allow_windows=False)
    assert engine("short", allow_windows=False).text == "short"


def test_encode_of_a_long_text_without_truncation_says_what_to_pass(engine: nerve.Engine) -> None:
    # The default, as in vLLM: an over-long text is refused, not silently cut.
    for call in (
        lambda: engine.encode(LONG_TEXT),
        lambda: engine.encode(LONG_TEXT, truncate=False),
    ):
        with pytest.raises(InputTooLong) as caught:
            call()
        assert caught.value.message.endswith(
            "tokens; encode() runs one window per text: pass truncate=True"
        )
    assert len(engine.encode(LONG_TEXT, truncate=True)[0].tokens) == engine.max_length


def test_raw_scores_are_logits(engine: nerve.Engine) -> None:
    text = TRICKY_TEXTS[0]
    tokens = engine(text, aggregation_strategy="none", ignore_labels=[], raw_scores=True)
    logits = engine.encode(text)[0].logits
    for e in tokens.entities:
        assert e.raw == pytest.approx(logits[e.index].tolist(), abs=1e-6)
    # Windowed text: a token shared by two windows carries the logits it was labelled from.
    long = engine(LONG_TEXT, aggregation_strategy="none", ignore_labels=[], raw_scores=True)
    assert len(engine.tokenize([LONG_TEXT], nerve.InferenceOptions())[0].windows) > 1
    for e in long.entities:
        assert (
            e.raw is not None
            and engine.labels[max(range(len(e.raw)), key=e.raw.__getitem__)] == e.label
        )
    grouped = engine(text, aggregation_strategy="simple", raw_scores=True)
    assert all(e.raw is not None and len(e.raw) == len(engine.labels) for e in grouped.entities)


def test_presplit_words_get_one_label_each(engine: nerve.Engine) -> None:
    words = [["Peter", "Blackburn", "went", "to", "Brussels", "😀", ""], []]
    out = engine.predict_words(words)
    assert [len(w.labels) for w in out] == [7, 0]
    assert all(label in engine.labels for label in out[0].labels)
    # Same label as the first sub-word's argmax in the text view of the same words (the
    # same tokens, so the same logits: the tiny fixture models differ from run to run, as
    # tokenizers' trainers are not deterministic, so only like may be compared with like).
    tokens = engine(" ".join(words[0]), aggregation_strategy="none", ignore_labels=[])
    first_piece = {e.start: e.label for e in reversed(tokens.entities)}
    starts = [0, 6, 16, 21, 24, 33]
    assert list(out[0].labels[:6]) == [first_piece[s] for s in starts]


def test_result_conversions(engine: nerve.Engine) -> None:
    result = engine(TRICKY_TEXTS[0])
    spacy = result.to_spacy()
    assert spacy["text"] == TRICKY_TEXTS[0]
    assert [(x["start"], x["end"], x["label"]) for x in spacy["ents"]] == [
        (e.start, e.end, e.label) for e in result.entities
    ]
    assert [d["entity_group"] for d in result.to_pipeline()] == [e.label for e in result.entities]


# -- model loading errors -----------------------------------------------------------------


def _copy(src: Path, dst: Path) -> Path:
    shutil.copytree(src, dst)
    return dst


def test_missing_tokenizer(tiny_model_dir: Any, tmp_path: Path) -> None:
    d = _copy(tiny_model_dir("bert"), tmp_path / "m")
    (d / "tokenizer.json").unlink()
    with pytest.raises(ModelLoadError, match="tokenizer.json is missing"):
        nerve.load(d, backend="torch")


def test_labels_do_not_match_head(tiny_model_dir: Any, tmp_path: Path) -> None:
    d = _copy(tiny_model_dir("bert"), tmp_path / "m")
    cfg = json.loads((d / "config.json").read_text())
    cfg["id2label"] = {"0": "O", "1": "B-PER", "2": "I-PER"}
    cfg["label2id"] = {"O": 0, "B-PER": 1, "I-PER": 2}
    (d / "config.json").write_text(json.dumps(cfg))
    with pytest.raises(ModelLoadError, match="classifier.weight.*labels in id2label"):
        nerve.load(d, backend="torch")


def test_wrong_weight_shape(tiny_model_dir: Any, tmp_path: Path) -> None:
    d = _copy(tiny_model_dir("bert"), tmp_path / "m")
    cfg = json.loads((d / "config.json").read_text())
    cfg["intermediate_size"] = 64
    (d / "config.json").write_text(json.dumps(cfg))
    with pytest.raises(ModelLoadError, match="intermediate.dense.weight.*shape"):
        nerve.load(d, backend="torch")


def test_pickle_only_is_refused_with_conversion_hint(tiny_model_dir: Any, tmp_path: Path) -> None:
    d = _copy(tiny_model_dir("bert"), tmp_path / "m")
    (d / "model.safetensors").rename(d / "pytorch_model.bin")
    with pytest.raises(ModelLoadError, match="pickle.*safetensors"):
        nerve.load(d)


def test_unsupported_architecture_is_named(tiny_model_dir: Any, tmp_path: Path) -> None:
    d = _copy(tiny_model_dir("bert"), tmp_path / "m")
    cfg = json.loads((d / "config.json").read_text())
    cfg["architectures"] = ["GPT2ForTokenClassification"]
    (d / "config.json").write_text(json.dumps(cfg))
    with pytest.raises(UnsupportedArchitecture, match="GPT2ForTokenClassification"):
        nerve.load(d)


def test_missing_labels_and_bad_json(tiny_model_dir: Any, tmp_path: Path) -> None:
    d = _copy(tiny_model_dir("bert"), tmp_path / "m")
    cfg = json.loads((d / "config.json").read_text())
    del cfg["id2label"]
    (d / "config.json").write_text(json.dumps(cfg))
    with pytest.raises(ModelLoadError, match="id2label"):
        nerve.load(d)
    (d / "config.json").write_text("{not json")
    with pytest.raises(ModelLoadError, match="not valid JSON"):
        nerve.load(d)
    (d / "config.json").write_text('{"vocab_size": ' + "9" * 4301 + "}")
    with pytest.raises(ModelLoadError, match="not valid JSON: a number has more than 4,300"):
        nerve.load(d)


def test_not_a_model(tmp_path: Path) -> None:
    with pytest.raises(ModelLoadError, match="config.json is missing"):
        nerve.load(tmp_path)
    with pytest.raises(ModelLoadError, match="neither a directory nor a Hub id"):
        nerve.load(str(tmp_path / "nope"))


def test_hub_id_goes_through_the_resolver(tiny_model_dir: Any) -> None:
    calls: list[tuple[str, str | None]] = []

    def fake_resolver(repo_id: str, revision: str | None = None) -> str:
        calls.append((repo_id, revision))
        return str(tiny_model_dir("bert"))

    eng = nerve.load(
        "dslim/bert-base-NER", backend="torch", resolver=fake_resolver, revision="main"
    )
    assert calls == [("dslim/bert-base-NER", "main")]
    assert eng.model_id == "dslim/bert-base-NER"

    def offline(repo_id: str, revision: str | None = None) -> str:
        raise OSError("no network")

    with pytest.raises(ModelLoadError) as caught:
        nerve.load("dslim/bert-base-NER", resolver=offline)
    assert caught.value.message == (
        "'dslim/bert-base-NER' is not a local directory, and cannot be fetched from the "
        "Hugging Face Hub: no network"
    )


def test_a_mistyped_local_path_that_reads_as_a_hub_id_says_both(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def offline(repo_id: str, revision: str | None = None) -> str:
        raise OSError("no network")

    (tmp_path / "models").mkdir()
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ModelLoadError) as caught:
        nerve.load("models/my-ner", resolver=offline)
    assert caught.value.message.startswith(
        "'models/my-ner' is not a local directory (./models is a local directory: is the "
        "model elsewhere in it?), and cannot be fetched from the Hugging Face Hub"
    )


@pytest.mark.parametrize("dtype", ["bfloat16", "float16"])
def test_half_precision_on_cpu_agrees_with_float32(tiny_model_dir: Any, dtype: str) -> None:
    fp32 = nerve.load(tiny_model_dir("bert"), backend="torch")
    half = nerve.load(tiny_model_dir("bert"), backend="torch", dtype=dtype)
    assert half.backend.dtype == dtype
    a, b = fp32.encode(TRICKY_TEXTS), half.encode(TRICKY_TEXTS)
    agree = np.mean(
        [np.mean(x.logits.argmax(-1) == y.logits.argmax(-1)) for x, y in zip(a, b, strict=True)]
    )
    assert agree > 0.9
    assert max(float(np.abs(x.logits - y.logits).max()) for x, y in zip(a, b, strict=True)) < 0.2


def test_unknown_backend_and_dtype_are_named(tiny_model_dir: Any) -> None:
    with pytest.raises(InvalidInput, match="unknown backend 'tensorrt'"):
        nerve.load(tiny_model_dir("bert"), backend="tensorrt")
    with pytest.raises(InvalidInput, match="dtype must be one of"):
        nerve.load(tiny_model_dir("bert"), backend="torch", dtype="int4")


@pytest.mark.skipif(__import__("torch").cuda.is_available(), reason="this machine has CUDA")
def test_cuda_without_cuda_is_a_clear_error(tiny_model_dir: Any) -> None:
    with pytest.raises(InvalidInput, match="CUDA is not available"):
        nerve.load(tiny_model_dir("bert"), backend="torch", device="cuda")


@pytest.mark.parametrize("stride", [0, 3, 8])
def test_presplit_words_over_windows_take_each_token_from_its_best_window(
    engine: nerve.Engine, stride: int
) -> None:
    """A long word list runs in overlapping windows; each word's label must be its first
    sub-word's, from the window that strategy ``none`` keeps that token from (the one where it
    is furthest from an edge), whatever window it first appeared in."""
    words = LONG_TEXT.split()
    options = {"window": 24, "stride": stride}
    assert (
        len(engine.tokenize([words], nerve.InferenceOptions(**options), presplit=True)[0].windows)
        > 3
    )
    (out,) = engine.predict_words([words], **options)
    text = " ".join(words)
    tokens = engine(text, aggregation_strategy="none", ignore_labels=[], **options)
    first_piece = {e.start: e.label for e in reversed(tokens.entities)}
    starts = np.cumsum([0] + [len(w) + 1 for w in words[:-1]])
    assert list(out.labels) == [first_piece[int(s)] for s in starts]


@pytest.mark.parametrize("direction", ["right", "left"])
def test_truncated_word_lists_say_which_words_were_read(
    engine: nerve.Engine, direction: str
) -> None:
    """The words cut off were given O with score 0.0, indistinguishable from a prediction."""
    words = LONG_TEXT.split()
    options = {"window": 16, "truncate": True, "truncation_direction": direction}
    (out,) = engine.predict_words([words], **options)
    assert out.read_span is not None
    first, end = out.read_span
    assert 0 < end - first < len(words)
    assert (first == 0) if direction == "right" else (end == len(words))
    unread = [i for i in range(len(words)) if not first <= i < end]
    assert all(out.labels[i] == "O" and out.scores[i] == 0.0 for i in unread)
    assert all(out.scores[i] > 0.0 for i in range(first, end))  # each read word is predicted
    # The read words are those of the text's own read span, cut the same way.
    text = " ".join(words)
    span = engine(text, **options).read_span
    assert span is not None
    starts = np.cumsum([0] + [len(w) + 1 for w in words[:-1]])
    inside = [i for i, s in enumerate(starts) if span[0] <= s < span[1]]
    assert (inside[0], inside[-1] + 1) == (first, end)
    (whole,) = engine.predict_words([words[:5]], truncate=True)
    assert whole.read_span is None  # nothing cut


@pytest.mark.parametrize("stride", [0, 3, 8])
def test_word_strategy_over_windows_groups_the_stitched_tokens_once(
    engine: nerve.Engine, stride: int
) -> None:
    """``word`` on a windowed text: each whitespace word is labelled by its first sub-word
    as strategy ``none`` keeps it (from its best window), then words are grouped once, so no
    word or entity is cut or doubled at a window edge."""
    text = " ".join(w.strip(".,;!?") for w in LONG_TEXT.split())  # no punctuation to trim
    options = {"window": 24, "stride": stride}
    assert len(engine.tokenize([text], nerve.InferenceOptions(**options))[0].windows) > 3
    tokens = engine(text, aggregation_strategy="none", ignore_labels=[], **options).entities
    first_piece = {e.start: e.label for e in reversed(tokens)}
    words = words_of(text)  # the words of strategy word
    expected: list[tuple[int, int, str]] = []
    previous_kind = None  # the type of the previous word's entity, None after an O word
    for start, end in words:
        label = first_piece[start]
        kind = None if label == "O" else label[2:]
        if kind is not None and label.startswith("I-") and previous_kind == kind:
            expected[-1] = (expected[-1][0], end, kind)
        elif kind is not None:
            expected.append((start, end, kind))
        previous_kind = kind
    assert len(expected) >= 3  # the tiny model labels enough words for this to mean something
    got = engine(text, aggregation_strategy="word", **options).entities
    assert [(e.start, e.end, e.label) for e in got] == expected
    raw = engine(text, aggregation_strategy="word", raw_scores=True, **options).entities
    assert [e.start for e in raw] == [e.start for e in got]
    assert all(e.raw is not None and len(e.raw) == len(engine.labels) for e in raw)


def test_spread_batches_give_the_same_logits(onnx_model_dir: Path) -> None:
    """The server's grouping by length (spread) changes only how windows share model calls."""
    engine = nerve.load(onnx_model_dir, backend="onnx", threads=2)
    encoded = engine.tokenize(TRICKY_TEXTS * 3 + [LONG_TEXT], nerve.engine.core.options_from({}))
    windows = [w for e in encoded for w in e.windows]
    plain = engine.run_windows(windows)
    spread = engine.run_windows(windows, spread=True)
    assert len(plain) == len(spread) == len(windows)
    for a, b, w in zip(plain, spread, windows, strict=True):
        assert a.shape == b.shape == (len(w), len(engine.labels))
        np.testing.assert_allclose(a, b, atol=1e-4)


@pytest.mark.parametrize("arch", ["bert", "roberta", "xlm-roberta"])
@pytest.mark.parametrize(
    "options",
    [{}, {"stride": 4}, {"truncate": True}, {"truncate": True, "truncation_direction": "left"}],
    ids=["sentence-windows", "token-windows", "truncate", "truncate-left"],
)
def test_one_text_is_tokenized_as_in_a_batch(
    tiny_model_dir: Any, arch: str, options: dict[str, Any]
) -> None:
    """One input takes ``Tokenizer.encode`` (no thread pool, no GIL hand-off), several take
    ``encode_batch``: the windows must be the same either way."""
    eng = nerve.load(tiny_model_dir(arch), backend="torch")
    opts = nerve.engine.core.options_from(options)
    texts = [*TRICKY_TEXTS, LONG_TEXT]
    words = [text.split() or ["x"] for text in texts]
    for presplit, inputs in ((False, texts), (True, words)):
        together = eng.tokenize(inputs, opts, presplit=presplit)
        for item, batched in zip(inputs, together, strict=True):
            (alone,) = eng.tokenize([item], opts, presplit=presplit)
            assert alone.read_span == batched.read_span
            assert len(alone.windows) == len(batched.windows)
            for a, b in zip(alone.windows, batched.windows, strict=True):
                assert a.ids.tolist() == b.ids.tolist() and a.tokens == b.tokens
                assert a.offsets.tolist() == b.offsets.tolist()
                assert a.special.tolist() == b.special.tolist()


def test_a_lone_surrogate_is_a_named_error_not_a_tokenizer_crash(engine: nerve.Engine) -> None:
    with pytest.raises(
        InvalidInput, match="input 1 is not valid Unicode: lone surrogate at character 4"
    ):
        engine(["fine", "Tim \udc00 Cook"])
    with pytest.raises(InvalidInput, match="input 0, word 1 is not valid Unicode"):
        engine.predict_words([["Tim", "\ud800"]])
    assert engine("Tim Cook 🚀").text == "Tim Cook 🚀"  # astral characters are fine


def test_more_threads_than_cpus_is_refused_naming_the_flag(tiny_model_dir: Any) -> None:
    import os

    cpus = len(os.sched_getaffinity(0))
    with pytest.raises(InvalidInput, match=rf"at most the {cpus} CPUs .* got {cpus + 1}$"):
        nerve.load(tiny_model_dir("bert"), threads=cpus + 1)
    assert nerve.load(tiny_model_dir("bert"), threads=cpus)("Paris").text == "Paris"


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            {"num_attention_heads": 0},
            "'num_attention_heads' must be between 1 and 1,048,576, got 0",
        ),
        ({"hidden_size": -384}, "'hidden_size' must be between 1 and 1,048,576, got -384"),
        ({"max_position_embeddings": 10**12}, "'max_position_embeddings' must be between"),
        ({"hidden_size": "384"}, "'hidden_size' must be an integer, got '384'"),
        ({"type_vocab_size": -1}, "'type_vocab_size' must not be negative"),
        ({"hidden_act": "silu"}, "unsupported activation 'silu'; nerve's encoders know"),
    ],
)
def test_a_broken_config_is_a_model_load_error(
    tiny_model_dir: Any, tmp_path: Path, change: dict[str, Any], message: str
) -> None:
    """Each of these ended in a traceback of torch (ZeroDivisionError, a negative dimension,
    an allocation of terabytes) or of nerve's own module builder."""
    d = _copy(tiny_model_dir("bert"), tmp_path / "m")
    cfg = json.loads((d / "config.json").read_text())
    (d / "config.json").write_text(json.dumps({**cfg, **change}))
    with pytest.raises(ModelLoadError, match=re.escape(message)):
        nerve.load(d, backend="torch")


def test_an_unknown_device_is_refused_naming_the_flag(tiny_model_dir: Any) -> None:
    with pytest.raises(
        InvalidInput, match=r"device \(--device\) must be cpu, cuda or cuda:N, got 'gpu'"
    ):
        nerve.load(tiny_model_dir("bert"), device="gpu")


def test_ignore_labels_none_is_the_pipelines_default(engine: nerve.Engine) -> None:
    """The pipeline takes ignore_labels=None as ["O"]; nerve refused it."""
    text = "Tim Cook visited Paris."
    assert engine(text, ignore_labels=None) == engine(text)
    assert engine(text, aggregation_strategy="none", ignore_labels=None) == engine(
        text, aggregation_strategy="none", ignore_labels=["O"]
    )


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"raw_scores": "no"}, "raw_scores must be True or False, got 'no'"),
        ({"truncate": "false"}, "truncate must be True or False, got 'false'"),
        ({"allow_windows": 0}, "allow_windows must be True or False, got 0"),
        ({"stride": True}, "stride must be a non-negative integer, got True"),
        ({"window": True}, "window must be an integer >= 3, got True"),
        ({"ignore_labels": [1]}, "ignore_labels must be label names"),
    ],
)
def test_options_of_the_wrong_type_are_refused(
    engine: nerve.Engine, options: dict[str, Any], message: str
) -> None:
    """Truthiness made "no" and "false" mean yes."""
    with pytest.raises(InvalidInput, match=re.escape(message)):
        engine("Tim Cook", **options)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"model": 5}, "model must be a directory, a .nerve bundle or a Hub id, got int"),
        ({"onnx_file": 5}, "onnx_file must be a file name or a variant, got 5"),
        ({"threads": True}, "threads takes a number, not True/False"),
        ({"max_batch_tokens": True}, "max_batch_tokens takes a number, not True/False"),
        ({"backend": "tensorflow"}, "unknown backend 'tensorflow'"),
        ({"backend": "onnx", "dtype": "float32"}, "dtype 'float32' asked, but the onnx backend"),
    ],
)
def test_load_arguments_of_the_wrong_kind_are_refused(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(InvalidInput, match=re.escape(message)):
        nerve.load(**kwargs)


def test_a_torch_precision_asked_for_picks_the_torch_backend() -> None:
    """The default model ships an int8 graph and safetensors: float32 asked → torch float32."""
    engine = nerve.load(dtype="float32")
    assert engine.info()["dtype"] == "float32" and engine.backend.device == "cpu"


def test_predict_words_refuses_what_shapes_entities(engine: nerve.Engine) -> None:
    """They were accepted and did nothing."""
    for option in ({"aggregation_strategy": "none"}, {"raw_scores": True}):
        with pytest.raises(InvalidInput, match="predict_words gives one label per word"):
            engine.predict_words([["Tim", "Cook"]], **option)
    assert engine.predict_words([["Tim", "Cook"]], window=16)[0].words == ("Tim", "Cook")
