"""docs/patterns.md and the README's patterns example, run as written (default model)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

pytest.importorskip("ahocorasick")

from nerve.build.config import parse_config
from support.doc_blocks import blocks, run_block, section

ROOT = Path(__file__).resolve().parents[2]


def test_docs_patterns_page(tmp_path: Path) -> None:
    page = blocks((ROOT / "docs" / "patterns.md").read_text(encoding="utf-8"))
    assert [b.lang for b in page] == ["bash", "python", "python", "bash", "yaml"]
    write_file, first, second, cli, config = page
    run_block(write_file, tmp_path)
    assert len((tmp_path / "patterns.jsonl").read_text().splitlines()) == 3
    run_block(first, tmp_path)
    run_block(second, tmp_path)

    lines = [json.loads(x) for x in run_block(cli, tmp_path).splitlines()]
    assert len(lines) == 2
    ruled = {(e["label"], e["text"], e.get("pattern_id")) for e in lines[0]["entities"]}
    assert {("ORG", "Amazon Web Services", "aws"), ("PRODUCT", "Graviton4", None)} <= ruled
    # --patterns-ignore-case: the lower-case phrase matches the first line's pattern.
    assert [(e["text"], e.get("pattern_id")) for e in lines[1]["entities"]] == [
        ("amazon web services", "aws")
    ]

    # The build config fragment is valid where the page says it goes.
    fragment = yaml.safe_load(config.code)
    full = {
        "encoderfile": {
            "name": "m",
            "version": "1",
            "path": ".",
            "model_type": "token_classification",
        },
        **fragment,
    }
    parsed = parse_config(full, tmp_path / "ner-config.yml").nerve
    assert parsed.patterns == tmp_path / "patterns.jsonl"
    assert (parsed.patterns_overlap, parsed.patterns_ignore_case) == ("rules", False)


def test_readme_patterns_example(tmp_path: Path) -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    example = blocks(section(readme, "Entity patterns and spaCy"))
    patterns = [b for b in example if "patterns" in b.code and "spacy" not in b.code]
    assert [b.lang for b in patterns] == ["bash", "python"]
    assert patterns[1].expected is not None
    cli = run_block(patterns[0], tmp_path)
    assert '"Amazon Web Services"' in cli and '"ORG"' in cli
    run_block(patterns[1], tmp_path)
