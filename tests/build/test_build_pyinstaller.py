"""The PyInstaller step without running PyInstaller: the generated spec and the checks that
come before minutes of work."""

from __future__ import annotations

import ast
import importlib.util
from pathlib import Path

import pytest

from nerve.build import pyinstaller
from nerve.errors import MissingExtra


def test_spec_is_python_with_the_model_stored_and_torch_excluded(tmp_path: Path) -> None:
    spec = pyinstaller.write_spec(tmp_path, Path("/staged/it's here"), "ner-tagger")
    tree = ast.parse(spec.read_text(encoding="utf-8"))
    calls = {
        node.func.id: node
        for node in ast.walk(tree)
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
    }
    analysis = {kw.arg: ast.literal_eval(kw.value) for kw in calls["Analysis"].keywords}
    # The server's page and icon, then the model.
    assert analysis["datas"] == [
        *pyinstaller.asset_datas(),
        ("/staged/it's here", "nerve_model"),
    ]
    assert {Path(source).name for source, _ in pyinstaller.asset_datas()} == {
        "index.html",
        "favicon.svg",
    }
    assert {"torch", "transformers", "onnx", "nerve.train"} <= set(analysis["excludes"])
    exe = {kw.arg: kw.value for kw in calls["EXE"].keywords}
    assert ast.literal_eval(exe["name"]) == "ner-tagger"
    cdict = ast.literal_eval(exe["cdict"])
    assert cdict["DATA"] is False and cdict["EXTENSION"] is True
    entry = tmp_path / "nerve_entry.py"
    assert "from nerve.standalone.main import main" in entry.read_text(encoding="utf-8")


def test_missing_runtime_packages_stop_the_build_first(monkeypatch: pytest.MonkeyPatch) -> None:
    real = importlib.util.find_spec

    def without_mcp(name: str, *args: object) -> object:
        return None if name == "mcp" else real(name, *args)  # type: ignore[arg-type]

    monkeypatch.setattr(importlib.util, "find_spec", without_mcp)
    with pytest.raises(MissingExtra, match=r"nerve\[mcp\]"):
        pyinstaller.check_available()


def test_install_is_atomic_and_executable(tmp_path: Path) -> None:
    built = tmp_path / "built"
    built.write_bytes(b"\x7fELF...")
    out = pyinstaller.install(built, tmp_path / "dist" / "ner-tagger")
    assert out.read_bytes() == b"\x7fELF..."
    assert out.stat().st_mode & 0o111 == 0o111
    assert [p.name for p in out.parent.iterdir()] == ["ner-tagger"]
