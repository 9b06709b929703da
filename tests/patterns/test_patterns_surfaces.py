"""Patterns on every surface: Python, `nerve infer`, `nerve serve` (HTTP routes), `nerve mcp`
and `nerve build` (the patterns travel in the bundle)."""

from __future__ import annotations

import json
import pickle
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("ahocorasick")
pytest.importorskip("torch")

import nerve
from nerve.cli.main import main
from nerve.errors import DataError
from nerve.patterns import Patterns

from .conftest import TEXT, check_merged


@pytest.fixture(scope="module")
def model(tiny_model_dir: Any) -> Path:
    return Path(tiny_model_dir("bert"))


def dicts(result: nerve.TextResult) -> list[dict[str, Any]]:
    return result.to_dict()["entities"]


@pytest.mark.parametrize("strategy", ["simple", "first", "max", "word"])
def test_python_load_with_patterns(model: Path, patterns_file: Path, strategy: str) -> None:
    plain = nerve.load(model)
    ruled = nerve.load(model, patterns=patterns_file)
    check_merged(
        dicts(ruled(TEXT, aggregation_strategy=strategy)),
        dicts(plain(TEXT, aggregation_strategy=strategy)),
    )


def test_strategy_none_returns_tokens_untouched(model: Path, patterns_file: Path) -> None:
    plain = nerve.load(model)(TEXT, aggregation_strategy="none")
    ruled = nerve.load(model, patterns=patterns_file)(TEXT, aggregation_strategy="none")
    assert ruled == plain


def test_overlap_policy_model_keeps_overlapping_model_entities(
    model: Path, patterns_file: Path
) -> None:
    plain = nerve.load(model)(TEXT, aggregation_strategy="first")
    ruled = nerve.load(model, patterns=Patterns.from_jsonl(patterns_file, overlap="model"))
    got = ruled(TEXT, aggregation_strategy="first")
    model_spans = [(e.label, e.start, e.end) for e in plain.entities]
    assert [(e.label, e.start, e.end) for e in got.entities if e.pattern_id is None] == model_spans


def test_a_pickled_engine_keeps_its_patterns(model: Path, patterns_file: Path) -> None:
    engine = nerve.load(model, patterns=patterns_file)
    again = pickle.loads(pickle.dumps(engine))
    assert again(TEXT) == engine(TEXT)
    assert again.patterns is not None and len(again.patterns) == 2


def test_bad_patterns_argument(model: Path) -> None:
    with pytest.raises(nerve.InvalidInput, match="patterns must be a file path"):
        nerve.load(model, patterns=42)  # type: ignore[arg-type]


def _cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_cli_infer_patterns(
    model: Path, patterns_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args = ("infer", "-m", str(model), "-a", "simple", "-f", "json", TEXT)
    code, out, _ = _cli(capsys, *args, "--patterns", str(patterns_file))
    assert code == 0
    code, plain, _ = _cli(capsys, *args)
    assert code == 0
    check_merged(json.loads(out)[0]["entities"], json.loads(plain)[0]["entities"])
    # Case-insensitive for the whole file: "amazon web services" matches too.
    lower = TEXT.replace("Amazon Web Services", "amazon web services")
    code, out, _ = _cli(
        capsys,
        *args[:-1],
        lower,
        "--patterns",
        str(patterns_file),
        "--patterns-ignore-case",
    )
    assert code == 0
    assert any(e.get("pattern_id") == "aws" for e in json.loads(out)[0]["entities"])


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ('{"label": "ORG", "pattern": "A"}\nnot json\n', ":2: not a JSON object"),
        ('{"label": "ORG"}\n', ":1: missing 'pattern'"),
        ('{"pattern": "A"}\n', ":1: missing 'label'"),
        ('{"label": "ORG", "pattern": ""}\n', ":1: 'pattern' must be a non-empty string"),
    ],
)
def test_cli_bad_patterns_file_is_one_line(
    model: Path, tmp_path: Path, content: str, message: str
) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text(content, encoding="utf-8")
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "nerve.cli.main",
            "infer",
            "-m",
            str(model),
            "--patterns",
            str(bad),
            "x",
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 2
    assert proc.stderr == f"nerve infer: error: {bad}{message}" + proc.stderr.split(message, 1)[1]
    assert proc.stderr.count("\n") == 1 and "Traceback" not in proc.stderr


def test_cli_missing_patterns_file(
    model: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = _cli(
        capsys, "infer", "-m", str(model), "--patterns", str(tmp_path / "no.jsonl"), "x"
    )
    assert code == 2
    assert err == f"nerve infer: error: patterns file {tmp_path / 'no.jsonl'} does not exist\n"


def test_data_error_is_a_nerve_error() -> None:
    assert issubclass(DataError, nerve.NerveError)
