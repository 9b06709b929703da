"""``nlp.to_disk`` / ``spacy.load`` with the ``nerve_ner`` component: a saved pipeline holds
its model and patterns and loads where it is moved to, after the files its config names are
gone (config.cfg kept only their paths before, so a moved pipeline failed to load)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

spacy = pytest.importorskip("spacy")
pytest.importorskip("torch")

import nerve
import nerve.spacy  # noqa: F401 (registers the factory in this process)
from nerve.errors import DataError, InvalidInput, ModelLoadError
from nerve.spacy import storage

TEXTS = [
    "Apple opened an office in the U.K. with Tim Cook.",
    "ACME sued Amazon Web Services in Berlin.",
    "Nothing to see here.",
]
PATTERNS = (
    '{"label": "GPE", "pattern": "U.K."}\n'
    '{"label": "COMPANY", "pattern": "acme", "ignore_case": true}\n'
    '{"label": "COMPANY", "pattern": "Amazon Web Services", "id": "aws"}\n'
)


def ents(nlp: Any) -> list[list[tuple[str, str, str, int, int]]]:
    return [
        [(e.label_, e.id_, e.text, e.start_char, e.end_char) for e in doc.ents]
        for doc in nlp.pipe(TEXTS)
    ]


def files_under(path: Path) -> list[str]:
    return sorted(str(p.relative_to(path)) for p in path.rglob("*") if p.is_file())


def test_a_moved_pipeline_loads_its_own_model_and_patterns(
    tiny_model_dir: Any, tmp_path: Path
) -> None:
    model = tmp_path / "model"
    shutil.copytree(tiny_model_dir("bert"), model)
    (model / "pytorch_model.bin").write_bytes(b"pickle nerve never reads")
    patterns = tmp_path / "patterns.jsonl"
    patterns.write_text(PATTERNS, encoding="utf-8")
    nlp = spacy.blank("en")
    nlp.add_pipe(
        "nerve_ner",
        config={"model": str(model), "patterns": str(patterns), "ignore_labels": ["O", "MISC"]},
    )
    before = ents(nlp)
    assert any(label == "COMPANY" for doc in before for label, *_ in doc)  # patterns applied
    nlp.to_disk(tmp_path / "saved")

    folder = tmp_path / "saved" / "nerve_ner"
    stored = files_under(folder)
    assert "model/config.json" in stored and "model/model.safetensors" in stored
    assert "model/pytorch_model.bin" not in stored  # a format nerve never loads
    assert "patterns.jsonl" in stored

    # The files the config names are gone; the pipeline is somewhere else.
    shutil.rmtree(model)
    patterns.unlink()
    moved = shutil.move(str(tmp_path / "saved"), str(tmp_path / "elsewhere"))
    loaded = spacy.load(moved)
    assert ents(loaded) == before
    component = loaded.get_pipe("nerve_ner")
    assert component.engine.model_dir == Path(moved) / "nerve_ner" / "model"
    assert "COMPANY" in component.labels and "GPE" in component.labels
    # The component's options are the config's, as saved.
    assert component.options["ignore_labels"] == ["O", "MISC"]


def test_the_embedded_model_is_not_copied(tmp_path: Path) -> None:
    patterns = tmp_path / "patterns.jsonl"
    patterns.write_text(PATTERNS, encoding="utf-8")
    nlp = spacy.blank("en")
    nlp.add_pipe("nerve_ner", config={"patterns": str(patterns)})
    before = ents(nlp)
    nlp.to_disk(tmp_path / "saved")
    folder = tmp_path / "saved" / "nerve_ner"
    assert files_under(folder) == ["nerve_ner.json", "patterns.jsonl"]
    state = json.loads((folder / "nerve_ner.json").read_text(encoding="utf-8"))
    assert state["model"] == "embedded" and state["patterns_overlap"] == "rules"
    patterns.unlink()
    assert ents(spacy.load(tmp_path / "saved")) == before


def test_the_overlap_policy_is_kept(tiny_model_dir: Any, tmp_path: Path) -> None:
    patterns = tmp_path / "patterns.jsonl"
    patterns.write_text(PATTERNS, encoding="utf-8")
    engine = nerve.load(
        tiny_model_dir("bert"),
        patterns=nerve.patterns.Patterns.from_jsonl(patterns, overlap="model"),
    )
    storage.save(engine, tmp_path / "folder")
    args = storage.stored_load_arguments(tmp_path / "folder")
    assert args is not None
    assert args["patterns"].overlap == "model"

    def rules(patterns: Any) -> list[tuple[Any, ...]]:
        return [(p.label, p.text, p.id, p.ignore_case) for p in patterns.patterns]

    assert rules(args["patterns"]) == rules(engine.patterns)


def test_saving_again_replaces_the_folder_whole(tiny_model_dir: Any, tmp_path: Path) -> None:
    nlp = spacy.blank("en")
    nlp.add_pipe("nerve_ner", config={"model": str(tiny_model_dir("bert"))})
    nlp.to_disk(tmp_path / "saved")
    (tmp_path / "saved" / "nerve_ner" / "patterns.jsonl").write_text(PATTERNS, encoding="utf-8")
    nlp.to_disk(tmp_path / "saved")  # no patterns now: the stale file must not survive
    assert "patterns.jsonl" not in files_under(tmp_path / "saved" / "nerve_ner")
    assert not [p for p in (tmp_path / "saved").iterdir() if ".partial-" in p.name]


def test_a_pipeline_saved_before_nerve_stored_anything_uses_its_config(
    tiny_model_dir: Any, tmp_path: Path
) -> None:
    """No component folder (as nerve ≤ 0.x saved them): the config's paths still work."""
    nlp = spacy.blank("en")
    nlp.add_pipe("nerve_ner", config={"model": str(tiny_model_dir("bert"))})
    before = ents(nlp)
    nlp.to_disk(tmp_path / "saved")
    shutil.rmtree(tmp_path / "saved" / "nerve_ner")
    assert ents(spacy.load(tmp_path / "saved")) == before


def test_a_damaged_state_file_is_named(tmp_path: Path) -> None:
    nlp = spacy.blank("en")
    nlp.add_pipe("nerve_ner")
    nlp.to_disk(tmp_path / "saved")
    state = tmp_path / "saved" / "nerve_ner" / "nerve_ner.json"
    state.write_text("{not json", encoding="utf-8")
    with pytest.raises(DataError, match="nerve_ner.json cannot be read"):
        spacy.load(tmp_path / "saved")
    state.write_text('{"format": 99}', encoding="utf-8")
    with pytest.raises(DataError, match="not a nerve_ner folder of format 1"):
        spacy.load(tmp_path / "saved")
    state.write_text('{"format": 1, "model": "../../etc"}', encoding="utf-8")
    with pytest.raises(DataError, match="'model' must be 'embedded' or 'model'"):
        spacy.load(tmp_path / "saved")


def test_the_model_loads_at_first_use_or_initialize(tmp_path: Path) -> None:
    """The factory only checks the run settings; a missing model fails when it is needed."""
    nlp = spacy.blank("en")
    with pytest.raises(InvalidInput, match="unknown backend 'tf'"):
        nlp.add_pipe("nerve_ner", config={"backend": "tf"})
    with pytest.raises(InvalidInput, match="threads must be a positive integer"):
        nlp.add_pipe("nerve_ner", config={"threads": 0})
    missing = str(tmp_path / "no-such-model")
    component = nlp.add_pipe("nerve_ner", config={"model": missing})
    assert component.labels == ()  # nothing loaded yet
    with pytest.raises(ModelLoadError, match="no-such-model"):
        nlp.initialize()
    with pytest.raises(ModelLoadError, match="no-such-model"):
        nlp("Tim Cook")
