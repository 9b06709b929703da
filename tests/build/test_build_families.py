"""`nerve build --bundle-only` from DeBERTa-v3 and ModernBERT safetensors: exported to ONNX on
the way, and the bundle answers as nerve's torch encoder does."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

import nerve
from nerve.build import build, load_config
from nerve.bundle import open_bundle

pytest.importorskip("onnx")

TEXTS = ["Peter Blackburn met Angela Merkel in Berlin on Monday.", "Zürich and São Paulo"]


@pytest.mark.parametrize("name", ["deberta-v3", "modernbert"])
def test_bundle_from_family_safetensors(
    write_config: Callable[..., Path], tmp_path: Path, family_model_dir: Any, name: str
) -> None:
    source = family_model_dir(name)
    config = load_config(write_config(path=str(source)))
    lines: list[str] = []
    out = tmp_path / f"{name}.nerve"
    build(config, output=out, bundle_only=True, say=lines.append)
    assert "Exporting to ONNX..." in lines
    engine = nerve.load(open_bundle(out, cache_dir=tmp_path / "cache"))
    assert engine.backend.name == "onnx"
    reference = nerve.load(source, backend="torch")
    got, want = engine(TEXTS), reference(TEXTS)
    assert [[(e.label, e.start, e.end) for e in r.entities] for r in got] == [
        [(e.label, e.start, e.end) for e in r.entities] for r in want
    ]
