"""``nerve train`` on a small slice of CoNLL-2003: loads in transformers and nerve identically."""

from __future__ import annotations

import json
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from nerve.data.conll import conll_dir

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")

import nerve  # noqa: E402
from nerve.train.trainer import TrainConfig, train  # noqa: E402

DATA = conll_dir()
pytestmark = pytest.mark.skipif(not (DATA / "eng.train").exists(), reason="CoNLL-2003 absent")
TEXTS = ["Peter Blackburn met Angela Merkel in Berlin.", "EU rejects German call to boycott lamb."]


def _config(base: Path, out: Path, **kw: Any) -> TrainConfig:
    settings: dict[str, Any] = {
        "epochs": 2,
        "lr": 5e-3,
        "batch_size": 16,
        "limit_train": 96,
        "limit_dev": 32,
        "max_length": 48,
    }
    return TrainConfig(
        base=base, train=DATA / "eng.train", dev=DATA / "eng.testa", out=out, **(settings | kw)
    )


@pytest.fixture(scope="module")
def trained(tiny_model_dir: Any, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("train") / "model"
    result = train(_config(tiny_model_dir("bert"), out), progress=False, log=lambda _: None)
    assert result.best_epoch in (1, 2) and len(result.dev_f1) == 2
    return out


def test_trained_model_matches_in_transformers_and_nerve(trained: Path) -> None:
    assert {"config.json", "model.safetensors", "tokenizer.json"} <= {
        p.name for p in trained.iterdir()
    }
    model = transformers.AutoModelForTokenClassification.from_pretrained(trained).eval()
    tok = transformers.AutoTokenizer.from_pretrained(trained)
    assert model.config.id2label[0] == "O" and "B-PER" in model.config.label2id
    engine = nerve.load(trained, backend="torch")
    # The training length is the model's window, in transformers and in nerve.
    assert tok.model_max_length == 48 and engine.max_length == 48
    for strategy in ("none", "simple", "first", "average", "max"):
        pipe = transformers.pipeline(
            "ner", model=model, tokenizer=tok, aggregation_strategy=strategy, device="cpu"
        )
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            for text in TEXTS:
                theirs = pipe(text)
                ours = engine(text, aggregation_strategy=strategy).to_pipeline()
                key = "entity" if strategy == "none" else "entity_group"
                assert [(e[key], e["start"], e["end"], e["word"]) for e in theirs] == [
                    (e[key], e["start"], e["end"], e["word"]) for e in ours
                ]
                np.testing.assert_allclose(
                    [e["score"] for e in ours], [float(e["score"]) for e in theirs], atol=1e-4
                )


def test_training_is_deterministic(tiny_model_dir: Any, trained: Path, tmp_path: Path) -> None:
    from safetensors.numpy import load_file

    again = tmp_path / "again"
    train(_config(tiny_model_dir("bert"), again), progress=False, log=lambda _: None)
    a, b = (
        load_file(str(trained / "model.safetensors")),
        load_file(str(again / "model.safetensors")),
    )
    assert a.keys() == b.keys()
    for key in a:
        np.testing.assert_array_equal(a[key], b[key], err_msg=key)


def test_interrupted_run_leaves_nothing(
    tiny_model_dir: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def interrupt(*args: Any, **kwargs: Any) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr("nerve.train.output.save_model", interrupt)
    out = tmp_path / "model"
    with pytest.raises(KeyboardInterrupt):
        train(_config(tiny_model_dir("bert"), out, max_steps=2), progress=False, log=lambda _: None)
    assert list(tmp_path.iterdir()) == []


def test_refuses_existing_output_before_training(tiny_model_dir: Any, trained: Path) -> None:
    from nerve.errors import InvalidInput

    with pytest.raises(InvalidInput, match="already exists"):
        train(_config(tiny_model_dir("bert"), trained), progress=False)


def test_joined_training_adds_runs_of_sentences(tiny_model_dir: Any, tmp_path: Path) -> None:
    logged: list[str] = []
    out = tmp_path / "joined"
    cfg = _config(tiny_model_dir("bert"), out, joined=True, max_steps=3)
    train(cfg, progress=False, log=logged.append)
    assert any("96 sentences and" in line and "runs of joined sentences" in line for line in logged)
    assert json.loads((out / "training.json").read_text())["train_config"]["joined"] is True
    assert nerve.load(out, backend="torch").predict_words([["Peter", "Blackburn"]])[0].labels


def test_second_stage_keeps_the_head_and_labels_every_piece(trained: Path, tmp_path: Path) -> None:
    logged: list[str] = []
    out = tmp_path / "stage2"
    cfg = _config(
        trained,
        out,
        keep_head=True,
        label_all_pieces=True,
        symbol_noise=0.5,
        negatives=10,
        max_steps=2,
        lr=1e-9,  # so small that the kept head must still be the first stage's
    )
    train(cfg, progress=False, log=logged.append)
    assert any("copies with symbols, 10 entity-free runs" in line for line in logged)
    settings = json.loads((out / "training.json").read_text())["train_config"]
    assert settings["keep_head"] and settings["label_all_pieces"]
    first = nerve.load(trained, backend="torch").encode(TEXTS[0])[0].logits
    second = nerve.load(out, backend="torch").encode(TEXTS[0])[0].logits
    assert np.abs(first - second).max() < 1e-3  # a fresh head would change every logit


def test_a_max_length_past_the_bases_positions_is_refused_before_training(
    tiny_model_dir: Any, tmp_path: Path
) -> None:
    """It ran into an IndexError in the embeddings (the tiny BERT has 64 positions)."""
    from nerve.errors import InvalidInput

    base = tiny_model_dir("bert")
    limit = json.loads((base / "config.json").read_text())["max_position_embeddings"]
    cfg = _config(base, tmp_path / "x", max_length=limit + 1, max_steps=1)
    with pytest.raises(InvalidInput, match=f"--max-length {limit + 1} is longer than the base"):
        train(cfg, progress=False, log=lambda _: None)
    assert not (tmp_path / "x").exists()


def test_keep_head_refuses_a_base_with_other_labels(tiny_model_dir: Any, tmp_path: Path) -> None:
    from nerve.errors import ModelLoadError

    # The tiny model's labels are not CoNLL's B-/I- × LOC/MISC/ORG/PER set.
    cfg = _config(tiny_model_dir("bert"), tmp_path / "x", keep_head=True, max_steps=1)
    with pytest.raises(ModelLoadError, match="--keep-head needs the base's labels"):
        train(cfg, progress=False, log=lambda _: None)


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("epochs", 0, "--epochs must be a positive integer, got 0"),
        ("batch_size", -1, "--batch-size must be a positive integer, got -1"),
        ("max_steps", 0, "--max-steps must be a positive integer"),
        ("limit_train", 0, "--limit-train must be a positive integer"),
        ("max_length", 4, "--max-length must be an integer >= 8, got 4"),
        ("lr", 0.0, "--lr must be above 0 and at most 1, got 0.0"),
        # Infinity passed `lr > 0` and trained every weight to NaN.
        ("lr", float("inf"), "--lr must be above 0 and at most 1, got inf"),
        ("weight_decay", float("inf"), "--weight-decay must be in .0, 10., got inf"),
        ("weight_decay", -0.1, "--weight-decay must be in .0, 10., got -0.1"),
        ("warmup", 1.0, "--warmup must be in [0, 1)"),
        ("dropout", -0.5, "--dropout must be in [0, 1)"),
        ("symbol_noise", 1.5, "--symbol-noise must be in [0, 1)"),
        ("negatives", -1, "--negatives must be an integer >= 0"),
    ],
)
def test_bad_settings_are_refused_before_anything_is_read(
    tmp_path: Path, field: str, value: object, message: str
) -> None:
    from nerve.errors import InvalidInput

    with pytest.raises(InvalidInput, match=message.replace("[", "\\[").replace(")", "\\)")):
        TrainConfig(
            tmp_path / "no-base",
            tmp_path / "no-train",
            tmp_path / "no-dev",
            tmp_path / "out",
            **{field: value},
        )  # type: ignore[arg-type]


def test_a_diverged_training_stops_and_writes_nothing(tiny_model_dir: Any, tmp_path: Path) -> None:
    """A non-finite loss trained on and wrote a model of NaN weights as the "best epoch"."""
    import shutil

    from safetensors.torch import load_file, save_file

    from nerve.train.trainer import TrainingDiverged

    base = tmp_path / "base"
    shutil.copytree(tiny_model_dir("bert"), base)
    weights = load_file(str(base / "model.safetensors"))
    name = next(k for k in weights if k.endswith("word_embeddings.weight"))
    weights[name][:] = float("nan")  # what a step at an absurd learning rate leaves
    save_file(weights, str(base / "model.safetensors"), metadata={"format": "pt"})
    out = tmp_path / "out"
    with pytest.raises(TrainingDiverged, match=r"loss is nan at step 1 \(epoch 1\).*lower --lr"):
        train(_config(base, out, max_steps=2), progress=False, log=lambda _: None)
    assert not out.exists()


def test_the_trained_model_is_readable_as_the_umask_allows(
    tiny_model_dir: Any, tmp_path: Path
) -> None:
    """The directory came out 0700 and model.safetensors 0600 (mkdtemp, safetensors): a
    model trained by one user could not be served by another."""
    import os
    import stat

    out = tmp_path / "model"
    old = os.umask(0o022)
    try:
        train(_config(tiny_model_dir("bert"), out, max_steps=1, epochs=1), progress=False,
              log=lambda _: None)  # fmt: skip
    finally:
        os.umask(old)
    assert stat.S_IMODE(out.stat().st_mode) == 0o755
    modes = {p.name: stat.S_IMODE(p.stat().st_mode) for p in out.iterdir()}
    assert modes and set(modes.values()) == {0o644}, modes
