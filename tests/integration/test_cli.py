"""The ``nerve`` CLI, run in-process through ``main(argv)`` and once as a real subprocess."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from nerve.cli.main import main

pytest.importorskip("torch")


@pytest.fixture(scope="module")
def model(tiny_model_dir: Any) -> str:
    return str(tiny_model_dir("bert"))


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    try:
        code = main(list(argv))
    except SystemExit as exc:  # argparse's own refusals (a flag's type) exit as the CLI does
        code = int(exc.code or 0)
    out, err = capsys.readouterr()
    return code, out, err


def test_infer_texts_json(model: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _run(capsys, "infer", "-m", model, "Apple is in Paris.", "EU rejects it.")
    assert code == 0
    data = json.loads(out)
    assert [d["text"] for d in data] == ["Apple is in Paris.", "EU rejects it."]
    for d in data:
        for e in d["entities"]:
            assert d["text"][e["start"] : e["end"]] == e["text"]


def test_infer_output_file_and_formats(
    model: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "results.json"
    assert _run(capsys, "infer", "-m", model, "Apple is in Paris.", "-o", str(out))[0] == 0
    assert json.loads(out.read_text())[0]["text"] == "Apple is in Paris."
    assert not list(tmp_path.glob(".*partial"))
    code, conll, _ = _run(capsys, "infer", "-m", model, "Apple is in Paris.", "-f", "conll")
    assert [line.split("\t")[0] for line in conll.strip().splitlines()] == [
        "Apple",
        "is",
        "in",
        "Paris.",
    ]
    assert all(line.split("\t")[1][:2] in ("O", "B-", "I-") for line in conll.strip().splitlines())
    code, page, _ = _run(capsys, "infer", "-m", model, "Apple <b>is</b> in Paris.", "-f", "html")
    assert page.startswith("<!DOCTYPE html>") and "<mark" in page
    assert "<b>" not in page and "&lt;" in page  # user text is escaped, never markup


def test_infer_input_file_text_and_jsonl(
    model: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    plain = tmp_path / "in.txt"
    plain.write_text("Apple is in Paris.\n\nEU rejects it.\n", encoding="utf-8")
    code, out, _ = _run(capsys, "infer", "-m", model, "--input", str(plain))
    rows = [json.loads(x) for x in out.splitlines()]
    assert [r["text"] for r in rows] == ["Apple is in Paris.", "", "EU rejects it."]
    jsonl = tmp_path / "in.jsonl"
    jsonl.write_text('{"text": "Apple is in Paris.", "id": 1}\n{"text": "Bonn"}\n')
    code, out, _ = _run(capsys, "infer", "-m", model, "--input", str(jsonl))
    assert [json.loads(x)["text"] for x in out.splitlines()] == ["Apple is in Paris.", "Bonn"]


def test_infer_reports_bad_input_with_file_and_line(
    model: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "bad.txt"
    bad.write_bytes(b"fine line\nbroken \xff\xfe line\n")
    target = tmp_path / "out.jsonl"
    code, _, err = _run(capsys, "infer", "-m", model, "--input", str(bad), "-o", str(target))
    assert code == 2 and f"{bad}:2: invalid UTF-8" in err
    assert not target.exists() and not list(tmp_path.glob(".*partial"))  # nothing half-written
    jsonl = tmp_path / "bad.jsonl"
    jsonl.write_text('{"text": "ok"}\n{"txt": "no"}\n')
    code, _, err = _run(capsys, "infer", "-m", model, "--input", str(jsonl))
    assert code == 2 and f"{jsonl}:2:" in err and "'text'" in err
    code, _, err = _run(capsys, "infer", "-m", model)
    assert code == 2 and "no input" in err
    code, _, err = _run(
        capsys, "infer", "-m", model, "x", "--aggregation", "simple", "--stride", "500"
    )
    assert code == 2 and "stride 500" in err


def test_infer_stdin_subprocess(model: str) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "nerve.cli.main", "infer", "-m", model, "--input", "-"],
        input="Apple is in Paris.\nBonn\n",
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    assert [json.loads(x)["text"] for x in proc.stdout.splitlines()] == [
        "Apple is in Paris.",
        "Bonn",
    ]


def test_info(model: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _run(capsys, "info", model, "--json")
    info = json.loads(out)
    assert info["architecture"] == "BertForTokenClassification"
    assert info["labels"][0] == "O" and info["max_length"] == 64 and info["parameters"] > 10_000


def test_eval_scores_and_rejects_unknown_tags(
    model: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = tmp_path / "mini.conll"
    data.write_text("Peter B-PER\nBlackburn I-PER\nvisited O\nBonn B-LOC\n\nEU B-ORG\n")
    code, out, _ = _run(capsys, "eval", "-m", model, "--data", str(data), "--json")
    assert code == 0
    report = json.loads(out)
    assert report["micro"]["support"] == 3 and 0.0 <= report["micro"]["f1"] <= 1.0
    bad = tmp_path / "bad.conll"
    bad.write_text("Peter B-PER\nToday B-DATE\n")
    code, _, err = _run(capsys, "eval", "-m", model, "--data", str(bad))
    assert code == 2 and f"{bad}:2" in err and "B-DATE" in err


def test_eval_can_join_sentences_into_windowed_inputs(
    model: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import nerve
    from nerve.data.conll import read_conll
    from nerve.eval.scoring import score

    sentence = "Peter B-PER\nBlackburn I-PER\nvisited O\nBonn B-LOC\nand O\nthe O\nEU B-ORG\n.\tO\n"
    data = tmp_path / "mini.conll"
    data.write_text("\n".join([sentence] * 6))
    args = ["--data", str(data), "--json", "--window", "12", "--stride", "3"]
    code, out, _ = _run(capsys, "eval", "-m", model, *args, "--sentences-per-input", "3")
    assert code == 0
    report = json.loads(out)
    # The same by hand: two inputs of three sentences, each run in 12-token windows.
    sentences = read_conll(data)
    engine = nerve.load(model)
    joined = [[w for s in sentences[i : i + 3] for w in s.words] for i in (0, 3)]
    assert (
        len(engine.tokenize(joined, nerve.InferenceOptions(window=12), presplit=True)[0].windows)
        > 2
    )
    labels = [list(w.labels) for w in engine.predict_words(joined, window=12, stride=3)]
    predicted = [labels[i // 3][(i % 3) * 8 : (i % 3) * 8 + 8] for i in range(6)]
    expected = score([s.tags for s in sentences], predicted)
    assert report["micro"]["f1"] == pytest.approx(expected.micro.f1)
    assert report["micro"]["support"] == 18
    assert report["inputs"] == {
        "aggregation": None,  # one label per pre-split word (the CoNLL protocol)
        "data": str(data),
        "sentences_per_input": 3,
        "window": 12,
        "stride": 3,
    }
    code, _, err = _run(capsys, "eval", "-m", model, "--data", str(data), "--window", "999")
    assert code == 2 and "window 999 exceeds the model's limit of 64 tokens" in err
    for flag in ("--sentences-per-input", "--batch-size"):
        code, _, err = _run(capsys, "eval", "-m", model, "--data", str(data), flag, "0")
        assert code == 2 and f"{flag} must be a positive integer, got 0" in err
    # Each names the flag the user typed (the library's checks name keyword arguments).
    for command, flag, value, message in [
        ("infer", "--threads", "0", "must be a positive integer, got 0"),
        ("infer", "--max-batch-tokens", "0", "must be a positive integer, got 0"),
        ("infer", "--window", "2", "must be an integer >= 3, got 2"),
        ("infer", "--stride", "-1", "must be an integer >= 0, got -1"),
        ("eval", "--window", "2", "must be an integer >= 3, got 2"),
        ("batch", "--threads", "x", "must be an integer, got 'x'"),
    ]:
        args = ["Bonn"] if command == "infer" else ["--data", str(data)]
        if command == "batch":
            args = [str(data), "-o", "unused"]
        code, _, err = _run(capsys, command, "-m", model, flag, value, *args)
        assert code == 2 and f"argument {flag}: {message}" in err, err
